"""Rom: a read-only memory (a layer's weights, a sparse layer's row starts), read at one or more
addresses, each port's word one cycle after its address (as lib.memory's synchronous read port).

With `image=None` the words are inside the design (lib.memory, so Amaranth's simulator runs it).
With an image name the design instantiates module `snnc_rom_<image>` (`verilog()`), which loads
`<image>.mem` with $readmemh: the words never pass through Amaranth's netlist or Yosys' conversion,
where each bit becomes an object (a 4M-weight layer took minutes and gigabytes there) and a
memory without contents still gets a zero initialiser per bit.

Ports: `addr[k]` in, `data[k]` out (the word, in `shape`), for k < ports.
"""
from __future__ import annotations

import numpy as np
from amaranth import ClockSignal, Instance, Module, Shape, Value, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from snnc.compiler.artix7 import bram36_tiles


def pack_words(fields: np.ndarray, bits: int) -> list[int]:
    """Rows of fields int64 [rows, k] (each in 0 .. 2**bits - 1, field 0 in the low bits) as one
    word per row, at least 2 rows (a RAM's least depth)."""
    fields = np.concatenate([fields, np.zeros((max(0, 2 - len(fields)), fields.shape[1]), np.int64)])
    if fields.shape[1] * bits <= 63:  # the common case, in numpy
        shifts = np.arange(fields.shape[1], dtype=np.int64) * bits
        return (fields << shifts).sum(axis=1).tolist()
    fields = fields.astype(object)
    return list(sum((fields[:, k] << (k * bits) for k in range(1, fields.shape[1])), fields[:, 0]))


class Rom(wiring.Component):
    def __init__(self, shape, words: list[int], ports: int = 1, image: str | None = None):
        """shape: a word's shape or layout (`bits` wide); words: the contents (ints in 0 ..
        2**bits - 1), at least 2; image: the name of its memory image, or None to hold them."""
        self.shape, self.words, self.image = shape, words, image
        self.bits, self.depth, self.ports = Shape.cast(shape).width, len(words), ports  # a layout casts to its size
        super().__init__({"addr": In(range(self.depth)).array(ports), "data": Out(shape).array(ports)})

    @property
    def block(self) -> bool:
        """The memory plan (engine_model.network_memories) puts a memory of DISTRIBUTED_BITS or more in
        block RAM: say so, or Yosys builds it from LUTs (1,280 x 4 bits of weights: 250 LUTs; 1,025
        x 11 bits of row starts read at two addresses: 1,000 LUTs)."""
        return bram36_tiles(self.bits, self.depth) > 0

    def elaborate(self, platform):
        m = Module()
        if self.image is not None:
            m.submodules.rom = Instance(self.module_name, i_clk=ClockSignal(),
                                        **{f"i_addr{k}": a for k, a in enumerate(self.addr)},
                                        **{f"o_data{k}": Value.cast(d) for k, d in enumerate(self.data)})
            return m
        attrs = {"ram_style": "block", "rom_style": "block"} if self.block else None
        m.submodules.mem = mem = memory.Memory(shape=unsigned(self.bits), depth=self.depth, init=self.words,
                                               attrs=attrs)
        for addr, word in zip(self.addr, self.data):
            port = mem.read_port()
            m.d.comb += [port.addr.eq(addr), word.eq(port.data)]
        return m

    @property
    def module_name(self) -> str:
        return f"snnc_rom_{self.image}"

    def verilog(self) -> str:
        """The module the design instantiates for an image ROM: Vivado, Yosys, Verilator and Icarus
        all read $readmemh and map the array to block RAM (or LUTs) by its attribute."""
        abits, w, k = len(self.addr[0]), self.bits, range(self.ports)
        ports = ", ".join(["input wire clk"] + [f"input wire [{abits - 1}:0] addr{i}" for i in k] +
                          [f"output reg [{w - 1}:0] data{i}" for i in k])
        style = '(* ram_style = "block", rom_style = "block" *) ' if self.block else ""
        return (f"module {self.module_name}({ports});\n"
                f"  {style}reg [{w - 1}:0] mem [0:{self.depth - 1}];\n"
                f'  initial $readmemh("{self.image}.mem", mem);\n'
                + "".join(f"  initial data{i} = 0;\n" for i in k)
                + "  always @(posedge clk) begin\n"
                + "".join(f"    data{i} <= mem[addr{i}];\n" for i in k)
                + "  end\nendmodule\n")

    def image_text(self) -> str:
        """The $readmemh image: one hex word per line."""
        digits = -(-self.bits // 4)
        return "".join(f"{w:0{digits}x}\n" for w in self.words)
