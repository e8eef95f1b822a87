"""compiler.lif_step.lif_tables: a level-coded LIF's step read from its drive and settle tables
equals the step itself (lif_step), for every stored code, the first timestep, and currents far past
both ends of the settle table's range; over random level sets, thresholds, leaks, resets, orders
and grids (hypothesis)."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from snnc.compiler import ir, levels
from snnc.compiler.lif_step import SETTLE_TABLE_INDEX_BITS, lif_step, lif_tables, table_range


@st.composite
def level_coded_lifs(draw):
    bits = draw(st.integers(1, 6))
    theta = draw(st.integers(1, 200))
    make = draw(st.sampled_from([levels.threshold_centered_levels, levels.uniform_levels]))
    lv = levels.integerize_levels(make(bits, theta), 1.0)
    if len(np.unique(lv)) < len(lv):  # too few integers under theta for distinct levels
        lv = np.arange(len(lv), dtype=np.int64) - len(lv) // 2
    grid = draw(st.integers(0, 2))  # floor_bits: the levels lie on its grid (ir.validate)
    lv = lv << grid
    leak_f = draw(st.integers(0, 6))
    leak_b = draw(st.integers(0, 1 << leak_f))
    return ir.LIF("lif", (1,), theta, leak_b, leak_f, draw(st.sampled_from(["subtract", "zero", "none"])),
                  "uniform", int(lv[0]), int(lv[-1]), lv, floor_bits=grid, state_bits=bits,
                  order=draw(st.sampled_from(["snnc", "snntorch"])))


@settings(max_examples=150, deadline=None)
@given(level_coded_lifs())
def test_tables_equal_the_step(lif):
    t = lif_tables(lif)
    lo, hi = table_range(lif)
    assert (t is None) == ((hi - lo).bit_length() > SETTLE_TABLE_INDEX_BITS)  # past one BRAM18: computed
    if t is None:
        return
    lv = np.asarray(lif.levels, np.int64)
    reach = int(np.abs(t.drive).max()) + abs(t.lo) + abs(t.hi) + 8  # currents well past [lo, hi]
    currents = np.arange(-reach, reach + 1, dtype=np.int64)
    for v, term in [*zip(lv, t.drive), (0, t.first_drive)]:
        spikes, v_next = lif_step(lif, np.full((1, len(currents)), v, np.int64), currents[None])
        u = term + currents
        index = np.clip(u, t.lo, t.hi) % (1 << t.index_bits)  # what the unit's compares and table give
        words = t.settle[index]
        np.testing.assert_array_equal(words >> lif.state_bits, spikes[0], err_msg=f"spikes from {v}")
        np.testing.assert_array_equal(lv[words & ((1 << lif.state_bits) - 1)], v_next[0], err_msg=f"states from {v}")


def test_no_tables_where_the_unit_computes_the_step():
    lv = np.array([-4, 0, 2, 3], np.int64)
    plain = dict(shape=(2,), theta=3, leak_b=3, leak_f=2, reset="subtract", state_quant="uniform", v_min=-4, v_max=3,
                 state_bits=2)
    assert lif_tables(ir.LIF("a", levels=lv, **plain)) is not None
    assert lif_tables(ir.LIF("b", levels=None, **plain)) is None
    assert lif_tables(ir.LIF("c", levels=lv, alpha_b=2, **plain)) is None
    wide = np.array([-(1 << 12), 0, 1, 2], np.int64)  # a settle table past one BRAM18
    assert lif_tables(ir.LIF("d", levels=wide, **{**plain, "v_min": -(1 << 12)})) is None
