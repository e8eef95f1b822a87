"""Hardware geometry: the one place where a layer's layout on its engine is computed: neuron
groups, kernel taps, fan-out, weight rows, RAM widths and depths, the update's walk, spike-address
widths.  The RTL generator (memories, counters, tables), the engine model (compiler/engine_model.py:
cycles, LUTs, RAMs, counted work) and the simulators (state read-back) read them from here.

A synapse + LIF layer runs on an event-driven engine with P lanes (docs/rtl.md).  Dense is the
1x1 case of a convolution: C_in = inputs, H = W = 1, C_out = outputs.  Neurons are grouped P output
channels at a time: group (og, pixel) holds neurons (og*P + lane, pixel) for lane < P, so there
are ceil(C_out / P) * H_out * W_out groups, each one word of every per-neuron RAM.

Pools (docs/rtl.md): a max pool of k1 x k1 currents trims the accumulators to whole windows and
gives the LIF one neuron per window (its state RAM has go * H_out/k1 * W_out/k1 groups); a max pool
of k2 x k2 spikes, or a crop, shapes what the engine emits.  The update walks the LIF's neurons
window by window, and each neuron's current window, so both pools are running maxima and ORs.

Sparse weights: compiler/sparse.py; shapes and widths below the IR: compiler/shapes.py; each
layer's lanes, units, banks and weight storage: compiler/layer_impl.py.
"""
from __future__ import annotations

from functools import cached_property

import numpy as np

from . import ir
from .artix7 import DSP_ALU_BITS, dsp_slices
from .errors import SnncError
from .shapes import axis_taps, conv_out_shape, pool_out_shape
from .layer_impl import Implementation, LayerImpl
from .sparse import SparseRows, sparse_candidate
from .tokens import MembraneTokens, SpikeTokens


def index_range(n: int) -> range:
    """The values of an index or address into n things, as an RTL signal shape: range(max(n, 2)),
    so it has at least 1 bit (Verilog has no zero-width wires)."""
    return range(max(int(n), 2))


