"""WindowMax: the running maxima of a max pool of currents (docs/spec.md section 2, pooling).

The update reads a neuron group's k x k accumulator words one per phase, or a window row of k words
per phase (rtl_gen/update_walk.py, geometry.window_reads); `max` holds, per lane, the largest
`value` of the window so far, this phase's words included (`first` restarts it).  Every lane
keeps its own maximum, so the window is read once, whatever the number of parts the LIF units then
step it in.  Shift and bias are per channel, so the maximum of the raw sums is the maximum of the
currents.
"""
from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out


class WindowMax(wiring.Component):
    def __init__(self, width: int, lanes: int, words: int = 1):
        """width: the raw sums' signed width (accumulator_bits); lanes: P, one maximum each; words:
        the words `value` holds each phase."""
        layout = data.ArrayLayout(signed(width), lanes)
        super().__init__({"value": In(data.ArrayLayout(layout, words)), "first": In(1), "valid": In(1),
                          "max": Out(layout)})

    def elaborate(self, platform):
        m = Module()
        best = Signal.like(self.max, name="window_max")
        for lane in range(len(self.max)):
            # the phase's words and the maximum so far compared pairwise, side by side (one carry
            # chain deep, not one per word): the last largest candidate wins; `first` drops so_far
            cands = [self.value[k][lane] for k in range(len(self.value))] + [best[lane]]
            n = len(cands)
            gt = {(i, j): cands[i] > cands[j] for i in range(n) for j in range(i + 1, n)}
            won = lambda i: Cat(*(gt[i, j] | (self.first if j == n - 1 else 0) for j in range(i + 1, n)),
                                *(~gt[j, i] for j in range(i))).all()
            winner = cands[-1]
            for i in reversed(range(n - 1)):
                winner = Mux(won(i), cands[i], winner)
            m.d.comb += self.max[lane].eq(winner)
        with m.If(self.valid):
            m.d.sync += best.eq(self.max)
        return m
