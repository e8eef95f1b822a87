"""Verilog of a compiled network (Amaranth's Verilog back end, through Yosys): the network alone
(module `contracts.NETWORK_TOP`) or the board core around it (module `contracts.BOARD_TOP`)."""
from __future__ import annotations

from amaranth.back import verilog

from snnc.compiler import ir
from snnc.compiler.contracts import BOARD_TOP, NETWORK_TOP

from .board_core import BoardCore
from .network_top import NetworkTop


def network_verilog(net: ir.Network, lanes: int = 1) -> str:
    return verilog.convert(NetworkTop(net, lanes), name=NETWORK_TOP, emit_src=False)


def board_verilog(net: ir.Network, lanes: int, clk_hz: float, baud: int, identity: int) -> str:
    """The BoardCore (network, UART, host protocol) as Verilog."""
    return verilog.convert(BoardCore(net, lanes, clk_hz, baud, identity), name=BOARD_TOP, emit_src=False)
