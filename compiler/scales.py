"""Weights on a power-of-two grid: the stored range of an N-bit weight and the power-of-two scale
search that both quantization-aware training (snnc.frontend) and `snnc compile --bits` use, so both
pick the same scale (docs/spec.md section 4)."""
from __future__ import annotations

import math

import numpy as np

from .errors import SnncError


def weight_range(bits: int) -> tuple[int, int]:
    """Stored weight values of a width: 1 bit is binary {-1, +1}; 2 bits ternary {-1, 0, 1};
    N bits the symmetric narrow range [-(2**(N-1)-1), 2**(N-1)-1]."""
    if bits == 1:
        return -1, 1
    q = (1 << (bits - 1)) - 1
    return -q, q


def fit_bits(q: np.ndarray) -> int:
    """Smallest width whose weight_range holds every integer of q (1 only for all +-1)."""
    q = np.asarray(q)
    if q.size and np.all(np.abs(q) == 1):
        return 1
    amax = int(np.abs(q).max(initial=0))
    return max(2, amax.bit_length() + 1)


SCALE_SEARCH = 10  # power-of-two scales tried below the smallest one that clips nothing


def pow2_exact(w: np.ndarray, max_bits: int = 8) -> tuple[np.ndarray, float] | None:
    """(codes, scale) if real weights are already integers of at most max_bits times one power of
    two 2**e (-24 <= e < 8, the coarsest such scale), else None."""
    w = np.asarray(w, np.float64)
    if not np.abs(w).max(initial=0.0):
        return np.zeros(w.shape, np.int64), 1.0
    for e in range(7, -25, -1):
        q = w / 2.0 ** e
        if np.all(q == np.round(q)) and fit_bits(q) <= max_bits:
            return q.astype(np.int64), 2.0 ** e
    return None


def pow2_codes(w: np.ndarray, bits: int, scale: float) -> np.ndarray:
    """Integer codes of real weights at a scale: sign for 1 bit, else round-to-nearest, clipped."""
    if bits == 1:
        return np.where(np.asarray(w) >= 0, 1, -1).astype(np.int64)
    lo, hi = weight_range(bits)
    return np.clip(np.round(np.asarray(w, np.float64) / scale), lo, hi).astype(np.int64)


def pow2_scale(w: np.ndarray, bits: int) -> float:
    """The power-of-two scale 2**e with the least squared quantization error of `w` at `bits`,
    over e from SCALE_SEARCH below the smallest scale that clips nothing up to that scale."""
    w = np.asarray(w, np.float64)
    amax = float(np.abs(w).max(initial=0.0))
    if amax == 0.0:
        return 1.0
    if not math.isfinite(amax):
        raise SnncError("weights must be finite to quantize them")
    e_hi = math.ceil(math.log2(amax / weight_range(bits)[1]))
    # min() keeps the first of equal errors: ties go to the finer scale
    best = min(range(e_hi - SCALE_SEARCH, e_hi + 1),
               key=lambda e: float(np.sum((pow2_codes(w, bits, 2.0 ** e) * 2.0 ** e - w) ** 2)))
    return 2.0 ** best


def pow2_quantize(w: np.ndarray, bits: int) -> tuple[np.ndarray, float]:
    """Real weights -> (codes int64 fitting `bits`, power-of-two scale) by `pow2_scale`."""
    w = np.asarray(w, np.float64)
    if not np.abs(w).max(initial=0.0):
        return (np.ones if bits == 1 else np.zeros)(w.shape, np.int64), 1.0
    scale = pow2_scale(w, bits)
    return pow2_codes(w, bits, scale), scale
