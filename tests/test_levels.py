"""Level construction (SQUAT / snnTorch state_quant) and the integer codec."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snnc.compiler import levels


def snntorch_threshold_centered(num_bits, threshold, lower_limit=0.0, upper_limit=0.2, multiplier=None):
    """A line-by-line transcription of snnTorch's state_quant(uniform=False, thr_centered=True) loops."""
    m = multiplier or levels.default_multiplier(num_bits)
    max_val, min_val = threshold * (1 + upper_limit), -threshold * (1 + lower_limit)
    n = 2 ** num_bits
    lower_range, upper_range = threshold - min_val, max_val - threshold
    lower_bits = math.floor(n * lower_range / (max_val - min_val))
    upper_bits = n - lower_bits
    lower_room = sum(m ** j for j in range(lower_bits)) / lower_range
    upper_room = sum(m ** j for j in range(upper_bits)) / upper_range
    out, acc = [], min_val
    for j in range(lower_bits - 1):
        out.append(acc)
        acc += m ** j / lower_room
    acc = threshold
    for j in reversed(range(upper_bits)):
        out.append(acc)
        acc += m ** j / upper_room
    out.append(acc)
    return np.array(out)


@pytest.mark.parametrize("bits", [1, 2, 3, 4, 5, 6, 8])
@pytest.mark.parametrize("upper", [0.2, 0.5, 1.0])
def test_threshold_centered_matches_snntorch(bits, upper):
    got = levels.threshold_centered_levels(bits, 1.5, upper_limit=upper)
    np.testing.assert_allclose(got, snntorch_threshold_centered(bits, 1.5, upper_limit=upper), rtol=1e-12)
    assert len(got) == 2 ** bits and np.all(np.diff(got) > 0)


def test_threshold_centered_crowds_near_threshold():
    lv = levels.threshold_centered_levels(4, 1.0)
    assert 1.0 in lv and lv[0] == -1.0 and np.isclose(lv[-1], 1.2)
    steps = np.diff(lv)
    below = steps[lv[1:] <= 1.0]
    assert np.all(np.diff(below) < 0)  # steps shrink approaching theta from below
    uniform = levels.uniform_levels(4, 1.0)
    near = lambda v: np.sum(np.abs(v - 1.0) < 0.15)
    assert near(lv) > 2 * near(uniform)


def test_uniform_levels_are_even():
    lv = levels.uniform_levels(3, 2.0, lower_limit=0.5, upper_limit=0.5)
    np.testing.assert_allclose(lv, np.linspace(-3, 3, 8))


def test_integerize_spreads_collisions_from_threshold():
    real = levels.threshold_centered_levels(8, 1.0)
    q = levels.integerize_levels(real, 2.0 ** -8)
    assert len(q) == 256 and np.all(np.diff(q) > 0)
    assert 256 in q and q[0] == -256  # theta and the bottom stay where they are
    assert np.sum(np.diff(q) == 1) > 20  # the crowd next to theta sits at 1-LSB steps
    exact = levels.integerize_levels(levels.uniform_levels(3, 1.0, upper_limit=0.4), 0.1)
    np.testing.assert_array_equal(exact, [-10, -7, -3, 0, 4, 7, 11, 14])  # no collision: plain rounding


@pytest.mark.parametrize("bits", [2, 3, 4])
@pytest.mark.parametrize("mode", ["uniform", "threshold_centered"])
def test_codec_is_nearest_level_ties_down(bits, mode):
    build = levels.uniform_levels if mode == "uniform" else levels.threshold_centered_levels
    lv = levels.integerize_levels(build(bits, 64), 1.0)
    values = np.arange(lv[0] - 20, lv[-1] + 20)  # every integer around the whole level set
    codes = levels.encode(values, lv)
    for v, c in zip(values, codes):
        dist = np.abs(lv - np.clip(v, lv[0], lv[-1]))
        assert c == np.flatnonzero(dist == dist.min())[0]  # nearest, lowest on a tie
    np.testing.assert_array_equal(levels.decode(np.arange(len(lv)), lv), lv)
    np.testing.assert_array_equal(levels.encode(lv, lv), np.arange(len(lv)))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-1000, 1000), min_size=2, max_size=16, unique=True), st.integers(-1200, 1200))
def test_codec_midpoint_rule(raw, value):
    lv = np.array(sorted(raw), np.int64)
    code = int(levels.encode(np.array([value]), lv)[0])
    mids = [(a + b) // 2 for a, b in zip(lv[:-1], lv[1:])]
    assert code == sum(m < value for m in mids)
