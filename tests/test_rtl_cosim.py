"""Generated RTL in Verilator (and Icarus when installed) == golden model: every output spike and
every layer's final stored state (and a readout's membranes), on random Dense/Conv2d networks at 1,
2, 4 and 8 lanes."""
import numpy as np
import pytest

from rtl_cases import active_case, check_cycles, expected_final_states
from snnc.compiler.layer_impl import implement, with_banks
from snnc.sim import rtl

# every kind: case_specs varies the kinds by i mod 3 and i mod 4 (conv, readout, synaptic, recurrent),
# so 12 cases are every combination of them, the conv ones at 8, 1 and 2 lanes, 1 to 8 lanes in all
DEFAULT_CASES = range(12)
SLOW_CASES = range(12, 72)


def check_case(i, tmp_path, simulator, single_bank=False, units=None):
    net, x, lanes, out, trace = active_case(i, tmp_path)
    if units is not None:  # P scatter lanes, U LIF update units in every layer
        lanes = ((lanes, min(units, lanes)),)
    banks = frozenset(lif.name for lif in net.lifs) if single_bank else frozenset()
    impl = with_banks(implement(net, lanes), net, banks)
    result = rtl.run(net, x, impl, simulator=simulator, work_dir=tmp_path / "rtl")
    np.testing.assert_array_equal(result.outputs, out.reshape(result.outputs.shape))
    for name, states in expected_final_states(net, trace).items():
        np.testing.assert_array_equal(result.final_states[name], states, err_msg=f"final states of {name}")
    counts = np.zeros_like(result.counts) if net.lifs[-1].readout else out.reshape(*out.shape[:2], -1).sum(axis=0)
    np.testing.assert_array_equal(result.counts, counts)  # a readout counts no spikes
    check_cycles(net, x, impl, trace, result)


@pytest.mark.parametrize("i", DEFAULT_CASES)
def test_verilator_equals_golden(i, tmp_path):
    check_case(i, tmp_path, "verilator")


@pytest.mark.parametrize("i", [1, 8, 19])
def test_single_accumulator_bank_equals_golden(i, tmp_path):
    check_case(i, tmp_path, "verilator", single_bank=True)


@pytest.mark.parametrize("i,units", [(3, 1), (8, 2), *(pytest.param(*c, marks=pytest.mark.slow) for c in ((15, 1), (22, 3)))])
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
    from snnc.compiler.register_sizes import size_registers
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
    result = rtl.run(net, x, implement(net), work_dir=tmp_path / "rtl")
    np.testing.assert_array_equal(result.outputs, out)
