"""LIFUpdate: one lane's integer LIF step, pipelined over two register stages (docs/spec.md section 2).

    stage 1: v = first ? 0 : decode(state);  leak = ((B * v) >> (F + g)) << g   (B*v as shifts and
             adds; g = floor_bits, the declared grid the leak is floored onto)
    stage 2: u = leak + I;  s = u >= theta;  r = u - theta*s  or  u*(1-s)
    output:  state_out = encode(r) (combinational from stage 2), spike = s

`valid_out` follows `valid_in` LATENCY cycles later.  Widths: `current` is the synapse's proven
current width, the datapath is the LIF's proven membrane width (from size_registers).
"""
from __future__ import annotations

from amaranth import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from snnc.compiler import ir

from .arith import csd_terms
from .state_codec import StateCodec, state_shape

LATENCY = 2


class LIFUpdate(wiring.Component):
    def __init__(self, lif: ir.LIF, current_bits: int):
        self.lif = lif
        self.width = max(lif.membrane_bits, current_bits) + 1
        super().__init__({
            "valid_in": In(1), "first": In(1), "state_in": In(state_shape(lif)), "current": In(signed(current_bits)),
            "valid_out": Out(1), "spike": Out(1), "state_out": Out(state_shape(lif)),
        })

    def elaborate(self, platform):
        m = Module()
        lif, w = self.lif, self.width
        m.submodules.codec = codec = StateCodec(lif, w)

        # stage 1: decode and leak; constant multiplication by B as shifts and adds, no DSP
        m.d.comb += codec.code.eq(self.state_in)
        v = Signal(signed(w))
        m.d.comb += v.eq(Mux(self.first, 0, codec.value))
        product = sum((v << k) if sign > 0 else -(v << k) for sign, k in csd_terms(lif.leak_b)) if lif.leak_b else 0
        leak = Signal(signed(w), name="leak")
        current = Signal(signed(w), name="current_q")
        valid1 = Signal()
        g = lif.floor_bits
        m.d.sync += [leak.eq((product >> (lif.leak_f + g)) << g), current.eq(self.current), valid1.eq(self.valid_in)]

        # stage 2: integrate, fire, reset
        u = Signal(signed(w))
        fire = Signal()
        m.d.comb += [u.eq(leak + current), fire.eq(u >= lif.theta)]
        r = Signal(signed(w), name="r")
        spike = Signal()
        valid2 = Signal()
        reset_value = (u - lif.theta) if lif.reset == "subtract" else 0
        m.d.sync += [r.eq(Mux(fire, reset_value, u)), spike.eq(fire), valid2.eq(valid1)]

        # quantize (combinational encoder) and hand out
        m.d.comb += [codec.r.eq(r), self.state_out.eq(codec.code_out), self.spike.eq(spike), self.valid_out.eq(valid2)]
        return m
