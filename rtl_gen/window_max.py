"""WindowMax: the running maximum of a max pool of currents (docs/spec.md section 2, pooling).

One update unit walks a neuron's k x k accumulators one per step; `max` is the largest `value`
of the window so far, this step's included (`first` restarts it).  The unit serves `parts`
lanes in turn (`part`), so one maximum is kept per lane.  Shift and bias are per channel, so the
maximum of the raw sums is the maximum of the currents.
"""
from __future__ import annotations

from amaranth import Array, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


class WindowMax(wiring.Component):
    def __init__(self, width: int, parts: int):
        """width: the raw sums' signed width (accumulator_bits); parts: the lanes the unit serves."""
        self.parts = parts
        super().__init__({"value": In(signed(width)), "first": In(1), "valid": In(1),
                          "part": In(range(max(parts, 2))), "max": Out(signed(width))})

    def elaborate(self, platform):
        m = Module()
        best = [Signal.like(self.value, name=f"window_max{j}") for j in range(self.parts)]
        so_far = Array(best)[self.part] if self.parts > 1 else best[0]
        m.d.comb += self.max.eq(Mux(self.first | (self.value > so_far), self.value, so_far))
        for j, lane_max in enumerate(best):
            with m.If(self.valid & (self.part == j)):
                m.d.sync += lane_max.eq(self.max)
        return m
