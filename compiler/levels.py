"""Membrane state level sets and the state codec (docs/spec.md section 2).

The level constructions follow snnTorch's `state_quant` (SQUAT, arXiv 2404.19668): states live in
[-theta*(1+lower_limit), theta*(1+upper_limit)]; uniform levels are evenly spaced over it, and
threshold-centered levels take steps that shrink geometrically (by `multiplier`) towards theta from
below and grow geometrically away from theta above, so most levels sit near the firing threshold.

Real-valued levels are put on the integer LSB grid by `integerize_levels`; the codec works on
integers only: `encode` maps a value to the code (the number of floored midpoints strictly below
it), `decode` maps a code back to its level.  The frontend imports this module too.
"""
from __future__ import annotations

import math

import numpy as np

# snnTorch's default exponential base per state bit width (state_quant, multiplier=None).
DEFAULT_MULTIPLIER = {1: 0.05, 2: 0.1, 3: 0.3, 4: 0.5, 5: 0.7, 6: 0.9, 7: 0.925}


def default_multiplier(bits: int) -> float:
    return DEFAULT_MULTIPLIER.get(bits, 0.95)


def state_range(threshold: float, lower_limit: float = 0.0, upper_limit: float = 0.2) -> tuple[float, float]:
    """The quantized state's range, snnTorch's convention: [-theta(1+lower), theta(1+upper)]."""
    return -threshold * (1 + lower_limit), threshold * (1 + upper_limit)


def uniform_levels(bits: int, threshold: float, lower_limit: float = 0.0, upper_limit: float = 0.2) -> np.ndarray:
    """2**bits evenly spaced real levels over `state_range` (float64, ascending)."""
    lo, hi = state_range(threshold, lower_limit, upper_limit)
    return np.linspace(lo, hi, 2 ** bits)


def threshold_centered_levels(bits: int, threshold: float, lower_limit: float = 0.0, upper_limit: float = 0.2,
                              multiplier: float | None = None) -> np.ndarray:
    """2**bits real levels crowding exponentially toward `threshold` (float64, ascending).

    The levels below theta split (theta - lo) into steps proportional to m**0, m**1, ... (shrinking
    towards theta); the levels from theta upward take steps m**(n-1), ..., m**0 (growing away from
    theta) up to hi.  theta itself, lo and hi are always levels.  m defaults to snnTorch's per-bit value.
    """
    m = default_multiplier(bits) if multiplier is None else multiplier
    if not 0 < m <= 1:
        raise ValueError(f"multiplier must be in (0, 1], got {m}")
    lo, hi = state_range(threshold, lower_limit, upper_limit)
    k = 2 ** bits
    n_lower = math.floor(k * (threshold - lo) / (hi - lo))  # levels given to [lo, theta)
    n_upper = k - n_lower
    lower_steps = m ** np.arange(n_lower)
    lower = lo + np.concatenate([[0.0], np.cumsum(lower_steps)[:-1]]) * (threshold - lo) / lower_steps.sum()
    lower = lower[: max(n_lower - 1, 0)]
    upper_steps = m ** np.arange(n_upper)[::-1]
    upper = threshold + np.concatenate([[0.0], np.cumsum(upper_steps)]) * (hi - threshold) / upper_steps.sum()
    return np.concatenate([lower, upper])


def integerize_levels(levels: np.ndarray, lsb: float) -> np.ndarray:
    """Round real levels to integers in LSB units (int64, strictly ascending).

    Where the grid is too coarse for the densest levels (SQUAT's 8-bit sets put steps of ~1e-6*theta
    next to theta), levels that would collide are spread to 1-LSB steps outward from the densest
    point, so the set keeps 2**bits distinct codes, its anchor level (theta) and its crowding.
    """
    real = np.asarray(levels, np.float64)
    q = np.round(real / lsb).astype(np.int64)
    anchor = int(np.argmin(np.diff(real))) + 1 if len(real) > 1 else 0
    for k in range(anchor + 1, len(q)):
        q[k] = max(q[k], q[k - 1] + 1)
    for k in range(anchor - 1, -1, -1):
        q[k] = min(q[k], q[k + 1] - 1)
    return q


def midpoints(levels: np.ndarray, floor_bits: int = 0) -> np.ndarray:
    """M_k = floor((L_k + L_{k+1}) / 2), the encoder's decision boundaries (int64, K-1 of them),
    floored to a multiple of 2**floor_bits (the model's declared grid, when the compiler refined
    the LIF's grid below it: ONNX floors the midpoints on state_lsb).  Strictly ascending whenever
    the levels are multiples of 2**floor_bits: L_k <= M_k < L_{k+1}."""
    lv = np.asarray(levels, np.int64)
    return ((lv[:-1] + lv[1:]) >> (floor_bits + 1)) << floor_bits


def encode(value: np.ndarray, levels: np.ndarray, floor_bits: int = 0) -> np.ndarray:
    """Code of the nearest level (ties to the lower, values clamped): #{k : M_k < value} (int64)."""
    return np.searchsorted(midpoints(levels, floor_bits), np.asarray(value, np.int64), side="left").astype(np.int64)


def decode(code: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Level value of each code (int64)."""
    return np.asarray(levels, np.int64)[np.asarray(code, np.int64)]


def quantize(value: np.ndarray, levels: np.ndarray, floor_bits: int = 0) -> np.ndarray:
    """Q(value) = decode(encode(value)): the stored state for an integer membrane value."""
    return decode(encode(value, levels, floor_bits), levels)
