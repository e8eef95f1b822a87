"""Generated RTL in Verilator (and Icarus when installed) == golden model: every output spike and
every layer's final stored state, on random Dense/Conv2d networks at 1, 2, 4 and 8 lanes."""
import numpy as np
import pytest

from rtl_cases import active_case
from snnc.compiler.contracts import SpikeTokens
from snnc.compiler.geometry import cycle_budget, layer_busy_bound, network_geometry
from snnc.sim import rtl

DEFAULT_CASES = range(24)
SLOW_CASES = range(24, 72)


def expected_final_states(net, trace):
    return {lif.name: (trace.final_codes[lif.name] if lif.levels is not None else trace.states[lif.name][-1])
            .reshape(trace.states[lif.name].shape[1], -1) for lif in net.lifs}


def check_case(i, tmp_path, simulator, single_bank=False):
    net, x, lanes, out, trace = active_case(i, tmp_path)
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
    timeout) from the input tokens alone."""
    inputs = [x] + [trace.outputs[lif.name] for lif in net.lifs[:-1]]
    for b in range(x.shape[1]):
        n_tokens = len(SpikeTokens.for_shape(x.shape[2:]).encode(x[:, b]))
        assert 0 < result.cycles[b] <= cycle_budget(net, lanes, n_tokens, x.shape[0])
        for lif, geo, spikes in zip(net.lifs, network_geometry(net, lanes), inputs):
            bound = layer_busy_bound(geo, int(spikes[:, b].sum()), x.shape[0])  # one bank or two
            assert result.busy[lif.name][b] <= bound, (lif.name, b, int(result.busy[lif.name][b]), bound)


@pytest.mark.parametrize("i", DEFAULT_CASES)
def test_verilator_equals_golden(i, tmp_path):
    check_case(i, tmp_path, "verilator")


@pytest.mark.parametrize("i", [1, 8, 19])
def test_single_accumulator_bank_equals_golden(i, tmp_path):
    check_case(i, tmp_path, "verilator", single_bank=True)


@pytest.mark.slow
@pytest.mark.parametrize("i", SLOW_CASES)
def test_verilator_equals_golden_sweep(i, tmp_path):
    check_case(i, tmp_path, "verilator")


@pytest.mark.skipif(not rtl.simulator_available("icarus"), reason="Icarus Verilog (iverilog) not installed")
@pytest.mark.parametrize("i", [0, 3, 5])
def test_icarus_equals_golden(i, tmp_path):
    check_case(i, tmp_path, "icarus")
