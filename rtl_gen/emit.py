"""Verilog of a compiled network (Amaranth's Verilog back end, through Yosys): the network alone
(module `contracts.NETWORK_TOP`) or the board core around it (module `contracts.BOARD_TOP`).

Memory contents stay out of the Verilog text, so a design of a million weights is a small file
that every tool reads quickly: each layer's weight RAM is a module of its own (rtl_gen.rom.Rom)
loaded with `$readmemh` from its own image file (`layerN_weights.mem`, and
`layerN_weights_starts.mem` for sparse weights' row starts; one hex word per line; Vivado, Yosys,
Verilator and Icarus all read it), and RAMs that start at zero (accumulators, states, FIFOs,
buffers) get no initial block at all: block RAM powers up at zero, and the design never reads a word it has not written
(accumulators are cleared after reset, the first timestep reads states as 0).
"""
from __future__ import annotations

import re

from amaranth.back import verilog

from snnc.compiler import ir
from snnc.compiler.contracts import BOARD_TOP, NETWORK_TOP
from snnc.compiler.layer_impl import Implementation

from .board_core import BoardCore
from .network_top import NetworkTop

# Yosys' Verilog writer puts a memory's contents in an `initial begin ... end` block of one
# assignment per word, right after the memory's `reg [..] name [..];`: RAMs that start at zero lose it.
_INIT_BLOCK = re.compile(r"^\s*initial begin\n(?:\s*\S+\[\d+\] = \d+'[hdb]0+;\n)+\s*end\n", re.M)


def _emit(top, name: str, network: NetworkTop | None) -> tuple[str, dict[str, str]]:
    """(Verilog text, memory image files by name) of a component whose network is `network`: the
    network's image ROMs (Rom) are instances whose modules follow the design's."""
    text = _INIT_BLOCK.sub("", verilog.convert(top, name=name, emit_src=False))
    roms = [rom for e in network.engines for rom in e.scatter.roms if rom.image is not None] if network else []
    return text + "".join("\n" + rom.verilog() for rom in roms), {f"{rom.image}.mem": rom.image_text() for rom in roms}


def network_verilog(net: ir.Network, impl: Implementation,
                    activity_counters: bool = True) -> tuple[str, dict[str, str]]:
    """The network as Verilog, and the memory images its $readmemh lines name.  impl: each layer's
    engine (layer_impl.implement); activity_counters: see NetworkTop."""
    top = NetworkTop(net, impl, weight_images=True, activity_counters=activity_counters, dsp_primitives=True)
    return _emit(top, NETWORK_TOP, top)


def board_verilog(net: ir.Network, impl: Implementation, clk_hz: float, baud: int, identity: int,
                  network_text: str) -> str:
    """The BoardCore (UART, host protocol, buffers) as Verilog around the network's own module:
    `network_text` (from network_verilog with the same impl) follows the core's
    modules in the one file, and the memory images are the network's."""
    core = BoardCore(net, impl, clk_hz, baud, identity, network_module=True)
    return _emit(core, BOARD_TOP, None)[0] + "\n" + network_text
