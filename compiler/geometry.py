"""Hardware geometry: the one place where a layer's shapes, neuron groups, kernel taps, fan-out,
RAM widths and depths, spike-address widths and cycle costs are computed.  The compiler (shapes,
reports), the RTL generator (memories, counters, tables), the simulators (state read-back) and
the runtime (timeouts) all read them from here.

A synapse + LIF layer runs on an event-driven engine with P lanes (docs/rtl.md).  Dense is the
1x1 case of a convolution: C_in = inputs, H = W = 1, C_out = outputs.  Neurons are grouped P output
channels at a time: group (og, pixel) holds neurons (og*P + lane, pixel) for lane < P, so there
are ceil(C_out / P) * H_out * W_out groups, each one word of every per-neuron RAM.

Pools (docs/rtl.md): a max pool of k1 x k1 currents trims the accumulators to whole windows and
gives the LIF one neuron per window (its state RAM has go * H_out/k1 * W_out/k1 groups); a max pool
of k2 x k2 spikes, or a crop, shapes what the engine emits.  The update walks the LIF's neurons
window by window, and each neuron's current window, so both pools are running maxima and ORs.

Sparse weights: compiler/sparse.py; shapes and widths below the IR: compiler/shapes.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .errors import SnncError
from .host_protocol import MAX_PAYLOAD
from .shapes import conv_out_shape, pool_out_shape
from .sparse import SparseRows, sparse_candidate, sparse_choice
from .tokens import SpikeTokens


def index_range(n: int) -> range:
    """The values of an index or address into n things, as an RTL signal shape: range(max(n, 2)),
    so it has at least 1 bit (Verilog has no zero-width wires)."""
    return range(max(int(n), 2))


def _taps(y: int, size_out: int, kernel: int, stride: int, padding: int) -> tuple[tuple[int, int], ...]:
    """(output coordinate, kernel offset) pairs that input coordinate y feeds along one axis."""
    return tuple((o, y + padding - o * stride) for o in range(size_out) if 0 <= y + padding - o * stride < kernel)


class LayerGeometry:
    """The integer layout of one synapse (ir.Dense or ir.Conv2d) on an engine of `lanes` lanes.

    c, h, w: input; kh, kw, stride, pad: kernel; co, ho, wo: output; lanes (at most co);
    go = ceil(co / lanes) channel groups; groups = go * ho * wo neuron groups (RAM words).
    """

    def __init__(self, synapse, lanes: int = 1, current_pool: int = 1, spike_pool: int = 1,
                 out_hw: tuple[int, int] | None = None, units: int | None = None):
        """current_pool: k1 of a max pool of the currents (1: none); spike_pool: k2 of a max pool of
        the spikes (1: none); out_hw: the emitted spike grid (default: whole k2 windows of the LIF);
        units: LIF update units (default: one per lane; at most the lanes, a divisor of them)."""
        self.synapse = synapse
        if synapse.weight.ndim == 2:  # Dense
            (self.c, self.h, self.w), (self.kh, self.kw), self.stride, self.pad = (synapse.weight.shape[1], 1, 1), (1, 1), 1, 0
        else:
            (self.c, self.h, self.w), (self.kh, self.kw) = synapse.in_shape, synapse.weight.shape[2:]
            self.stride, self.pad = synapse.stride, synapse.padding
        self.co, ho, wo = conv_out_shape(synapse.weight.shape[0], (self.c, self.h, self.w),
                                         (self.kh, self.kw), self.stride, self.pad)
        self.k1, self.k2 = current_pool, spike_pool
        _, self.lif_h, self.lif_w = pool_out_shape((self.co, ho, wo), self.k1)  # the LIF's neuron grid
        self.ho, self.wo = self.lif_h * self.k1, self.lif_w * self.k1  # the accumulators: whole current windows
        self.out_h, self.out_w = out_hw or pool_out_shape((self.co, self.lif_h, self.lif_w), self.k2)[1:]  # emitted
        self.lanes = max(1, min(int(lanes), self.co))
        # the update side: U LIF datapaths take a group word's P lanes in P/U parts, one per cycle
        self.units = max(d for d in range(1, self.lanes + 1) if self.lanes % d == 0 and d <= (units or self.lanes))
        self.parts = self.lanes // self.units
        self.go = -(-self.co // self.lanes)
        self.pixels = self.ho * self.wo
        self.groups = self.go * self.pixels  # accumulator words
        self.lif_pixels = self.lif_h * self.lif_w
        self.state_groups = self.go * self.lif_pixels  # neuron groups of P lanes
        self.state_words = self.state_groups * self.parts  # state RAM words: a group's P/U parts of U lanes
        self.out_groups = self.go * self.out_h * self.out_w  # most spike masks emitted per timestep
        # the update's walk: every LIF neuron in k2 windows (edge windows padded), each over its k1 window
        self.walk_h, self.walk_w = -(-self.lif_h // self.k2) * self.k2, -(-self.lif_w // self.k2) * self.k2
        self.update_steps = self.go * self.walk_h * self.walk_w * self.k1 * self.k1 * self.parts
        self.inputs = self.c * self.h * self.w
        self.dense_depth = self.c * self.kh * self.kw * self.go  # rows of dense weights (weight_rows)

    @property
    def sparse(self) -> "SparseRows | None":
        """The weights as SparseRows, or None (dense): see sparse_choice."""
        return sparse_choice(self.synapse, self.lanes)

    @property
    def weight_depth(self) -> int:
        """Rows of the weight RAM."""
        return self.sparse.rows if self.sparse else self.dense_depth

    @property
    def weight_bits(self) -> int:
        """Weight bits stored: the dense weight RAM, or the sparse entries, row starts and code table."""
        return self.sparse.bits if self.sparse else self.weight_word_bits * self.dense_depth

    @property
    def weight_word_bits(self) -> int:
        """Width of a weight RAM row: P weights, or P (delta, code) entries when sparse."""
        return self.lanes * (self.sparse.entry_bits if self.sparse else self.synapse.weight_bits)

    @property
    def weight_format(self) -> str:
        """"sparse" or "dense", and why (the report's line)."""
        wb = self.synapse.weight_bits
        if wb == 1:
            return "dense (binary weights have no zeros)"
        fmt, rows = self.synapse.weight_format, sparse_candidate(self.synapse, self.lanes)
        dense_bits = self.lanes * wb * self.dense_depth
        cycles = lambda per_tap: self.tap_sum(per_tap).mean()  # over the inputs
        costs = (f"{rows.bits:,} weight bits ({100 * rows.bits / dense_bits:.1f}% of dense"
                 + (f"; {len(rows.values)} distinct weights, {rows.code_bits}-bit codes" if rows.values else "") + "), "
                 f"{cycles(np.maximum(rows.row_lengths, 1)):.1f} scatter cycles per spike on average "
                 f"(dense: {cycles(self.go):.1f})")
        if self.sparse is not None:
            return f"sparse: {costs}" + (" (--weights sparse)" if fmt == "sparse" else "")
        why = "--weights dense" if fmt == "dense" else \
            "fewer bits" if rows.bits >= dense_bits else "fewer scatter cycles"
        return f"dense ({why}): sparse would take {costs}"

    def tap_sum(self, per_tap) -> np.ndarray:
        """For a spike of each input, int64 [c, h, w]: the sum over the kernel taps it feeds of a
        count per tap (c, ky, kx), a scalar or an array [c*kh*kw] (a dense layer: the input's count)."""
        shape, per_tap = (self.c, self.kh, self.kw), np.asarray(per_tap, np.int64)
        per_tap = np.broadcast_to(per_tap, shape) if per_tap.ndim == 0 else per_tap.reshape(shape)
        rows = np.zeros((self.h, self.kh), np.int64)  # rows[y, ky]: 1 where input row y feeds kernel row ky
        cols = np.zeros((self.w, self.kw), np.int64)
        for y, taps in enumerate(self.row_taps):
            rows[y, [k for _, k in taps]] = 1
        for x, taps in enumerate(self.col_taps):
            cols[x, [k for _, k in taps]] = 1
        return np.einsum("ckl,yk,xl->cyx", per_tap, rows, cols)

    @property
    def spike_steps(self) -> np.ndarray:
        """Weight rows read (scatter steps) for a spike of each input, int64 [c, h, w]: over the kernel
        taps it feeds, channel groups each, or the tap's sparse entry rows."""
        return self.tap_sum(self.go if self.sparse is None else self.sparse.row_lengths)

    @property
    def spike_cycles(self) -> np.ndarray:
        """Scatter cycles of a spike of each input, int64 [c, h, w]: its steps, where a sparse tap
        without entry rows takes a cycle too, and at least 1 (a spike with none still takes the
        cycle its token is taken in)."""
        steps = self.spike_steps if self.sparse is None else self.tap_sum(np.maximum(self.sparse.row_lengths, 1))
        return np.maximum(steps, 1)

    @classmethod
    def of_stage(cls, stage, lanes: int = 1, units: int | None = None) -> "LayerGeometry":
        """The geometry of an ir.Stage (synapse, pools, LIF) on `lanes` lanes and `units` update units."""
        pool, after = stage.current_pool, stage.spike_stage
        k2 = after.kernel if after is not None and hasattr(after, "kernel") else 1
        out_hw = tuple(after.out_shape[1:]) if after is not None else None
        if out_hw is None and len(stage.lif.shape) == 3:
            out_hw = tuple(stage.lif.shape[1:])
        return cls(stage.synapse, lanes, pool.kernel if pool else 1, k2, out_hw, units)

    @cached_property
    def row_taps(self) -> tuple[tuple[tuple[int, int], ...], ...]:
        """For each input row y: the (output row, kernel row) pairs it feeds."""
        return tuple(_taps(y, self.ho, self.kh, self.stride, self.pad) for y in range(self.h))

    @cached_property
    def col_taps(self) -> tuple[tuple[tuple[int, int], ...], ...]:
        return tuple(_taps(x, self.wo, self.kw, self.stride, self.pad) for x in range(self.w))

    max_row_taps = property(lambda self: max(1, max(len(t) for t in self.row_taps)))
    max_col_taps = property(lambda self: max(1, max(len(t) for t in self.col_taps)))

    @property
    def fan_out(self) -> int:
        """Most currents one input spike touches (the event-driven work of one spike)."""
        return self.co * max(len(t) for t in self.row_taps) * max(len(t) for t in self.col_taps)

    @property
    def update_cycles(self) -> int:
        """Cycles of one timestep's update: its walk (update_steps) and UPDATE_OVERHEAD_CYCLES.  Every
        cycle model (the report, the busy bound, the schedule, the cost model, the default estimate)
        takes it from here."""
        return self.update_steps + UPDATE_OVERHEAD_CYCLES

    @property
    def cycles_per_spike(self) -> int:
        """Scatter cycles of the costliest input spike: one weight row of P lanes per cycle."""
        return int(self.spike_cycles.max())

    @cached_property
    def weight_rows(self) -> np.ndarray:
        """The weight RAM's rows, int64 [c*kh*kw*go, lanes]: row ((c*kh + ky)*kw + kx)*go + og holds
        output channels og*P .. og*P+P-1 (zeros past co)."""
        wgt = self.synapse.weight
        wgt = wgt[:, :, None, None] if wgt.ndim == 2 else wgt
        padded = np.zeros((self.go * self.lanes, self.c, self.kh, self.kw), np.int64)
        padded[: self.co] = wgt
        return padded.reshape(self.go, self.lanes, self.c, self.kh, self.kw).transpose(2, 3, 4, 0, 1) \
            .reshape(-1, self.lanes)

    @property
    def accumulator_bits(self) -> int:
        """Width of one raw accumulator (unshifted, bias-free weight sum), proven by size_registers."""
        return self.synapse.accumulator_bits

    def state_neuron_index(self, word: int, unit: int) -> int | None:
        """The flat C-order index of the LIF neuron in (state RAM word, update unit), None for padding."""
        group, part = divmod(word, self.parts)
        return self.neuron_index(group, part * self.units + unit)

    def neuron_index(self, group: int, lane: int) -> int | None:
        """The flat C-order index of the LIF neuron in (state group, lane), None for a padding lane."""
        og, pixel = divmod(group, self.lif_pixels)
        channel = og * self.lanes + lane
        return channel * self.lif_pixels + pixel if channel < self.co else None


# ---- the network ---------------------------------------------------------------------------------

EDGE_FIFO_DEPTH = 512  # spike tokens the network's input and output FIFOs hold
STEP_BITS = 16         # a run's timestep count (and so every output spike count) fits 16 bits
CYCLE_BITS = 32        # cycle counters saturate at 2**32 - 1 (43 s at 100 MHz) rather than wrap
# What each engine counts during a run (NetworkTop), as the energy model counts it from the golden
# model (snnc.energy): busy, cycles scattering or updating; scatter_steps, weight rows read (each an
# accumulator read-modify-write); update_steps, steps of the update walk (an accumulator word read
# and cleared, a state word read and written, U LIF units); input_spikes and output_spikes, spike
# tokens taken and emitted (not the end-of-timestep ones).  busy is always there; the others are
# the activity counters (a board build drops them: nothing reads them there).
ENGINE_COUNTERS = ("busy", "scatter_steps", "update_steps", "input_spikes", "output_spikes")


def engine_counters(activity: bool = True) -> tuple[str, ...]:
    """The counters of each engine: all of ENGINE_COUNTERS, or busy alone without activity counters."""
    return ENGINE_COUNTERS if activity else ENGINE_COUNTERS[:1]


LaneSpec = int | tuple[int, int]  # P scatter lanes (with P update units), or (P, U)
Lanes = int | tuple[LaneSpec, ...]  # one spec for every layer (an int, or a 1-tuple), or one per layer


def lane_spec(spec) -> tuple[int, int] | None:
    """(lanes, units) of one layer's spec, None when it is not a valid P or (P, U)."""
    is_count = lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1
    if is_count(spec):
        return spec, spec
    if isinstance(spec, tuple) and len(spec) == 2 and all(map(is_count, spec)) and spec[1] <= spec[0]:
        return spec
    return None


def check_lanes(lanes, where: str = "--lanes") -> Lanes:
    """`lanes` in its one form, a count of at least 1 or a non-empty tuple of per-layer specs P or
    (P, U) with U <= P (JSON's lists become tuples); SnncError naming `where` otherwise.  Whether the
    count of specs fits the network is layer_lanes' question."""
    as_tuple = lambda v: tuple(as_tuple(p) for p in v) if isinstance(v, list) else v
    checked = as_tuple(lanes)
    specs = list(checked) if isinstance(checked, tuple) else [checked]
    if not specs or any(lane_spec(p) is None for p in specs):
        raise SnncError(f"{where} must be a count of at least 1, or one per layer, each P or P:U with 1 <= U <= P; "
                        f"got {lanes!r}")
    return checked


def parse_lanes(text: str) -> Lanes | str:
    """The command line's spelling: "4", "16,2", "8:2,4" or "auto"; ValueError when it is none of them."""
    if text == "auto":
        return text
    specs = tuple(tuple(map(int, p.split(":"))) if ":" in p else int(p) for p in text.split(","))
    return specs[0] if len(specs) == 1 and isinstance(specs[0], int) else specs


def lanes_text(lanes: Lanes) -> str:
    """`lanes` as the command line spells it: 4, 16,2 or 8:2,4 (pairs as tuples, or as JSON's lists)."""
    spell = lambda p: f"{p[0]}:{p[1]}" if isinstance(p, (tuple, list)) else str(p)
    return spell(lanes) if isinstance(lanes, int) else ",".join(map(spell, lanes))


def layer_lanes(net, lanes: Lanes) -> list[tuple[int, int]]:
    """The requested (lanes, update units) of each layer (an engine uses at most its output
    channels, and units that divide its lanes)."""
    per_layer = [lanes] if isinstance(lanes, int) else list(lanes)
    per_layer = per_layer * len(net.lifs) if len(per_layer) == 1 else per_layer
    specs = [lane_spec(p) for p in per_layer]
    if len(specs) != len(net.lifs) or None in specs:
        raise SnncError(f"lanes {lanes}: give P or P:U (P lanes, U <= P update units, each at least 1) for every "
                        f"layer, or one per layer ({len(net.lifs)} layers: {', '.join(lif.name for lif in net.lifs)})")
    return specs


def network_geometry(net, lanes: Lanes) -> list[LayerGeometry]:
    """One LayerGeometry per LIF (engine) of an ir.Network, in order."""
    return [LayerGeometry.of_stage(stage, p, u) for stage, (p, u) in zip(net.stages, layer_lanes(net, lanes))]


def stream_tokens(net) -> list[SpikeTokens]:
    """The spike-token encoding of every stream inside a network's design, in order: the input
    (into the first engine), then each engine's spikes, after its pool or crop (into the next
    engine; the last one out of the network).  All share one address width, the widest packed
    address among them."""
    shapes = [tuple(net.input_shape)] + [stage.out_shape for stage in net.stages]
    width = max(SpikeTokens.for_shape(s).address_bits for s in shapes)
    return [SpikeTokens.for_shape(s, width) for s in shapes]


# ---- memories ------------------------------------------------------------------------------------
# Every RAM of a design, with its width and depth, so the report, the board-fit check and the RTL
# agree.  Tiles are counted as Vivado and Yosys map a width x depth onto Artix-7 block RAM: the
# cheapest of the RAMB18 (16K x 1 ... 512 x 36) and RAMB36 (32K x 1 ... 512 x 72) aspect ratios;
# memories under DISTRIBUTED_BITS go to LUT RAM instead.

SPIKE_QUEUE_DEPTH = 512      # spike masks a layer's update may queue before it waits (one BRAM18)
SINGLE_BANK_BITS = 1 << 18   # auto: a layer whose two accumulator banks would exceed 256 Kbit gets one
DISTRIBUTED_BITS = 1024
BRAM18_SHAPES = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36))
BRAM36_SHAPES = ((32768, 1), (16384, 2), (8192, 4), (4096, 9), (2048, 18), (1024, 36), (512, 72))
HOST_BUFFER_TOKENS = 4096    # a board core's input and output token buffers (16-bit words)


