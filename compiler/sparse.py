"""Sparse weights (docs/rtl.md): a layer whose zero weights are many enough stores, for each input
(and kernel tap), only the non-zero weights of each lane as (delta, code) entries (SparseRows), and
a spike costs one cycle per entry row instead of one per channel group.  The encoder, the candidate
of each synapse at each lane count (cached weakly), and the choice between the two formats."""
from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from .shapes import unsigned_bits


@dataclass(frozen=True, eq=False)
class SparseRows:
    """A synapse's non-zero weights as the sparse scatter walks them, P lanes per entry row.

    List j (a dense layer's input j; a convolution's input channel and kernel tap, j = (c*kh + ky)*kw
    + kx) owns entry rows row_start[j] .. row_start[j+1] - 1.  Lane l of a row holds (delta, code).
    The lane's channel group og starts at -1 before the list's first entry.  An entry with delta > 0
    adds a weight: og advances by delta (1 .. 2**delta_bits - 1) and the weight of `code` is added
    into neuron og*P + l.  An entry with delta 0 adds nothing: with code 1 it is a skip (og advances
    by the largest delta; a longer gap takes several), with code 0 it pads a lane with fewer entries
    than its row.  `values`: the weight of each code when the synapse's distinct non-zero weights
    have codes narrower than its weights (weight sharing: a magnitude-pruned 4-bit layer keeps
    -7, -6, 6 and 7, 2-bit codes); None when the code is the weight itself (two's complement).
    delta, code: int64 [rows, P]; row_start: int64 [lists + 1]."""

    delta_bits: int
    code_bits: int
    delta: np.ndarray
    code: np.ndarray
    row_start: np.ndarray
    values: tuple[int, ...] | None
    weight_bits: int

    @property
    def rows(self) -> int:
        return int(self.row_start[-1])

    @property
    def pointer_bits(self) -> int:
        """Width of a row start (0 .. rows)."""
        return unsigned_bits(self.rows)

    @property
    def row_lengths(self) -> np.ndarray:
        """Entry rows of each list, int64 [lists]."""
        return np.diff(self.row_start)

    @property
    def adding_fraction(self) -> float:
        """The share of entries that add a weight (not skips or pads)."""
        return float((self.delta > 0).sum()) / max(self.delta.size, 1)

    @property
    def entry_bits(self) -> int:
        return self.delta_bits + self.code_bits

    @property
    def bits(self) -> int:
        """Weight bits stored: the entries, the row starts and the code table (held in logic)."""
        table = len(self.values) * self.weight_bits if self.values is not None else 0
        return self.rows * self.delta.shape[1] * self.entry_bits + len(self.row_start) * self.pointer_bits + table


