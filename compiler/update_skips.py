"""Event-driven updates: the neuron groups an engine's update may skip, and what the walk then costs
(docs/rtl.md, "Event-driven updates").  The RTL (rtl_gen/neuron_update.py, update_walk.py) is built
to this, and the engine model's counts and cycles read it.

A neuron is steady when a current of 0 leaves its stored state as it is, without a spike
(docs/spec.md section 2): 0 always, and with levels every level that the floored leak and the
rounding to the nearest level bring back to itself (7/8 of 128 is 112, which a threshold-centered
set stores as 128 again: such a neuron keeps its membrane until input comes).  With a synaptic
current the current must be 0 as well (it is the membrane's input).  A group (P lanes of a LIF
pixel) whose accumulators are all 0 and whose neurons are all steady needs no update, when the
layer has no bias and is no readout (which emits every state at every step).  The update finds out
in the phase that reads the group's last accumulator word (its "deciding" phase, W - 1: the
window's words are read first, in W = geometry.window_phases phases, k1*k1 or with the columns side
by side k1); that phase also steps the group's first part, which leaves it as it was.  A dead group
then ends there: one cycle without a step, and its other P/U - 1 parts are never stepped.  A spike
window's last group (k2 > 1) goes on with its last part instead, whose step queues the window's
mask.  A group costs W + P/U - 1 cycles when live, W + 1 when skipped (W + 2 for a window's last),
so the skip pays from P/U = 3 parts on.  In the first timestep
after a reset nothing is skipped: the state RAM holds what it held before, and that timestep
writes every state.
"""
from __future__ import annotations

import numpy as np

from . import ir
from .geometry import LayerGeometry
from .levels import encode
from .lif_step import floored

MIN_SKIP_PARTS = 3  # a skipped group costs W + 1 (or + 2) cycles, a live one W + P/U - 1


def steady_levels(lif: ir.LIF) -> np.ndarray:
    """The stored membrane values a current of 0 keeps, without a spike, at every channel's leak:
    int64 values (0 among them, when it is stored; without levels only 0)."""
    if lif.levels is None:
        return np.zeros(1 if lif.v_min <= 0 <= lif.v_max else 0, np.int64)
    levels = np.asarray(lif.levels, np.int64)
    g, steady = lif.floor_bits, np.ones(len(levels), bool)
    for b in np.unique(lif.leaks):
        leaked = floored(lif, int(b), levels)
        kept = levels[encode(leaked, levels, g)] == levels
        # snnc's order fires on the leaked value; snnTorch's on the stored one, which stays
        steady &= kept & ((leaked < lif.theta) if lif.order == "snnc" else (levels <= lif.theta))
    return levels[steady]


def steady(lif: ir.LIF, v: np.ndarray, c: np.ndarray | None = None) -> np.ndarray:
    """Which neurons are steady (bool, v's shape): stored membrane values v among steady_levels,
    and with a synaptic current its stored values c at 0."""
    out = np.isin(v, steady_levels(lif))
    return out & (c == 0) if lif.synaptic else out


def dense_update_reason(geo: LayerGeometry, lif: ir.LIF) -> str | None:
    """Why the engine's update visits every group at every timestep, or None: it skips the groups
    steady without input."""
    if isinstance(geo.synapse, ir.Dense):
        return "every input of a dense layer reaches every group: none is quiet while the layer has input"
    if lif.readout:
        return "a readout emits every neuron's state at every step"
    if np.any(geo.synapse.bias != 0):
        return "a bias drives every neuron, with input or without"
    if not len(steady_levels(lif)) or lif.synaptic and lif.levels is not None and 0 not in lif.levels:
        return "no stored state stays as it is without input"
    if geo.parts < MIN_SKIP_PARTS:
        return f"{geo.parts} part{'s' if geo.parts > 1 else ''} of U lanes per group: a skip would save no cycle"
    return None


def skipped_groups(geo: LayerGeometry, sums: np.ndarray, away: np.ndarray) -> np.ndarray:
    """Which walked groups the update skips, bool [T, B, go, walk_h, walk_w]: sums, every accumulator
    of the timestep (the convolution's raw sums, [T, B, C, H, W]); away, every LIF neuron
    whose stored state before the step is not steady [T, B, *lif shape].  Nothing at the first
    step; edge windows' missing neurons (bubbles) are walked in full."""
    n_t, n_b = sums.shape[:2]
    lanes = np.zeros((n_t, n_b, geo.go * geo.lanes, geo.ho, geo.wo), bool)
    lanes[:, :, : geo.co] = sums[..., : geo.ho, : geo.wo] != 0
    k1 = geo.k1
    fed = lanes.reshape(n_t, n_b, geo.go, geo.lanes, geo.lif_h, k1, geo.lif_w, k1).any(axis=(3, 5, 7))
    moving = np.zeros((n_t, n_b, geo.go * geo.lanes, geo.lif_h, geo.lif_w), bool)
    moving[:, :, : geo.co] = away.reshape(n_t, n_b, geo.co, geo.lif_h, geo.lif_w)
    live = fed | moving.reshape(n_t, n_b, geo.go, geo.lanes, geo.lif_h, geo.lif_w).any(axis=3)
    skipped = np.zeros((n_t, n_b, geo.go, geo.walk_h, geo.walk_w), bool)
    skipped[:, :, :, : geo.lif_h, : geo.lif_w] = ~live
    skipped[0] = False
    return skipped


def update_work(geo: LayerGeometry, skipped: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(steps issued, cycles walked) per timestep and sample, int64 [T, B], of an update that skips
    the groups `skipped_groups` gives (before the walk's fixed overhead)."""
    window, phases = geo.window_phases, geo.group_phases
    last = np.zeros(skipped.shape[2:], bool)  # a spike window's last group goes on to its last part
    if geo.k2 > 1:
        last[:, geo.k2 - 1::geo.k2, geo.k2 - 1::geo.k2] = True
    dead = skipped.reshape(*skipped.shape[:2], -1).sum(axis=2)
    dead_last = (skipped & last).reshape(*skipped.shape[:2], -1).sum(axis=2)
    issued = geo.update_steps - dead * (phases - window) + dead_last
    return issued.astype(np.int64), (issued + dead).astype(np.int64)
