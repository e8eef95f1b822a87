"""The worked examples of docs/semantics.md, computed by the golden model."""
import numpy as np
import pytest

from snnc.compiler import ir
from snnc.compiler.register_sizes import size_registers
from snnc.sim import golden

CURRENTS = [3, 7, 1, -6, 1]


def one_neuron(theta, leak_b, leak_f, reset, levels=None, v_range=(-8, 7)):
    lif = ir.LIF("lif", (1,), theta, leak_b, leak_f, reset, "none" if levels is None else "threshold_centered",
                 *(v_range if levels is None else (levels[0], levels[-1])),
                 None if levels is None else np.array(levels, np.int64))
    return lif


def trace(lif, currents):
    v, spikes, states = np.zeros(1, np.int64), [], []
    for i in currents:
        s, v = golden.lif_step(lif, v, np.array([i]))
        spikes.append(int(s[0]))
        states.append(int(v[0]))
    return spikes, states


@pytest.mark.parametrize("reset, spikes, states", [
    ("subtract", [0, 1, 1, 0, 0], [3, 5, 0, -6, -4]),
    ("zero", [0, 1, 0, 0, 0], [3, 0, 1, -6, -4]),
])
def test_reset_modes(reset, spikes, states):
    assert trace(one_neuron(4, 3, 2, reset), CURRENTS) == (spikes, states)


def test_level_set_example():
    levels = [-4, 0, 2, 3, 4, 5, 6, 8]
    assert trace(one_neuron(4, 1, 1, "subtract", levels), [3, 3, 6, -7, 2]) == ([0, 1, 1, 0, 0], [3, 0, 2, -4, 0])


def test_clamp_without_levels():
    # beta = 1 integrates without leak; the register clamps at v_max = 7 and v_min = -8
    assert trace(one_neuron(100, 1, 0, "subtract"), [5, 5, -30, -1]) == ([0, 0, 0, 0], [5, 7, -8, -8])


def test_layers_chain_without_delay_and_classify():
    dense1 = ir.Dense("fc1", np.array([[1], [1]]), np.zeros(2, np.int64), np.zeros(2, np.int64), 2)
    lif1 = ir.LIF("l1", (2,), 1, 0, 0, "zero", "none", -8, 7)
    dense2 = ir.Dense("fc2", np.array([[1, 0], [0, 1], [1, 1]]), np.zeros(3, np.int64), np.zeros(3, np.int64), 2)
    lif2 = ir.LIF("l2", (3,), 2, 0, 0, "zero", "none", -8, 7)
    net = ir.validate(ir.Network("chain", (1,), (dense1, lif1, dense2, lif2)))
    x = np.array([1, 0, 1], np.uint8).reshape(3, 1, 1)
    out, tr = golden.run(net, x, trace=True)
    # an input spike at t reaches the output at the same t: only neuron 2 (sum of two) crosses 2
    np.testing.assert_array_equal(out[:, 0], [[0, 0, 1], [0, 0, 0], [0, 0, 1]])
    np.testing.assert_array_equal(tr.outputs["l1"][:, 0], [[1, 1], [0, 0], [1, 1]])
    assert golden.classify(out).tolist() == [2]
    assert golden.classify(np.zeros((4, 2, 3))).tolist() == [0, 0]  # ties go to the lowest index


def test_the_synaptic_current_worked_example():
    """docs/spec.md section 2: alpha = beta = 1/2, theta 10, subtract, currents 8, 0, 0, 8: the
    current c' = 8, 4, 2, 9 drives v to 8, 8, 6, then 12, which fires and keeps 2."""
    lif = ir.LIF("lif", (1,), 10, 1, 1, "subtract", "none", -64, 63, alpha_b=1)
    v = c = np.zeros(1, np.int64)
    got = []
    for i in (8, 0, 0, 8):
        drive, c = golden.synaptic_step(lif, c, np.array([i]))
        s, v = golden.lif_step(lif, v, drive)
        got.append((int(drive[0]), int(s[0]), int(v[0])))
    assert got == [(8, 0, 8), (4, 0, 8), (2, 0, 6), (9, 1, 2)]


def test_the_recurrent_layer_worked_example():
    """docs/spec.md section 2: one input, two neurons, beta 1/2, theta 10, subtract, snnc order;
    W = [[6], [0]], R = [[-4, 0], [12, 0]] (neuron 0 inhibits itself and excites neuron 1 one step
    late).  Inputs 1, 1, 1, 0: neuron 0 reaches 6, 9, then 10 and fires; at the last step its
    spike returns as -4 to itself and 12 to neuron 1, which fires."""
    syn = ir.Dense("fc", np.array([[6, -4, 0], [0, 12, 0]]), np.zeros(2, np.int64), np.zeros(2, np.int64), 8,
                   recurrent=True)
    lif = ir.LIF("lif", (2,), 10, 1, 1, "subtract", "none", -64, 63)
    net = size_registers(ir.validate(ir.Network("n", (1,), (syn, lif))))
    assert syn.in_shape == (1,)
    out, trace = golden.run(net, np.array([1, 1, 1, 0], np.uint8).reshape(4, 1, 1), trace=True)
    assert out[:, 0].tolist() == [[0, 0], [0, 0], [1, 0], [0, 1]]
    assert trace.states["lif"][:, 0].tolist() == [[6, 0], [9, 0], [0, 0], [-4, 2]]