def _lane_nonzeros(weight: np.ndarray, lanes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The non-zero weights of a dense [n_out, n_in] matrix walked by input and lane: (list index
    j*P + l, channel group og, weight), sorted by list and then group."""
    n_out, n_in = weight.shape
    go = -(-n_out // lanes)
    padded = np.zeros((go * lanes, n_in), np.int64)
    padded[:n_out] = weight
    by_list = padded.reshape(go, lanes, n_in).transpose(2, 1, 0).reshape(n_in * lanes, go)  # [j*P + l, og]
    lists, groups = np.nonzero(by_list)
    return lists, groups, by_list[lists, groups]


def _firsts(lists: np.ndarray) -> np.ndarray:
    """True where a non-zero is the first of its list (lists sorted)."""
    first = np.ones(len(lists), bool)
    first[1:] = lists[1:] != lists[:-1]
    return first


def sparse_rows(weight: np.ndarray, lanes: int, weight_bits: int, delta_bits: int | None = None) -> SparseRows:
    """The SparseRows of a weight matrix [n_out, lists] (a convolution's [C_out, C_in*kh*kw]) of
    weight_bits-bit weights on `lanes` lanes, with the delta width that stores the fewest bits (or
    the given one)."""
    n_out, n_in = weight.shape
    lists, groups, nonzero = _lane_nonzeros(weight, lanes)
    first = _firsts(lists)
    distinct = np.unique(nonzero)
    code_bits = max(1, unsigned_bits(len(distinct) - 1))
    values = tuple(map(int, distinct)) if code_bits < weight_bits else None
    code_bits = code_bits if values is not None else weight_bits
    codes = np.searchsorted(distinct, nonzero) if values is not None else nonzero & ((1 << weight_bits) - 1)
    gaps = groups - np.where(first, -1, np.concatenate([[0], groups[:-1]]))  # >= 1: from og -1 or the previous
    skips_at = lambda d: (gaps - 1) // ((1 << d) - 1)  # skip entries before each non-zero

    if delta_bits is None:  # the width that stores the fewest bits, up to every gap in one entry
        widest = unsigned_bits(-(-n_out // lanes))
        return min((sparse_rows(weight, lanes, weight_bits, d) for d in range(1, widest + 1)),
                   key=lambda rows: (rows.bits, rows.delta_bits))
    step, skips = (1 << delta_bits) - 1, skips_at(delta_bits)
    # entry rows per input: its longest lane list
    lengths = np.bincount(lists, weights=1 + skips, minlength=n_in * lanes).reshape(n_in, lanes).max(axis=1)
    row_start = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    # each value entry's slot in its list: after every entry before it in the list and its own skips
    counts = 1 + skips
    before = np.cumsum(counts) - counts
    list_start = np.zeros(n_in * lanes, np.int64)
    list_start[lists[first]] = before[first]
    row = row_start[lists // lanes] + before - list_start[lists] + skips
    lane = lists % lanes
    delta = np.zeros((row_start[-1], lanes), np.int64)
    code = np.zeros((row_start[-1], lanes), np.int64)
    delta[row, lane], code[row, lane] = gaps - skips * step, codes
    for k in range(1, int(skips.max(initial=0)) + 1):  # the k-th skip entry before each value that has k
        has = skips >= k
        code[row[has] - k, lane[has]] = 1
    return SparseRows(delta_bits, code_bits, delta, code, row_start, values, weight_bits)


# the sparse rows, per synapse object and lanes: the compiler, the RTL and the cost model ask again
# and again; weakly keyed, so a network's weights are not kept alive once it is gone
_SPARSE_CANDIDATES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def sparse_candidate(synapse, lanes: int) -> SparseRows | None:
    """A synapse's weights on `lanes` lanes as SparseRows, whether or not they are chosen; None for
    binary weights (no zeros)."""
    if synapse.weight_bits == 1:
        return None
    candidates = _SPARSE_CANDIDATES.setdefault(synapse, {})
    if lanes not in candidates:
        candidates[lanes] = sparse_rows(synapse.weight.reshape(synapse.weight.shape[0], -1), lanes,
                                        synapse.weight_bits)
    return candidates[lanes]


def _sparse_floor_bits(synapse) -> int:
    """Fewer bits than sparse rows of the synapse can store at any lanes: an entry per non-zero weight,
    each at least a 1-bit delta and its code (sparse_rows' code width, from the distinct values).
    Cached with the candidates."""
    cached = _SPARSE_CANDIDATES.setdefault(synapse, {})
    if "floor" not in cached:
        nonzero = synapse.weight[synapse.weight != 0]
        code_bits = max(1, unsigned_bits(len(np.unique(nonzero)) - 1))
        cached["floor"] = len(nonzero) * (1 + min(code_bits, synapse.weight_bits))
    return cached["floor"]


def sparse_choice(synapse, lanes: int, requested: bool = False) -> SparseRows | None:
    """The sparse rows when they are asked for (`requested`, --weights sparse) or when they are
    cheaper (--weights auto): fewer weight RAM bits, and no more scatter cycles summed over the lists
    (a list costs max(1, its rows), dense ceil(C_out/P)); else None (dense).  Binary weights have no
    zeros: always None."""
    lists, go = synapse.weight[0].size, -(-synapse.weight.shape[0] // lanes)
    dense_bits = lanes * synapse.weight_bits * lists * go
    if not requested and _sparse_floor_bits(synapse) >= dense_bits:
        return None  # the entries cannot be fewer bits than the dense rows: no candidate built
    rows = sparse_candidate(synapse, lanes)
    if rows is None or requested:
        return rows
    cheaper = (rows.bits < dense_bits
               and int(np.maximum(rows.row_lengths, 1).sum()) <= lists * go)
    return rows if cheaper else None
