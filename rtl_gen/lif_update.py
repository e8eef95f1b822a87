"""LIFUpdate: one lane's integer LIF step, pipelined over two register stages (docs/spec.md section 2).

    stage 1: v = first ? 0 : decode(state);  leak = ((B * v) >> (F + g)) << g   (B*v as shifts and
             adds; g = floor_bits, the declared grid the leak is floored onto; with a leak per
             channel, B is the `leak_b` input, the lane's channel's, and B*v a multiplier); with a
             synaptic current (lif.synaptic) the state is (v, c), and I is replaced by
             c' = ((A * c) >> (F + g)) << g + I, stored as encode(c')
    stage 2: u = leak + I;  s = u >= theta;  r = u - theta*s,  u*(1-s)  or  u (reset "none")
    output:  state_out = encode(r) (combinational from stage 2), spike = s

snnTorch's order (lif.order, docs/spec.md section 2): stage 1 also takes p = v > theta (the spike
of the step before) and leaks v*(1-p) for reset "zero"; stage 2 is r = u - theta*p (or u), and
the spike is decode(encode(r)) > theta, from the encoder's output.

With tables (compiler.lif_step.lif_tables: a level-coded state, no synaptic current, one leak) the
same step is read, exact by construction: stage 1 reads u - I from a constant table over the code
(K entries: decode, pending reset and leak at once; a constant on the first timestep), stage 2 adds
I and addresses the settle table (`table_addr`, u mod 2**index_bits; a block RAM that two units
share, `settle_roms`) with two constant compares for u outside [lo, hi], and the word it returns
(`table_data`) is the spike and the stored code.  That replaces the decode, the leak, the reset and
the encoder's K-1 comparators.

`valid_out` follows `valid_in` LATENCY cycles later.  Widths: `current` is the synapse's proven
current width, the datapath is the LIF's proven membrane width (from size_registers).
"""
from __future__ import annotations

import numpy as np
from amaranth import Array, Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from snnc.compiler import ir
from snnc.compiler.artix7 import bram36_tiles
from snnc.compiler.engine_model import LIF_LATENCY
from snnc.compiler.lif_step import LIFTables, lif_tables
from snnc.compiler.shapes import signed_bits

from .arith import csd_terms
from .state_codec import StateCodec, state_shape

LATENCY = LIF_LATENCY  # the engine model's figure: this pipeline is built to it


def stored_shape(lif: ir.LIF):
    """A neuron's stored state: v's code (or register), and with a synaptic current {v, c}."""
    if not lif.synaptic:
        return state_shape(lif)
    return data.StructLayout({"v": state_shape(lif), "c": state_shape(lif)})


def constant_times(x, b: int):
    """x * b for a constant b >= 0, as shifts and adds (canonical signed digits), no DSP."""
    return sum((x << k) if sign > 0 else -(x << k) for sign, k in csd_terms(b)) if b else 0


