"""WindowMax: the running maxima of a max pool of currents (docs/spec.md section 2, pooling).

The update reads a neuron group's k x k accumulator words one per phase (rtl_gen/update_walk.py);
`max` holds, per lane, the largest `value` of the window so far, this phase's included (`first`
restarts it).  Every lane keeps its own maximum, so the window is read once, whatever the number of
parts the LIF units then step it in.  Shift and bias are per channel, so the maximum of the raw
sums is the maximum of the currents.
"""
from __future__ import annotations

from amaranth import Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out


class WindowMax(wiring.Component):
    def __init__(self, width: int, lanes: int):
        """width: the raw sums' signed width (accumulator_bits); lanes: P, one maximum each."""
        layout = data.ArrayLayout(signed(width), lanes)
        super().__init__({"value": In(layout), "first": In(1), "valid": In(1), "max": Out(layout)})

    def elaborate(self, platform):
        m = Module()
        best = Signal.like(self.max, name="window_max")
        for lane in range(len(self.value)):
            value, so_far = self.value[lane], best[lane]
            m.d.comb += self.max[lane].eq(Mux(self.first | (value > so_far), value, so_far))
        with m.If(self.valid):
            m.d.sync += best.eq(self.max)
        return m
