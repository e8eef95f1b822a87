"""Generated RTL in Verilator (and Icarus when installed) == golden model: every output spike and
every layer's final stored state, on random Dense/Conv2d networks at 1, 2, 4 and 8 lanes."""
import numpy as np
import pytest

from rtl_cases import active_case
from snnc.sim import rtl

DEFAULT_CASES = range(24)
SLOW_CASES = range(24, 72)


def expected_final_states(net, trace):
    return {lif.name: (trace.final_codes[lif.name] if lif.levels is not None else trace.states[lif.name][-1])
            .reshape(trace.states[lif.name].shape[1], -1) for lif in net.lifs}


def check_case(i, tmp_path, simulator):
    net, x, lanes, out, trace = active_case(i, tmp_path)
    result = rtl.run(net, x, lanes=lanes, simulator=simulator, work_dir=tmp_path / "rtl")
    np.testing.assert_array_equal(result.outputs, out.reshape(result.outputs.shape))
    for name, states in expected_final_states(net, trace).items():
        np.testing.assert_array_equal(result.final_states[name], states, err_msg=f"final states of {name}")
    np.testing.assert_array_equal(result.counts, out.reshape(*out.shape[:2], -1).sum(axis=0))
    assert np.all(result.cycles > 0)


@pytest.mark.parametrize("i", DEFAULT_CASES)
def test_verilator_equals_golden(i, tmp_path):
    check_case(i, tmp_path, "verilator")


@pytest.mark.slow
@pytest.mark.parametrize("i", SLOW_CASES)
def test_verilator_equals_golden_sweep(i, tmp_path):
    check_case(i, tmp_path, "verilator")


@pytest.mark.skipif(not rtl.simulator_available("icarus"), reason="Icarus Verilog (iverilog) not installed")
@pytest.mark.parametrize("i", [0, 3, 5])
def test_icarus_equals_golden(i, tmp_path):
    check_case(i, tmp_path, "icarus")
