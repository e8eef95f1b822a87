"""StateCodec: the stored membrane state <-> its integer value (docs/spec.md section 2).

With a level set, the stored state is a code of log2(K) bits: `decode` reads the level from a
constant table (a ROM of K entries), `encode` counts the floored midpoints strictly below the
value: K-1 constant comparators give a thermometer code (the midpoints strictly increase), and a
thermometer-to-binary encoder turns it into the code, each code bit an OR of K/2 one-hot terms.
Without levels the stored state is the value itself in a signed register: `decode` sign-extends
and `encode` clamps to [v_min, v_max].  Both directions are combinational.
"""
from __future__ import annotations

from amaranth import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from snnc.compiler import ir
from snnc.compiler import levels as codec


def state_shape(lif: ir.LIF):
    """Shape of the stored state: unsigned code bits with levels, a signed register without."""
    return unsigned(lif.state_bits) if lif.levels is not None else signed(lif.state_bits)


class StateCodec(wiring.Component):
    """decode: `code` (stored) -> `value` (signed, value_bits); encode: `r` (signed, value_bits) -> `code_out`."""

    def __init__(self, lif: ir.LIF, value_bits: int):
        self.lif = lif
        self.value_bits = value_bits
        shape = state_shape(lif)
        super().__init__({
            "code": In(shape), "value": Out(signed(value_bits)),
            "r": In(signed(value_bits)), "code_out": Out(shape),
        })

    def elaborate(self, platform):
        m = Module()
        lif = self.lif
        if lif.levels is None:
            m.d.comb += self.value.eq(self.code)
            m.d.comb += self.code_out.eq(Mux(self.r < lif.v_min, lif.v_min, Mux(self.r > lif.v_max, lif.v_max, self.r)))
            return m
        table = Array(Const(int(v), signed(self.value_bits)) for v in lif.levels)
        m.d.comb += self.value.eq(table[self.code])
        # above[k+1] = r > M_k, with a 1 below and a 0 above; code c is where the ones end.  Signals
        # (not expressions) so each comparator is emitted once; a one-hot encoder keeps the logic
        # one OR level deep where a sum of K bits would chain K adders.
        k = len(lif.levels)
        above, one_hot = Signal(k + 1), Signal(k)
        m.d.comb += above.eq(Cat(1, *(self.r > int(mid) for mid in codec.midpoints(lif.levels, lif.floor_bits)), 0))
        m.d.comb += one_hot.eq(above[:k] & ~above[1:])
        m.d.comb += self.code_out.eq(Cat(
            Cat(*(one_hot[c] for c in range(k) if c >> bit & 1)).any() for bit in range(lif.state_bits)))
        return m