def spike_queue_depth(geo: LayerGeometry) -> int:
    """Entries of a layer's spike-mask queue: a whole timestep's masks (plus its end token) when
    that is small, else SPIKE_QUEUE_DEPTH, and the update waits for room."""
    return min(geo.out_groups + 2, SPIKE_QUEUE_DEPTH)


def bram36_tiles(width: int, depth: int) -> float:
    """Block RAM of a width x depth memory in RAMB36 units (a RAMB18 is half), 0 for LUT RAM."""
    if width * depth < DISTRIBUTED_BITS:
        return 0.0
    cost = lambda shapes: min(-(-depth // d) * -(-width // w) for d, w in shapes)
    return min(cost(BRAM18_SHAPES) / 2, float(cost(BRAM36_SHAPES)))


@dataclass(frozen=True)
class Memory:
    """One RAM of the design: `count` copies of width x depth bits."""

    owner: str
    kind: str
    width: int
    depth: int
    count: int = 1

    @property
    def bits(self) -> int:
        return self.count * self.width * self.depth

    @property
    def bram36(self) -> float:
        return self.count * bram36_tiles(self.width, self.depth)


def network_memories(net, lanes: Lanes, single_bank: frozenset[str] = frozenset(), board: bool = False) -> list[Memory]:
    """Every RAM of a network's design (and of its board core with board=True).  single_bank: the
    LIF names whose layer keeps one accumulator bank instead of two."""
    tokens = stream_tokens(net)
    token_bits = tokens[0].token_bits
    out = [Memory("network", "input FIFO", token_bits, EDGE_FIFO_DEPTH),
           Memory("network", "output FIFO", token_bits, EDGE_FIFO_DEPTH)]
    for lif, geo in zip(net.lifs, network_geometry(net, lanes)):
        p, banks = geo.lanes, 1 if lif.name in single_bank else 2
        out.append(Memory(lif.name, "weights", geo.weight_word_bits, geo.weight_depth))
        if geo.sparse is None:
            out.append(Memory(lif.name, "accumulators", p * geo.accumulator_bits, geo.groups, banks))
        else:  # each lane walks its own channel groups: one accumulator RAM per lane and bank
            out += [Memory(lif.name, "row starts", geo.sparse.pointer_bits, len(geo.sparse.row_start)),
                    Memory(lif.name, "accumulators", geo.accumulator_bits, geo.groups, banks * p)]
        out += [Memory(lif.name, "states", geo.units * lif.state_bits, geo.state_words),
                Memory(lif.name, "spike queue", tokens[0].address_bits + p + 1, spike_queue_depth(geo))]
    if board:
        out += [Memory("board", "staging", 16, MAX_PAYLOAD // 2), Memory("board", "input tokens", 16, HOST_BUFFER_TOKENS),
                Memory("board", "output tokens", 16, HOST_BUFFER_TOKENS)]
    return out


def auto_single_bank(net, lanes: Lanes) -> frozenset[str]:
    """The layers whose double-buffered accumulators would exceed SINGLE_BANK_BITS."""
    return frozenset(lif.name for lif, geo in zip(net.lifs, network_geometry(net, lanes))
                     if 2 * geo.groups * geo.lanes * geo.accumulator_bits > SINGLE_BANK_BITS)


# ---- cycles --------------------------------------------------------------------------------------
# What the engine spends (docs/rtl.md): each input spike takes one cycle to be accepted and
# `cycles_per_spike` cycles of scatter; each timestep's update takes one cycle per group, plus the
# LIF pipeline, the serializer's end-of-timestep token and the bank hand-over.

TOKEN_ACCEPT_CYCLES = 1      # the cycle an input token (spike or end of timestep) is taken
UPDATE_OVERHEAD_CYCLES = 8   # update pipeline fill (memory + LIF latency), drain, bank swap
START_CYCLES = 4             # start pulse to the first token taken, besides clearing the accumulators


def check_timesteps(n_steps: int) -> None:
    """A run's length must fit the design's timestep counter (STEP_BITS)."""
    if not 1 <= n_steps < 1 << STEP_BITS:
        raise SnncError(f"{n_steps} timesteps: a run takes 1 to {(1 << STEP_BITS) - 1} (split longer inputs)")


def layer_busy_bound(geo: LayerGeometry, n_spikes: int, n_steps: int) -> int:
    """Upper bound on the cycles one engine is busy (scattering or updating) for n_spikes input
    spikes over n_steps timesteps, when the next layer takes its spikes as they come (an update
    waits for room in its spike queue only behind a slower next layer, whose work cycle_budget
    counts)."""
    return n_spikes * geo.cycles_per_spike + n_steps * geo.update_cycles


def cycle_budget(net, lanes: Lanes, n_tokens: int, n_steps: int) -> int:
    """Upper bound on the cycles from start to done for one sample of `n_tokens` input tokens
    over `n_steps` timesteps, every engine working in turn (no overlap): the first layer scatters
    the input's spikes, a later one at most every neuron of the layer before at every step.
    A board that has not answered RUN after this many cycles has failed."""
    geos = network_geometry(net, lanes)
    fan_in = [n_tokens] + [n_steps * int(np.prod(stage.out_shape)) for stage in net.stages[:-1]]
    work = sum(layer_busy_bound(g, n, n_steps) + TOKEN_ACCEPT_CYCLES * (n + n_steps) for g, n in zip(geos, fan_in))
    return work + max(g.groups for g in geos) + START_CYCLES
