"""DelayLine: a value and its copies 1 .. depth cycles old (a pipeline's bookkeeping).

`o[0]` is `i` this cycle, `o[k]` is `i` of k cycles ago.  Stages that nobody reads are removed by
synthesis, so a pipeline carries a whole record down its stages and each stage reads what it needs.
"""
from __future__ import annotations

from amaranth import Module
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out


class DelayLine(wiring.Component):
    def __init__(self, shape, depth: int):
        """shape: the value's shape or layout; depth: the oldest copy, in cycles."""
        self.depth = depth
        super().__init__({"i": In(shape), "o": Out(data.ArrayLayout(shape, depth + 1))})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.o[0].eq(self.i)
        m.d.sync += [self.o[k + 1].eq(self.o[k]) for k in range(self.depth)]
        return m