class LIFUpdate(wiring.Component):
    def __init__(self, lif: ir.LIF, current_bits: int, tables: bool = True):
        """tables: read the step from the LIF's tables where it has them (lif_tables), else compute it."""
        self.lif = lif
        self.width = max(lif.membrane_bits, current_bits) + 1
        ports = {
            "valid_in": In(1), "first": In(1), "state_in": In(stored_shape(lif)), "current": In(signed(current_bits)),
            "valid_out": Out(1), "spike": Out(1), "state_out": Out(stored_shape(lif)),
        }
        if lif.leak_per_channel:  # B of the lane's channel, 0 .. 2**F
            ports["leak_b"] = In(lif.leak_f + 1)
        self.tables = lif_tables(lif) if tables else None
        if self.tables is not None:
            ports |= {"table_addr": Out(self.tables.index_bits), "table_data": In(self.tables.word_bits)}
        super().__init__(ports)

    def elaborate(self, platform):
        if self.tables is not None:
            return self._tabled(self.tables)
        m = Module()
        lif, w = self.lif, self.width
        m.submodules.codec = codec = StateCodec(lif, w)

        # stage 1: decode and leak; constant multiplication by B as shifts and adds, no DSP.  In
        # snnTorch's order the pending reset p (the last step's spike: stored state above theta)
        # zeroes the state before the leak (reset "zero") or subtracts theta after it ("subtract")
        m.d.comb += codec.code.eq(self.state_in.v if lif.synaptic else self.state_in)
        v = Signal(signed(w))
        m.d.comb += v.eq(Mux(self.first, 0, codec.value))
        torch_order = lif.order == "snntorch"
        pending, pending1 = Signal(), Signal()
        m.d.comb += pending.eq(v > lif.theta if torch_order else 0)
        leak_in = Mux(pending, 0, v) if torch_order and lif.reset == "zero" else v
        if lif.leak_per_channel:
            product = leak_in * Cat(self.leak_b, 0).as_signed()  # B unsigned, zero-extended
        else:
            product = constant_times(leak_in, lif.leak_b)
        leak = Signal(signed(w), name="leak")
        current = Signal(signed(w), name="current_q")
        valid1 = Signal()
        g = lif.floor_bits
        drive = self.current
        if lif.synaptic:  # c' = floor(A c) + I drives the membrane; encode(c') is the stored c
            m.submodules.current_codec = c_codec = StateCodec(lif, w)
            c_value = Signal(signed(w))
            m.d.comb += [c_codec.code.eq(self.state_in.c), c_value.eq(Mux(self.first, 0, c_codec.value))]
            drive = ((constant_times(c_value, lif.alpha_b) >> (lif.leak_f + g)) << g) + self.current
        m.d.sync += [leak.eq((product >> (lif.leak_f + g)) << g), current.eq(drive), valid1.eq(self.valid_in),
                     pending1.eq(pending)]

        # stage 2: integrate, fire, reset (snnc's order); or integrate and take the pending reset (snnTorch's)
        u = Signal(signed(w))
        fire = Signal()
        r = Signal(signed(w), name="r")
        spike = Signal()
        valid2 = Signal()
        m.d.comb += u.eq(leak + current)
        if torch_order:
            subtract = Mux(pending1, lif.theta, 0) if lif.reset == "subtract" else 0
            m.d.sync += [r.eq(u - subtract), valid2.eq(valid1)]
            # fire strictly above theta on the quantized state: with levels, a code at or above the first level above theta
            if lif.levels is None:
                m.d.comb += spike.eq(codec.code_out.as_signed() > lif.theta)
            else:
                first_above = int(np.searchsorted(lif.levels, lif.theta, side="right"))
                m.d.comb += spike.eq(codec.code_out >= first_above)
        else:
            m.d.comb += fire.eq(u >= lif.theta)
            reset_value = {"subtract": u - lif.theta, "zero": 0, "none": u}[lif.reset]
            m.d.sync += [r.eq(Mux(fire, reset_value, u)), spike.eq(fire), valid2.eq(valid1)]

        # quantize (combinational encoders) and hand out
        m.d.comb += [codec.r.eq(r), self.spike.eq(spike), self.valid_out.eq(valid2)]
        if lif.synaptic:
            c2 = Signal(signed(w), name="c_raw")
            m.d.sync += c2.eq(current)
            m.d.comb += [c_codec.r.eq(c2), self.state_out.v.eq(codec.code_out), self.state_out.c.eq(c_codec.code_out)]
        else:
            m.d.comb += self.state_out.eq(codec.code_out)
        return m

    def _tabled(self, t: LIFTables) -> Module:
        """The step read from the LIF's tables (see the module's docstring)."""
        m = Module()
        w, bits = self.width, self.lif.state_bits
        values = [*t.drive, t.first_drive]
        assert signed_bits(int(min(values)), int(max(values))) <= w, "drive table wider than the datapath"
        drive = Array(Const(int(x), signed(w)) for x in t.drive)
        term, current, valid1 = Signal(signed(w), name="drive"), Signal(signed(w), name="current_q"), Signal()
        # `first` selects after the table: the state RAM's word is not read then (X in a simulator)
        m.d.sync += [term.eq(Mux(self.first, t.first_drive, drive[self.state_in])), current.eq(self.current),
                     valid1.eq(self.valid_in)]
        u = Signal(signed(w))
        below, above, valid2 = Signal(), Signal(), Signal()
        # u mod 2**index_bits: .eq sign-extends u where the datapath is narrower than the index
        m.d.comb += [u.eq(term + current), self.table_addr.eq(u)]
        m.d.sync += [below.eq(u < t.lo), above.eq(u > t.hi), valid2.eq(valid1)]
        word = Mux(below, t.word(t.lo), Mux(above, t.word(t.hi), self.table_data))
        m.d.comb += [self.state_out.eq(word[:bits]), self.spike.eq(word[bits]), self.valid_out.eq(valid2)]
        return m


def settle_roms(m: Module, units: list[LIFUpdate]) -> None:
    """The units' settle tables (LIFUpdate with tables): one ROM per two units, each reading it
    through a port of its own (a block RAM's two)."""
    if not units or units[0].tables is None:
        return
    t = units[0].tables
    # a block RAM where the model counts one (Yosys would build a large table as logic: its
    # staircase of codes compresses to about 44 LUTs per 1K x 5 table); small ones as the tools like
    style = {"rom_style": "block"} if bram36_tiles(t.word_bits, len(t.settle)) else {}
    for k in range(0, len(units), 2):
        m.submodules[f"settle{k // 2}"] = rom = memory.Memory(shape=t.word_bits, depth=len(t.settle),
                                                            init=[int(x) for x in t.settle], attrs=style)
        for unit in units[k:k + 2]:
            port = rom.read_port()
            m.d.comb += [port.addr.eq(unit.table_addr), unit.table_data.eq(port.data)]
