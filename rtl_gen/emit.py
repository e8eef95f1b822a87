"""Verilog emission of a compiled network (Amaranth's Verilog back end, through Yosys)."""
from __future__ import annotations

from amaranth.back import verilog

from snnc.compiler import ir

from .network_top import NetworkTop

TOP_NAME = "snnc_top"


def network_verilog(net: ir.Network, lanes: int = 1) -> str:
    top = NetworkTop(net, lanes)
    return verilog.convert(top, name=TOP_NAME, emit_src=False)