class LayerGeometry:
    """The integer layout of one synapse (ir.Dense or ir.Conv2d) on an engine built as `impl`.

    c, h, w: input; kh, kw, stride, pad: kernel; co, ho, wo: output; lanes, units: impl's;
    go = ceil(co / lanes) channel groups; groups = go * ho * wo neuron groups (RAM words).
    """

    def __init__(self, synapse: ir.Dense | ir.Conv2d, impl: LayerImpl = LayerImpl(), current_pool: int = 1,
                 spike_pool: int = 1, out_hw: tuple[int, int] | None = None):
        """impl: the engine (LayerImpl.of the synapse); current_pool: k1 of a max pool of the
        currents (1: none); spike_pool: k2 of a max pool of the spikes (1: none); out_hw: the
        emitted spike grid (default: whole k2 windows of the LIF)."""
        self.synapse, self.impl = synapse, impl
        if isinstance(synapse, ir.Dense):
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
        if not 1 <= impl.lanes <= self.co or impl.lanes % impl.units:
            raise SnncError(f"{synapse.name}: {impl} is no engine of {self.co} output channels (LayerImpl.of)")
        # the update side: U LIF datapaths take a group word's P lanes in P/U parts, one per cycle
        self.lanes, self.units = impl.lanes, impl.units
        self.parts = self.lanes // self.units
        self.go = -(-self.co // self.lanes)
        self.pixels = self.ho * self.wo
        self.groups = self.go * self.pixels  # neuron groups of the accumulators (P lanes each)
        # side-by-side columns (impl.columns): output column ox's groups live in accumulator RAM
        # ox mod columns, word (og*ho + oy)*row_words + ox // columns; one RAM of every group otherwise
        self.columns = impl.columns
        if self.columns > 1 and (self.columns < self.max_col_taps or self.lanes < self.co):
            raise SnncError(f"{synapse.name}: {impl} is no engine of {self.co} output channels "
                            f"({self.max_col_taps} column taps) (LayerImpl.of)")
        self.row_words = -(-self.wo // self.columns)
        self.acc_depth = self.go * self.ho * self.row_words  # words of each accumulator RAM (a bank's)
        # both banks in one RAM, the bank as the address's top bit (rtl_gen/layer_engine.py)
        self.banks_depth = 2 << (max(self.acc_depth, 2) - 1).bit_length()
        self.lif_pixels = self.lif_h * self.lif_w
        self.state_groups = self.go * self.lif_pixels  # neuron groups of P lanes
        self.state_words = self.state_groups * self.parts  # state RAM words: a group's P/U parts of U lanes
        self.out_groups = self.go * self.out_h * self.out_w  # most spike masks emitted per timestep
        # the update's walk: every LIF neuron group in k2 windows (edge windows padded), each in
        # phases that read its k1 x k1 currents once and step its P/U parts, the two overlapping in
        # the phase that reads the last current (rtl_gen/update_walk.py).  With the columns side by
        # side a window's k1 consecutive output columns lie in k1 distinct RAMs (k1 <= columns): a
        # phase reads a window row, each RAM at its own word; else a phase reads one current
        self.window_reads = self.k1 if 1 < self.k1 <= self.columns else 1  # words read per phase
        self.window_phases = self.k1 * self.k1 // self.window_reads
        self.walk_h, self.walk_w = -(-self.lif_h // self.k2) * self.k2, -(-self.lif_w // self.k2) * self.k2
        self.group_phases = self.window_phases + self.parts - 1
        self.walked_groups = self.go * self.walk_h * self.walk_w
        self.update_steps = self.walked_groups * self.group_phases
        self.inputs = self.c * self.h * self.w
        self.row_kw = self.kw if self.columns > 1 else 1  # kernel columns in one weight row
        self.dense_depth = self.c * self.kh * self.kw // self.row_kw * self.go  # rows of dense weights (weight_rows)
        # One group word (a dense layer with a lane per output) double-buffered: its accumulators are
        # registers, added into by DSP48E1 slices and copied to the update at the swap, not a RAM
        # (rtl_gen/simd_accumulator.py; docs/rtl.md, "Register accumulators")
        self.register_accumulators = self.groups == 1 and impl.banks == 2 and impl.weights == "dense" and \
            self.accumulator_bits <= DSP_ALU_BITS
        # two banks in RAM: a tag bit per word, which the update clears in place of the word
        self.tagged_banks = impl.banks == 2 and not self.register_accumulators

    @property
    def dsp_slices(self) -> int:
        """DSP48E1 slices of the engine: its register accumulators' adders, else none."""
        return dsp_slices(self.lanes, self.accumulator_bits) if self.register_accumulators else 0

    @property
    def sparse(self) -> "SparseRows | None":
        """The weights as SparseRows (impl.weights "sparse"), or None (dense)."""
        return sparse_candidate(self.synapse, self.lanes) if self.impl.weights == "sparse" else None

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
        return self.lanes * (self.sparse.entry_bits if self.sparse else self.row_kw * self.synapse.weight_bits)

    def tap_sum(self, per_tap, side_by_side: bool = False) -> np.ndarray:
        """For a spike of each input, int64 [c, h, w]: the sum over the kernel taps it feeds of a
        count per tap (c, ky, kx), a scalar or an array [c*kh*kw] (a dense layer: the input's count);
        side_by_side: over its kernel rows, each counted once for all its columns (the count of
        column 0), where it feeds any."""
        shape, per_tap = (self.c, self.kh, self.kw), np.asarray(per_tap, np.int64)
        per_tap = np.broadcast_to(per_tap, shape) if per_tap.ndim == 0 else per_tap.reshape(shape)
        rows = np.zeros((self.h, self.kh), np.int64)  # rows[y, ky]: 1 where input row y feeds kernel row ky
        cols = np.zeros((self.w, self.kw), np.int64)
        for y, taps in enumerate(self.row_taps):
            rows[y, [k for _, k in taps]] = 1
        for x, taps in enumerate(self.col_taps):
            cols[x, 0 if side_by_side and taps else [k for _, k in taps]] = 1
        return np.einsum("ckl,yk,xl->cyx", per_tap, rows, cols)

    @property
    def spike_steps(self) -> np.ndarray:
        """Weight rows read (scatter steps) for a spike of each input, int64 [c, h, w]: over the kernel
        taps it feeds (or its kernel rows, the columns side by side), channel groups each, or the
        tap's sparse entry rows."""
        return self.tap_sum(self.go if self.sparse is None else self.sparse.row_lengths, self.columns > 1)

    @cached_property
    def words_per_step(self) -> float:
        """Accumulator words a scatter step adds into, the mean over the inputs: 1, or with the
        columns side by side the column taps of a kernel row (fewer at the edges)."""
        if self.columns == 1:
            return 1.0
        return float(self.tap_sum(1).sum() / self.tap_sum(1, True).sum())

    def acc_column(self, ox: int) -> tuple[int, int]:
        """(accumulator RAM, column within its row of row_words words) of output column ox."""
        return ox % self.columns, ox // self.columns

    def acc_address(self, og: int, oy: int, ox: int) -> tuple[int, int]:
        """(accumulator RAM, word) of group (og, oy, ox)."""
        ram, column = self.acc_column(ox)
        return ram, (og * self.ho + oy) * self.row_words + column

    @classmethod
    def of_stage(cls, stage: ir.Stage, impl: LayerImpl = LayerImpl()) -> "LayerGeometry":
        """The geometry of an ir.Stage (synapse, pools, LIF) on an engine built as `impl`."""
        pool, after = stage.current_pool, stage.spike_stage
        k2 = after.kernel if isinstance(after, ir.MaxPool2d) else 1
        out_hw = tuple(after.out_shape[1:]) if after is not None else None
        if out_hw is None and len(stage.lif.shape) == 3:
            out_hw = tuple(stage.lif.shape[1:])
        return cls(stage.synapse, impl, pool.kernel if pool else 1, k2, out_hw)

    @cached_property
    def row_taps(self) -> tuple[tuple[tuple[int, int], ...], ...]:
        """For each input row y: the (output row, kernel row) pairs it feeds."""
        return tuple(axis_taps(y, self.ho, self.kh, self.stride, self.pad) for y in range(self.h))

    @cached_property
    def col_taps(self) -> tuple[tuple[tuple[int, int], ...], ...]:
        return tuple(axis_taps(x, self.wo, self.kw, self.stride, self.pad) for x in range(self.w))

    max_row_taps = property(lambda self: max(1, max(len(t) for t in self.row_taps)))
    max_col_taps = property(lambda self: max(1, max(len(t) for t in self.col_taps)))

    @property
    def fan_out(self) -> int:
        """Most currents one input spike touches (the event-driven work of one spike)."""
        return self.co * max(len(t) for t in self.row_taps) * max(len(t) for t in self.col_taps)

    @cached_property
    def weight_rows(self) -> np.ndarray:
        """The weight RAM's rows, int64 [dense_depth, row_kw * lanes]: row ((c*kh + ky)*kw + kx)*go + og
        holds output channels og*P .. og*P+P-1 (zeros past co); with side-by-side columns row
        (c*kh + ky)*go + og holds the kernel row's kw columns, P channels each, column-major."""
        wgt = self.synapse.weight
        wgt = wgt[:, :, None, None] if wgt.ndim == 2 else wgt
        padded = np.zeros((self.go * self.lanes, self.c, self.kh, self.kw), np.int64)
        padded[: self.co] = wgt
        rows = padded.reshape(self.go, self.lanes, self.c, self.kh, self.kw)
        if self.row_kw > 1:
            return rows.transpose(2, 3, 0, 4, 1).reshape(-1, self.kw * self.lanes)
        return rows.transpose(2, 3, 4, 0, 1).reshape(-1, self.lanes)

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

STEP_BITS = 16         # a run's timestep count (and so every output spike count) fits 16 bits
CYCLE_BITS = 32        # cycle counters saturate at 2**32 - 1 (43 s at 100 MHz) rather than wrap


def check_timesteps(n_steps: int) -> None:
    """A run's length must fit the design's timestep counter (STEP_BITS)."""
    if not 1 <= n_steps < 1 << STEP_BITS:
        raise SnncError(f"{n_steps} timesteps: a run takes 1 to {(1 << STEP_BITS) - 1} (split longer inputs)")


def network_geometry(net: ir.Network, impl: Implementation) -> list[LayerGeometry]:
    """One LayerGeometry per LIF (engine) of an ir.Network, in order."""
    return [LayerGeometry.of_stage(stage, li) for stage, li in zip(net.stages, impl, strict=True)]


def stream_tokens(net: ir.Network) -> list[SpikeTokens | MembraneTokens]:
    """The spike-token encoding of every stream inside a network's design, in order: the input
    (into the first engine), then each engine's spikes, after its pool or crop (into the next
    engine; the last one out of the network).  All share one address width, the widest packed
    address among them (and a readout's state word: its stream is tokens.MembraneTokens)."""
    shapes = [tuple(net.input_shape)] + [stage.out_shape for stage in net.stages]
    out = net.lifs[-1]
    width = max(max(SpikeTokens.for_shape(s).address_bits for s in shapes), out.state_bits if out.readout else 0)
    return [SpikeTokens.for_shape(s, width) for s in shapes[:-1]] + [MembraneTokens.for_lif(out, width) if out.readout
                                                                     else SpikeTokens.for_shape(shapes[-1], width)]
