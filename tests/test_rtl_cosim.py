"""Generated RTL in Verilator (and Icarus when installed) == golden model: every output spike and
every layer's final stored state, on random Dense/Conv2d networks at 1, 2, 4 and 8 lanes."""
import numpy as np
import pytest

from rtl_cases import active_case
from snnc.compiler.tokens import SpikeTokens
from snnc import energy
from snnc.compiler.geometry import ENGINE_COUNTERS, cycle_budget, layer_busy_bound, network_geometry
from snnc.sim import golden, rtl

DEFAULT_CASES = range(24)
SLOW_CASES = range(24, 72)


def expected_final_states(net, trace):
    return {lif.name: (trace.final_codes[lif.name] if lif.levels is not None else trace.states[lif.name][-1])
            .reshape(trace.states[lif.name].shape[1], -1) for lif in net.lifs}


def check_case(i, tmp_path, simulator, single_bank=False, units=None):
    net, x, lanes, out, trace = active_case(i, tmp_path)
    if units is not None:  # P scatter lanes, U LIF update units in every layer
        lanes = ((lanes, min(units, lanes)),)
    banks = frozenset(lif.name for lif in net.lifs) if single_bank else frozenset()
    result = rtl.run(net, x, lanes=lanes, simulator=simulator, work_dir=tmp_path / "rtl", single_bank=banks)
    np.testing.assert_array_equal(result.outputs, out.reshape(result.outputs.shape))
    for name, states in expected_final_states(net, trace).items():
        np.testing.assert_array_equal(result.final_states[name], states, err_msg=f"final states of {name}")
    np.testing.assert_array_equal(result.counts, out.reshape(*out.shape[:2], -1).sum(axis=0))
    check_cycles(net, x, lanes, trace, result)


def check_cycles(net, x, lanes, trace, result):
    """The cycle model of snnc.compiler.geometry bounds what the RTL measured: each engine's busy
    cycles from the spikes it was actually given, the whole run by cycle_budget (the board's RUN
    timeout) from the input tokens alone.  The RTL's activity counters equal the golden model's
    counts (snnc.energy.engine_counts), which the energy model uses."""
    inputs = golden.engine_inputs(net, x, trace)
    for b in range(x.shape[1]):
        n_tokens = len(SpikeTokens.for_shape(x.shape[2:]).encode(x[:, b]))
        assert 0 < result.cycles[b] <= cycle_budget(net, lanes, n_tokens, x.shape[0])
        for lif, geo, spikes in zip(net.lifs, network_geometry(net, lanes), inputs):
            bound = layer_busy_bound(geo, int(spikes[:, b].sum()), x.shape[0])  # one bank or two
            assert result.busy[lif.name][b] <= bound, (lif.name, b, int(result.busy[lif.name][b]), bound)
    for lif, counts in zip(net.lifs, energy.engine_counts(net, lanes, x, trace)):
        for kind in ENGINE_COUNTERS[1:]:
            np.testing.assert_array_equal(result.counters[lif.name][kind], counts[kind].sum(axis=0),
                                          err_msg=f"{lif.name} {kind}")


@pytest.mark.parametrize("i", DEFAULT_CASES)
def test_verilator_equals_golden(i, tmp_path):
    check_case(i, tmp_path, "verilator")


@pytest.mark.parametrize("i", [1, 8, 19])
def test_single_accumulator_bank_equals_golden(i, tmp_path):
    check_case(i, tmp_path, "verilator", single_bank=True)


@pytest.mark.parametrize("i,units", [(3, 1), (8, 2), (15, 1), (22, 3)])
def test_fewer_update_units_equal_golden(i, units, tmp_path):
    """U < P LIF datapaths take each group word in P/U parts: the same spikes and states."""
    check_case(i, tmp_path, "verilator", units=units)


@pytest.mark.slow
@pytest.mark.parametrize("i", SLOW_CASES)
def test_verilator_equals_golden_sweep(i, tmp_path):
    check_case(i, tmp_path, "verilator")


@pytest.mark.skipif(not rtl.simulator_available("icarus"), reason="Icarus Verilog (iverilog) not installed")
@pytest.mark.parametrize("i", [0, 3, 5])
def test_icarus_equals_golden(i, tmp_path):
    check_case(i, tmp_path, "icarus")


def test_a_layer_past_the_old_16_bit_address_limit(tmp_path):
    """65,537 neurons need 17-bit spike addresses (the design used 16, and 1 << 16 marked the end of a
    timestep): RTL == golden, every spike of the big layer included."""
    from snnc.compiler import ir
    from snnc.compiler.geometry import stream_tokens
    from snnc.compiler.passes import size_registers
    from snnc.sim import golden

    n = 65_537
    rng = np.random.default_rng(0)
    hidden = ir.Dense("fc1", rng.integers(-1, 2, (n, 3)), np.zeros(n, np.int64), np.zeros(n, np.int64), 2)
    w2 = np.zeros((2, n), np.int64)
    w2[0, -1] = w2[1, 65_535] = w2[1, 0] = 1  # read the neurons at and past the old limit
    layers = (hidden, ir.LIF("lif1", (n,), 1, 0, 0, "zero", "none", -2, 1),
              ir.Dense("fc2", w2, np.zeros(2, np.int64), np.zeros(2, np.int64), 2),
              ir.LIF("lif2", (2,), 1, 0, 0, "zero", "none", -2, 1))
    net = size_registers(ir.validate(ir.Network("wide", (3,), layers)))
    assert stream_tokens(net)[1].address_bits == 17
    x = np.ones((2, 1, 3), np.uint8)
    out, trace = golden.run(net, x, trace=True)
    assert trace.outputs["lif1"][:, 0, [0, 65_535, 65_536]].all() and out.sum() == 4
    result = rtl.run(net, x, lanes=1, work_dir=tmp_path / "rtl")
    np.testing.assert_array_equal(result.outputs, out)
