"""Verilog emission of a compiled network (Amaranth's Verilog back end, through Yosys)."""
from __future__ import annotations

import re

from amaranth.back import verilog

from snnc.compiler import ir

from .board_core import BOARD_TOP_NAME, BoardCore
from .network_top import NetworkTop

TOP_NAME = "snnc_top"


def network_verilog(net: ir.Network, lanes: int = 1) -> str:
    top = NetworkTop(net, lanes)
    return verilog.convert(top, name=TOP_NAME, emit_src=False)


def board_verilog(net: ir.Network, lanes: int, clk_hz: float, baud: int, identity: int) -> str:
    """The BoardCore (network, UART, host protocol) as Verilog, module `snnc_board`."""
    return verilog.convert(BoardCore(net, lanes, clk_hz, baud, identity), name=BOARD_TOP_NAME, emit_src=False)


# Yosys makes every `always @*` block also wait on a register initialised to 0, so that the block
# runs once at time 0.  Icarus applies such initialisers before the blocks start waiting, so the
# blocks never run until a real input changes (a constant table indexed by a register that keeps
# its initial value stays X).  For Icarus, that register also changes at #0, after every block waits.
_TRIGGER = re.compile(r"^(\s*)reg (\\\$auto\$verilog_backend\S+)\s*= 0;$", re.M)


def icarus_compatible(verilog_text: str) -> str:
    return _TRIGGER.sub(lambda m: f"{m[1]}reg {m[2]} = 0;\n{m[1]}initial #0 {m[2]} = 1;", verilog_text)
