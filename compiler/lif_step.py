"""One LIF timestep on integers (docs/spec.md section 2), the one home of its arithmetic: the golden
model steps every neuron with it and rtl_gen builds its LIF tables from it.

A step is split where the current enters: u = drive(v) + I, then settle(u) gives the spike and the
next stored state.  drive is the leak (with snnTorch's order, and the pending reset it reads from
the stored state); settle fires, resets and quantizes.  With a level set, v takes K values and
settle is constant outside table_range, so a LIF unit can read both halves from tables
(rtl_gen/lif_update.py) and still be exact by construction.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import levels as codec
from .ir import LIF


def quantize(lif: LIF, r: np.ndarray) -> np.ndarray:
    """Q: the nearest level (ties to the lower), or the clamp to [v_min, v_max] without levels."""
    return np.clip(r, lif.v_min, lif.v_max) if lif.levels is None else codec.quantize(r, lif.levels, lif.floor_bits)


def floored(lif: LIF, b, x: np.ndarray) -> np.ndarray:
    """floor(b / 2**leak_f * x) onto the declared grid (>> on int64 floors toward minus infinity):
    the membrane's leak (b = B) and the synaptic current's (b = A)."""
    g = lif.floor_bits
    return ((b * x) >> (lif.leak_f + g)) << g


def synaptic_step(lif: LIF, c: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A synaptic current's step: (stored c, current I) -> (c' = floor(alpha c) + I, which drives the
    membrane this step; Q(c'), the stored c of the next)."""
    raw = floored(lif, lif.alpha_b, c) + current
    return raw, quantize(lif, raw)


def drive(lif: LIF, v: np.ndarray) -> np.ndarray:
    """u - I of a step from stored state v (int64, [B, C, H, W] or [B, C] with a leak per channel):
    the floored leak; in snnTorch's order with the pending reset p = v > theta applied
    (v zeroed before the leak for reset "zero", theta subtracted for "subtract")."""
    b = lif.leak_b.reshape((-1,) + (1,) * (v.ndim - 2)) if lif.leak_per_channel else lif.leak_b
    if lif.order != "snntorch":
        return floored(lif, b, v)
    p = v > lif.theta
    if lif.reset == "zero":
        return floored(lif, b, np.where(p, 0, v))
    return floored(lif, b, v) - (lif.theta * p if lif.reset == "subtract" else 0)


def settle(lif: LIF, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(spikes uint8, next stored state) from the integrated membrane u: snnc's order fires on u
    (u >= theta) and quantizes the reset value; snnTorch's quantizes u and fires strictly above
    theta on the stored state."""
    if lif.order == "snntorch":
        v_next = quantize(lif, u)
        return (v_next > lif.theta).astype(np.uint8), v_next
    s = u >= lif.theta
    r = u - lif.theta * s if lif.reset == "subtract" else np.where(s, 0, u) if lif.reset == "zero" else u
    return s.astype(np.uint8), quantize(lif, r)


def lif_step(lif: LIF, v: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One timestep: (stored state v, current I) -> (spikes uint8, next state v); with a synaptic
    current, I is synaptic_step's c'."""
    return settle(lif, drive(lif, v) + current)


def table_range(lif: LIF) -> tuple[int, int]:
    """[lo, hi] of u outside which settle is constant (settle(u) = settle(lo) below, settle(hi)
    above), for a LIF with levels L_0 .. L_{K-1}.  Q clamps to [L_0, L_{K-1}]; in snnc's order the
    spike changes at theta and, after it, the reset value is u - theta ("subtract"), 0 ("zero")
    or u ("none")."""
    first, last = int(lif.levels[0]), int(lif.levels[-1])
    if lif.order == "snntorch":
        return first, last
    fired_last = {"subtract": lif.theta + last, "zero": lif.theta, "none": max(lif.theta, last)}[lif.reset]
    return min(first, lif.theta - 1), max(fired_last, lif.theta)


# A settle table of up to 2**11 words of up to 9 bits is one BRAM18 (2K x 9), which two LIF units read
# through its two ports; past that a unit keeps its comparators (rtl_gen/state_codec.py).
SETTLE_TABLE_INDEX_BITS, SETTLE_TABLE_WORD_BITS = 11, 9


@dataclass(frozen=True)
class LIFTables:
    """A level-coded LIF's step as two tables (rtl_gen/lif_update.py).  drive [K]: u - I from the
    stored code, and first_drive from a state of 0 (the first timestep after a reset); settle
    [2**index_bits]: the word code | spike << state_bits of settle(u), at u mod 2**index_bits for
    u in [lo, hi] (distinct there: 2**index_bits > hi - lo); below lo it is settle(lo), above hi
    settle(hi)."""

    drive: np.ndarray
    first_drive: int
    settle: np.ndarray
    lo: int
    hi: int
    index_bits: int
    word_bits: int

    def word(self, u: int) -> int:
        return int(self.settle[u % (1 << self.index_bits)])


def lif_tables(lif: LIF) -> LIFTables | None:
    """The LIF's tables, or None where a unit computes its step: without levels, with a synaptic
    current (two states), a leak per channel (a drive table per channel), or a settle table past one
    BRAM18."""
    if lif.levels is None or lif.synaptic or lif.leak_per_channel:
        return None
    lo, hi = table_range(lif)
    index_bits, word_bits = max(1, (hi - lo).bit_length()), lif.state_bits + 1
    if index_bits > SETTLE_TABLE_INDEX_BITS or word_bits > SETTLE_TABLE_WORD_BITS:
        return None
    levels = np.asarray(lif.levels, np.int64)
    drive_table, first_drive = drive(lif, levels[None])[0], int(drive(lif, np.zeros((1, 1), np.int64))[0, 0])
    u = np.arange(lo, hi + 1, dtype=np.int64)
    spikes, v_next = settle(lif, u[None])
    settle_table = np.zeros(1 << index_bits, np.int64)
    settle_table[u % (1 << index_bits)] = np.searchsorted(levels, v_next[0]) | spikes[0].astype(np.int64) << lif.state_bits
    return LIFTables(drive_table, first_drive, settle_table, lo, hi, index_bits, word_bits)
