"""Component tests in Amaranth's simulator against the golden model: the state codec exhaustively,
the LIF datapath on random currents, the constant multiplier's digit recoding."""
import numpy as np
import pytest
from amaranth import Module
from amaranth.sim import Simulator
from hypothesis import given
from hypothesis import strategies as st

from snnc.compiler import ir
from snnc.compiler import levels as codec
from snnc.compiler.register_sizes import size_registers
from snnc.rtl_gen.arith import csd_terms
from snnc.compiler.lif_step import lif_tables
from snnc.rtl_gen.lif_update import LATENCY, LIFUpdate, settle_roms
from snnc.rtl_gen.state_codec import StateCodec
from snnc.sim import golden


def level_set(mode, bits, theta=40):
    build = codec.uniform_levels if mode == "uniform" else codec.threshold_centered_levels
    return codec.integerize_levels(build(bits, theta), 1.0)


def lif_of(levels=None, theta=40, leak=(13, 4), reset="subtract", v_range=(-128, 127), order="snnc"):
    lo, hi = (int(levels[0]), int(levels[-1])) if levels is not None else v_range
    mode = "none" if levels is None else "uniform"
    return ir.LIF("lif", (1,), theta, *leak, reset, mode, lo, hi, levels, order=order)


def sized(lif, weights):
    """Run the bounds pass on a 1-input network so the LIF's widths are the compiler's."""
    dense = ir.Dense("fc", np.array(weights).reshape(-1, 1), np.zeros(len(weights), np.int64),
                     np.zeros(len(weights), np.int64), 8)
    lif = ir.LIF(lif.name, (len(weights),), lif.theta, lif.leak_b, lif.leak_f, lif.reset, lif.state_quant,
                 lif.v_min, lif.v_max, lif.levels, order=lif.order)
    net = size_registers(ir.validate(ir.Network("n", (1,), (dense, lif))))
    return net.layers[0], net.layers[1]


CASES = [(mode, bits) for mode in ("uniform", "threshold_centered") for bits in (2, 3, 4)]


@pytest.mark.parametrize("mode, bits", CASES + [("none", 8)])
def test_codec_exhaustive(mode, bits):
    levels = None if mode == "none" else level_set(mode, bits)
    _, lif = sized(lif_of(levels), [100, -100])
    dut = StateCodec(lif, 12)
    sim = Simulator(dut)
    span = range(-300, 300)

    async def bench(ctx):
        codes = range(2 ** bits) if levels is not None else range(-128, 128)
        for c in codes:  # decode every stored state
            ctx.set(dut.code, c)
            assert ctx.get(dut.value) == (levels[c] if levels is not None else c)
        for r in span:  # encode every value around the state range
            ctx.set(dut.r, r)
            expect = codec.encode(r, levels) if levels is not None else min(max(r, -128), 127)
            assert ctx.get(dut.code_out) == expect, r

    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("order", ["snnc", "snntorch"])
@pytest.mark.parametrize("levels, reset, leak, theta, weight", [
    (level_set("threshold_centered", 4), "subtract", (13, 4), 40, 60),
    (level_set("uniform", 3), "zero", (3, 2), 40, 60),
    (None, "subtract", (1, 0), 40, 60),
    (None, "zero", (0, 0), 40, 60),
    (level_set("threshold_centered", 2), "zero", (7, 3), 40, 60),
    # levels far past what the membrane reaches: the datapath is narrower than the settle table's index
    (np.arange(-3, 253), "subtract", (0, 0), 2, 3),
])
@pytest.mark.parametrize("tables", [True, False])
def test_lif_update_matches_golden(levels, reset, leak, theta, weight, order, tables):
    """Both datapaths (tables, where the LIF has levels, and arithmetic) against the golden step,
    with currents that reach past both ends of the settle table's range."""
    syn, lif = sized(lif_of(levels, theta, leak, reset, order=order), [weight, -weight])
    dut = LIFUpdate(lif, syn.current_bits, tables)
    assert (dut.tables is not None) == (tables and levels is not None)
    if levels is not None and len(levels) == 256:
        assert dut.width < lif_tables(lif).index_bits
    top = Module()
    top.submodules.dut = dut
    settle_roms(top, [dut])
    rng = np.random.default_rng(0)
    currents = rng.integers(-weight, weight + 1, 200)
    expected_spikes, expected_states, v = [], [], np.zeros(1, np.int64)
    for i in currents:
        s, v = golden.lif_step(lif, v, np.array([i]))
        expected_spikes.append(int(s[0]))
        expected_states.append(int(codec.encode(v, levels)[0]) if levels is not None else int(v[0]))
    sim = Simulator(top)
    sim.add_clock(1e-6)

    async def bench(ctx):
        # feed each result back as the next stored state, as the state RAM does
        state = 0
        for t, i in enumerate(currents):
            ctx.set(dut.valid_in, 1)
            ctx.set(dut.first, t == 0)
            ctx.set(dut.state_in, state)
            ctx.set(dut.current, int(i))
            await ctx.tick()
            ctx.set(dut.valid_in, 0)
            for _ in range(LATENCY - 1):
                await ctx.tick()
            assert ctx.get(dut.valid_out)
            assert (ctx.get(dut.spike), ctx.get(dut.state_out)) == (expected_spikes[t], expected_states[t]), t
            state = ctx.get(dut.state_out)

    sim.add_testbench(bench)
    sim.run()
    assert sum(expected_spikes) > 10


@given(st.integers(0, 1 << 16))
def test_csd_terms_reconstruct(b):
    terms = csd_terms(b)
    assert sum(sign << k for sign, k in terms) == b
    assert all(k2 - k1 >= 2 for (_, k1), (_, k2) in zip(terms, terms[1:]))  # non-adjacent form
