"""The engine model: the one place that knows what a layer's engine (snnc.rtl_gen.layer_engine)
costs, as FINN's HWCustomOp knows its get_exp_cycles and lut_estimation.  Cycles (per input spike,
per timestep's update, per inference, by the schedule), LUTs (fitted to Yosys), RAMs (widths,
depths, block RAM) and the work its activity counters count.  `snnc --lanes auto`, the energy
model, the report, the host's RUN timeout and the tests read it; the RTL generator builds the
latencies it names.

Cycles (docs/rtl.md).  The scatter takes an input spike in `spike_cycles` cycles (one weight row
of P lanes per cycle; the spike's token is taken in the last cycle of the spike before, so a spike
costs no cycle of its own) and each end-of-timestep token in TOKEN_ACCEPT_CYCLES.  The update
walks `update_steps` steps per timestep and then drains: UPDATE_OVERHEAD_CYCLES, the sum of its
components' latencies.  With two accumulator banks the update of timestep t runs beside the
scatter of t+1; with one they take turns.

LUTs (LUT + LUTRAM, Yosys synth_xilinx -family xc7): the `lut_features` terms, whose coefficients,
fit designs and held-out checks are engine_fit.json (`benchmarks/cost_model.py --fit` writes it;
the tests and docs/rtl.md read the same file), and the measured terms outside the fit.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

import numpy as np

from .artix7 import bram36_tiles
from .geometry import LayerGeometry, network_geometry, stream_tokens
from .layer_impl import Implementation
from .lif_step import lif_tables
from .host_protocol import MAX_PAYLOAD, WORD_BITS
from .sparse import sparse_candidate, sparse_choice
from .update_skips import dense_update_reason, update_work

# ---- latencies (the RTL is built to them) --------------------------------------------------------
RAM_READ_CYCLES = 1      # accumulator and state RAMs give their word the cycle after the address
LIF_LATENCY = 2          # LIFUpdate's register stages (rtl_gen.lif_update)
END_TOKEN_CYCLES = 1     # the update queues the end-of-timestep token the cycle after its last step drains
BANK_SWAP_CYCLES = 2     # the serializer empties its last word, then the engine swaps the banks and starts
UPDATE_OVERHEAD_CYCLES = RAM_READ_CYCLES + LIF_LATENCY + END_TOKEN_CYCLES + BANK_SWAP_CYCLES
TOKEN_ACCEPT_CYCLES = 1  # the cycle an end-of-timestep token is taken (a spike's overlaps the spike before)
START_CYCLES = 4         # start pulse to the first token taken, besides clearing the accumulators

# What each engine counts in a run (NetworkTop), as counts() counts it from the golden model: busy
# (cycles scattering or updating), scatter_steps (weight rows read, each read-modifying-writing an
# accumulator word, or one per side-by-side column), update_steps (update walk steps,
# geometry.group_phases: an accumulator word read, from the window's last word on a state word read
# and written by U LIF units), input_spikes and output_spikes (spike tokens taken and emitted, not
# end tokens).  busy is always there; the others are the activity counters.
ENGINE_COUNTERS = ("busy", "scatter_steps", "update_steps", "input_spikes", "output_spikes")


def engine_counters(activity: bool = True) -> tuple[str, ...]:
    """The counters of each engine: all of ENGINE_COUNTERS, or busy alone without activity counters."""
    return ENGINE_COUNTERS if activity else ENGINE_COUNTERS[:1]


# ---- the network's memories ----------------------------------------------------------------------
EDGE_FIFO_DEPTH = 512      # spike tokens the network's input and output FIFOs hold
SPIKE_QUEUE_DEPTH = 512    # spike masks a layer's update may queue before it waits (one BRAM18)
QUEUE_END_ENTRIES = 2      # a timestep's queue holds its masks, the end token and the one being read
SINGLE_BANK_BITS = 1 << 18  # auto: a layer whose two accumulator banks would exceed 256 Kbit gets one
HOST_BUFFER_TOKENS = 4096  # a board core's input and output token buffers (host_protocol.WORD_BITS words)

ENGINE_FIT_FILE = Path(__file__).with_name("engine_fit.json")


@cache
def engine_fit() -> dict:
    """The LUT model's data: {"coefficients": {name: LUTs}, "margin": factor, "points": [...]}
    (benchmarks/cost_model.py --fit writes it)."""
    return json.loads(ENGINE_FIT_FILE.read_text())


LUT_TERMS = ("network", "layer", "lane_bit", "layer_single", "lane_bit_single", "lane_bit_register", "unit_bit",
             "unit_level_bit", "unit_table_bit", "weight_kbit", "sparse_layer", "sparse_lane")


# A synaptic current's datapath (a second codec, leak and adder per LIF unit) as a share of a unit's
# LUTs: Yosys, a 64-32-10 W4 network with 16-level states at 4 lanes, 1,341 LUT+LUTRAM without and
# 1,742 with synaptic currents in both layers (+50 per unit at 9 membrane bits, 0.66 of unit_bit's 8.39).
SYNAPTIC_UNIT_SHARE = 0.66
# A recurrent layer's merge and one-timestep feedback FIFO (rtl_gen/recurrent_merge.py), outside the
# fit: Yosys, a 64-N-10 W4 network at 4 lanes with the hidden layer recurrent or not, +28 LUT+LUTRAM
# at N = 32 and +59 at N = 128 beyond what its wider accumulators already cost in the model.
RECURRENT_LAYER_LUTS, RECURRENT_NEURON_LUTS = 18.0, 0.32
# An event-driven update's skip (compiler/update_skips.py: the zero test over the group word, the
# steady table per unit, the 1-bit RAM, the walk's jump), outside the fit: Yosys, the same designs
# with and without it (the nine stored designs it applies to and the demo CSNN at 8:2,16:4,10:1),
# least squares of the difference over a part per layer and a part per lane and accumulator bit.
EVENT_LAYER_LUTS, EVENT_BIT_LUTS = 94.0, 0.19
# Kernel columns side by side (LayerImpl.columns; their RAMs' lane bits are the fit's lane_bit):
# the column tables, weight choice per RAM and the update's choice of RAM, outside the fit: Yosys,
# the demo CSNN with each conv's columns side by side or not (+644, +1,413, +2,068 LUT+LUTRAM, of
# which the lane bits' share leaves 136, 106 and 2 x 126 per layer), their mean per layer.  A
# window row read per phase (geometry.window_reads) adds, per lane and accumulator bit of each word
# beyond the first, its rotation, comparators and RAM address: Yosys, five designs with and without
# (the demo CSNN's conv 1 at 24:8, 24:4, 24:2: +185, +153, +181 at 8 x 6 bits; an 8-channel one at
# 24:8, 24:2: +270, +288 at 8 x 8 bits), least squares.
COLUMN_LAYER_LUTS, WINDOW_WORD_BIT_LUTS = 124.0, 4.0


def lut_features(layer: dict) -> dict[str, float]:
    """How much of each LUT_TERMS one layer has (their dot product with the coefficients is its LUTs;
    the network's term counts once per design), from its lanes, units, accumulator_bits,
    membrane_bits, levels (K of a level-coded state, else 0), weight_bits (the weight memory's),
    banks, sparse, synaptic, register, columns and tables (absent: False, 1, False).  Per unit:
    unit_level_bit is the codec's K-1 comparators and K-entry decode table of membrane_bits each;
    with tables (lif_step.lif_tables) unit_table_bit replaces both: a drive table, adder, compares.
    weight_kbit: block RAM cascades and address decoding; register accumulators have no adders, RAM
    or forwarding in the fabric, only the update's choice of U lanes of P (lane_bit_register)."""
    one, register, tables = layer["banks"] == 1, layer.get("register", False), layer.get("tables", False)
    lane_bits = layer["lanes"] * layer.get("columns", 1) * layer["accumulator_bits"]
    unit_bits = layer["units"] * layer["membrane_bits"] * (1 + SYNAPTIC_UNIT_SHARE if layer.get("synaptic") else 1)
    return {"layer": 0.0 if one else 1.0, "lane_bit": 0.0 if one or register else lane_bits,
            "layer_single": 1.0 if one else 0.0, "lane_bit_single": lane_bits if one else 0.0,
            "lane_bit_register": lane_bits if register else 0.0,
            "unit_bit": 0.0 if tables else unit_bits, "unit_level_bit": 0.0 if tables else layer["levels"] * unit_bits,
            "unit_table_bit": unit_bits if tables else 0.0, "weight_kbit": layer["weight_bits"] / 1024,
            "sparse_layer": 1.0 if layer["sparse"] else 0.0, "sparse_lane": layer["lanes"] if layer["sparse"] else 0.0}


def design_luts(layers: list[dict], coefficients: dict[str, float] | None = None) -> float:
    """The model's LUT + LUTRAM of a design whose layers are described as lut_features takes them
    (and the terms outside the fit: a recurrent layer's `recurrent_neurons`, absent: 0; an
    event-driven update's skip, `event`; side-by-side `columns`)."""
    c = coefficients or engine_fit()["coefficients"]
    feedback = sum(RECURRENT_LAYER_LUTS + RECURRENT_NEURON_LUTS * layer["recurrent_neurons"]
                   for layer in layers if layer.get("recurrent_neurons"))
    feedback += sum(EVENT_LAYER_LUTS + EVENT_BIT_LUTS * layer["lanes"] * layer["accumulator_bits"]
                    for layer in layers if layer.get("event"))
    feedback += sum(COLUMN_LAYER_LUTS + WINDOW_WORD_BIT_LUTS * (layer.get("window_reads", 1) - 1) * layer["lanes"] *
                    layer["accumulator_bits"] for layer in layers if layer.get("columns", 1) > 1)
    return c["network"] + feedback + sum(c[k] * v for layer in layers for k, v in lut_features(layer).items())


def fit_lut_coefficients(points: list[dict]) -> dict[str, float]:
    """Least relative squares of the LUT model over measured points ({"luts": N, "layers": [...]}),
    of what the terms outside the fit (recurrent feedback, event-driven skips) leave."""
    rows = np.array([[1.0] + [sum(lut_features(layer)[k] for layer in p["layers"]) for k in LUT_TERMS[1:]]
                     for p in points])
    luts = np.array([float(p["luts"]) for p in points])
    fitted = luts - np.array([design_luts(p["layers"], dict.fromkeys(LUT_TERMS, 0.0)) for p in points])
    coef, *_ = np.linalg.lstsq(rows / fitted[:, None], np.ones(len(points)), rcond=None)
    return {k: round(float(v), 2) for k, v in zip(LUT_TERMS, coef)}


@dataclass(frozen=True)
class Memory:
    """One RAM of the design: `count` copies of width x depth bits."""

    owner: str
    kind: str
    width: int
    depth: int
    count: int = 1
    bits = property(lambda self: self.count * self.width * self.depth)
    bram36 = property(lambda self: self.count * bram36_tiles(self.width, self.depth))


class EngineModel:
    """What one engine costs: its layer geometry (lanes, units, banks, weights: geo.impl) with its
    LIF (an ir.LIF)."""

    def __init__(self, geo: LayerGeometry, lif):
        self.geo, self.lif, self.banks = geo, lif, geo.impl.banks

    # ---- cycles ----
    @cached_property
    def spike_cycles(self) -> np.ndarray:
        """Scatter cycles of a spike of each input, int64 [c, h, w]: its weight rows, where a sparse
        tap without entry rows takes a cycle too, and at least 1 (the cycle its token is taken in)."""
        g = self.geo
        steps = g.spike_steps if g.sparse is None else g.tap_sum(np.maximum(g.sparse.row_lengths, 1))
        return np.maximum(steps, 1)

    @property
    def cycles_per_spike(self) -> int:
        """Scatter cycles of the costliest input spike."""
        return int(self.spike_cycles.max())

    @property
    def update_cycles(self) -> int:
        """Cycles of one timestep's update: its walk and UPDATE_OVERHEAD_CYCLES (at most, where the
        update skips groups at rest without input: event_driven)."""
        return self.geo.update_steps + UPDATE_OVERHEAD_CYCLES

    @cached_property
    def dense_update_reason(self) -> str | None:
        """Why the update visits every group at every timestep, or None (compiler/update_skips.py)."""
        return dense_update_reason(self.geo, self.lif)

    @property
    def event_driven(self) -> bool:
        """The update skips the groups at rest without input (compiler/update_skips.py)."""
        return self.dense_update_reason is None

    def per_input_sum(self, spikes: np.ndarray, cost: np.ndarray) -> np.ndarray:
        """The sum of `cost` (per input, [c, h, w], or [1] for a count) over the engine's input spikes
        [T, B, ...], per timestep and sample: int64 [T, B]."""
        g = self.geo
        x = spikes.reshape(spikes.shape[0], spikes.shape[1], g.c, g.h, g.w).astype(np.int64)
        return (x * np.asarray(cost, np.int64)[None, None]).sum(axis=(2, 3, 4))

    def scatter_cycles(self, spikes: np.ndarray) -> np.ndarray:
        """The scatter's cycles per timestep and sample, int64 [T, B]: its spikes' and the end token's."""
        return self.per_input_sum(spikes, self.spike_cycles) + TOKEN_ACCEPT_CYCLES

    def busy_bound(self, n_spikes: int, n_steps: int) -> int:
        """Upper bound on the cycles the engine is busy (scattering or updating) for n_spikes input
        spikes over n_steps timesteps, when the next layer takes its spikes as they come (an update
        waits for room in its spike queue only behind a slower next layer, whose work cycle_budget
        counts)."""
        return n_spikes * self.cycles_per_spike + n_steps * self.update_cycles

    def serial_cycles(self, scatter: float, n_steps: int, update: float | None = None) -> float:
        """Cycles of an inference whose scatter takes `scatter` cycles (end tokens included), the
        scatter and the updates in turn; update: a timestep's update cycles (default: update_cycles)."""
        return scatter + n_steps * (self.update_cycles if update is None else update)

    def inference_cycles(self, scatter: float, n_steps: int, update: float | None = None) -> float:
        """Cycles of the engine's inference alone (its input there when it wants it): two banks
        overlap the update of each timestep with the next scatter, the last update after; one bank
        takes turns.  update: a timestep's update cycles (default: update_cycles, every group)."""
        update = self.update_cycles if update is None else update
        if self.banks == 1:
            return self.serial_cycles(scatter, n_steps, update)
        return max(scatter, n_steps * update) + update

    # ---- counted work ----
    def counts(self, spikes_in: np.ndarray, spikes_out: np.ndarray,
               skipped: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """What the engine's activity counters (ENGINE_COUNTERS, all but busy) count, and its scatter
        and update cycles, per timestep and sample (int64 [T, B]), for its input spikes [T, B, ...],
        the spikes it emits (after its pool or crop) [T, B, ...] and, for an event-driven update, the
        groups it skips (update_skips.skipped_groups)."""
        n_t, n_b = spikes_in.shape[:2]
        steps = cycles = np.full((n_t, n_b), self.geo.update_steps, np.int64)
        if self.event_driven:
            if skipped is None:
                raise ValueError(f"{self.lif.name}: an event-driven update's counts need the groups it skips")
            steps, cycles = update_work(self.geo, skipped)
        return {"scatter_steps": self.per_input_sum(spikes_in, self.geo.spike_steps),
                "update_steps": steps, "update_cycles": cycles + UPDATE_OVERHEAD_CYCLES,
                "input_spikes": self.per_input_sum(spikes_in, np.ones(1, np.int64)),
                # a readout emits every neuron's state at every step
                "output_spikes": np.full((n_t, n_b), self.lif.size, np.int64) if self.lif.readout else
                spikes_out.reshape(n_t, n_b, -1).sum(axis=2).astype(np.int64),
                "scatter_cycles": self.scatter_cycles(spikes_in)}

    # ---- the weights ----
    @property
    def weights_line(self) -> str:
        """"sparse" or "dense", and why (the report's line)."""
        wb = self.geo.synapse.weight_bits
        if wb == 1:
            return "dense (binary weights have no zeros)"
        if self.geo.columns > 1:
            return f"dense (the kernel columns side by side: rows of {self.geo.kw} x {self.geo.lanes} weights)"
        rows = sparse_candidate(self.geo.synapse, self.geo.lanes)
        auto = sparse_choice(self.geo.synapse, self.geo.lanes) is not None  # what --weights auto takes
        dense_bits = self.geo.lanes * wb * self.geo.dense_depth
        cycles = lambda per_tap: self.geo.tap_sum(per_tap).mean()  # over the inputs
        costs = (f"{rows.bits:,} weight bits ({100 * rows.bits / dense_bits:.1f}% of dense"
                 + (f"; {len(rows.values)} distinct weights, {rows.code_bits}-bit codes" if rows.values else "") + "), "
                 f"{cycles(np.maximum(rows.row_lengths, 1)):.1f} scatter cycles per spike on average "
                 f"(dense: {cycles(self.geo.go):.1f})")
        if self.geo.sparse is not None:
            return f"sparse: {costs}" + ("" if auto else " (--weights sparse)")
        why = "--weights dense" if auto else \
            "fewer bits" if rows.bits >= dense_bits else "fewer scatter cycles"
        return f"dense ({why}): sparse would take {costs}"

    # ---- LUTs ----
    def lut_layer(self) -> dict:
        """This engine as lut_features describes a layer."""
        g = self.geo
        return {"lanes": g.lanes, "units": g.units, "accumulator_bits": g.accumulator_bits,
                "membrane_bits": self.lif.membrane_bits, "banks": self.banks, "sparse": g.sparse is not None,
                "levels": 0 if self.lif.levels is None else len(self.lif.levels), "weight_bits": g.weight_bits,
                "synaptic": self.lif.synaptic, "register": g.register_accumulators, "event": self.event_driven,
                "columns": g.columns, "window_reads": g.window_reads, "tables": lif_tables(self.lif) is not None,
                "recurrent_neurons": self.lif.size if getattr(g.synapse, "recurrent", False) else 0}

    @property
    def luts(self) -> float:
        """Estimated LUT + LUTRAM of the engine (without the network's part)."""
        return design_luts([self.lut_layer()]) - engine_fit()["coefficients"]["network"]

    # ---- memories ----
    @property
    def queue_depth(self) -> int:
        """Entries of the spike-mask queue: a whole timestep's masks when that is small, else
        SPIKE_QUEUE_DEPTH, and the update waits for room."""
        return min(self.geo.out_groups + QUEUE_END_ENTRIES, SPIKE_QUEUE_DEPTH)

    @property
    def queue_holds_a_timestep(self) -> bool:
        """The queue holds a whole timestep's masks: the update never waits for room."""
        return self.queue_depth == self.geo.out_groups + QUEUE_END_ENTRIES

    def memories(self, address_bits: int) -> list[Memory]:
        """The engine's RAMs (address_bits: the spike addresses'): rtl_gen/layer_engine.py's banks and
        tags, the update's states, table (two LIF units read one: lif_tables) and queue."""
        g, name, p = self.geo, self.lif.name, self.geo.lanes
        out = [Memory(name, "weights", g.weight_word_bits, g.weight_depth)]
        out += [Memory(name, "row starts", g.sparse.pointer_bits, len(g.sparse.row_start))] if g.sparse else []
        rams, width = (p, g.accumulator_bits) if g.sparse else (g.columns, p * g.accumulator_bits)  # a RAM per lane
        if g.tagged_banks:  # both banks in a RAM read at two addresses: a copy per port
            out += [Memory(name, "accumulators", width, g.banks_depth, 2 * rams),
                    Memory(name, "accumulator tags", 1, g.acc_depth, 2 * rams)]
        elif not g.register_accumulators:
            out.append(Memory(name, "accumulators", width, g.acc_depth, rams))
        if getattr(g.synapse, "recurrent", False):  # its own spikes of one timestep (rtl_gen/recurrent_merge.py)
            out.append(Memory(name, "feedback FIFO", address_bits + 1, self.lif.size + 1))
        if (tables := lif_tables(self.lif)) is not None:
            out.append(Memory(name, "LIF tables", tables.word_bits, len(tables.settle), -(-g.units // 2)))
        return out + [Memory(name, "states", g.units * self.lif.stored_bits, g.state_words),
                      Memory(name, "spike queue", address_bits + p + 1 + (p * self.lif.state_bits if self.lif.readout else 0),
                             self.queue_depth)]


# ---- the network ---------------------------------------------------------------------------------

def network_models(net, impl: Implementation) -> list[EngineModel]:
    """One EngineModel per engine of an ir.Network, in order."""
    return [EngineModel(geo, lif) for lif, geo in zip(net.lifs, network_geometry(net, impl))]


def network_luts(models: list[EngineModel]) -> float:
    """Estimated LUT + LUTRAM of a network's design."""
    return design_luts([m.lut_layer() for m in models])


def network_memories(net, impl: Implementation, board: bool = False) -> list[Memory]:
    """Every RAM of a network's design (and of its board core with board=True)."""
    token_bits = stream_tokens(net)[0].token_bits
    address_bits = stream_tokens(net)[0].address_bits
    out = [Memory("network", "input FIFO", token_bits, EDGE_FIFO_DEPTH),
           Memory("network", "output FIFO", token_bits, EDGE_FIFO_DEPTH)]
    for model in network_models(net, impl):
        out += model.memories(address_bits)
    if board:
        out += [Memory("board", "staging", WORD_BITS, MAX_PAYLOAD * 8 // WORD_BITS),
                Memory("board", "input tokens", WORD_BITS, HOST_BUFFER_TOKENS),
                Memory("board", "output tokens", WORD_BITS, HOST_BUFFER_TOKENS)]
    return out


def total_bram36(memories: list[Memory]) -> float:
    return sum(m.bram36 for m in memories)


def auto_single_bank(net, impl: Implementation) -> frozenset[str]:
    """The layers whose double-buffered accumulators would exceed SINGLE_BANK_BITS."""
    return frozenset(lif.name for lif, geo in zip(net.lifs, network_geometry(net, impl))
                     if 2 * geo.columns * geo.acc_depth * geo.lanes * geo.accumulator_bits > SINGLE_BANK_BITS)


def cycle_budget(net, impl: Implementation, n_tokens: int, n_steps: int) -> int:
    """Upper bound on the cycles from start to done for one sample of `n_tokens` input tokens over
    `n_steps` timesteps, every engine in turn (no overlap): the first layer scatters the input's
    spikes, a later one at most every neuron of the layer before at every step, each token taken in
    a cycle of its own, and the last one's every neuron (a readout's states) sent.  A board that
    has not answered RUN after this many cycles has failed."""
    models = network_models(net, impl)
    fan_in = [n_tokens] + [n_steps * int(np.prod(stage.out_shape)) for stage in net.stages[:-1]]
    work = sum(m.busy_bound(n, n_steps) + TOKEN_ACCEPT_CYCLES * (n + n_steps) for m, n in zip(models, fan_in))
    # the last engine's tokens, one per cycle (two for a readout's wide states on a board's host link)
    emitted = 2 * n_steps * (int(np.prod(net.stages[-1].out_shape)) + 1)
    return work + emitted + max(m.geo.acc_depth for m in models) + START_CYCLES


def timeline_cycles(models: list[EngineModel], counts: list[dict[str, np.ndarray]]) -> np.ndarray:
    """Cycles of each sample's inference (float [B]) from its per-timestep counts (EngineModel.counts),
    by the engines' schedule (docs/rtl.md): an engine's scatter of timestep t starts when its
    scatter of t-1 is done, a bank is free (the update of t-2 done with two banks, of t-1 with one)
    and the engine before has started emitting t; it ends no earlier than the engine before has
    emitted its last spike of t.  Its update of t starts when that scatter and its update of t-1 are
    done, and takes update_cycles; the serializer sends one spike address per cycle, then the end token."""
    n_t, n_b = counts[0]["scatter_cycles"].shape
    total = np.zeros(n_b)
    for b in range(n_b):
        prev_start, prev_sent = np.zeros(n_t), np.zeros(n_t)  # the engine before: its updates' start, last spike out
        for i, (model, c) in enumerate(zip(models, counts)):
            starts, ends, sent = np.zeros(n_t), np.zeros(n_t), np.zeros(n_t)
            scatter_end = 0.0
            for t in range(n_t):
                bank_free = ends[t - model.banks] if t >= model.banks else 0.0
                begin = max(scatter_end, bank_free, prev_start[t] if i else 0.0)
                scatter_end = max(begin + c["scatter_cycles"][t, b], prev_sent[t] + TOKEN_ACCEPT_CYCLES if i else 0.0)
                starts[t] = max(scatter_end, ends[t - 1] if t else 0.0)
                ends[t] = starts[t] + c["update_cycles"][t, b]
                sent[t] = max(ends[t], starts[t] + UPDATE_OVERHEAD_CYCLES + c["output_spikes"][t, b] + END_TOKEN_CYCLES,
                              sent[t - 1] if t else 0.0)
            prev_start, prev_sent = starts, sent
        total[b] = prev_sent[-1] + max(m.geo.acc_depth for m in models) + START_CYCLES
    return total

