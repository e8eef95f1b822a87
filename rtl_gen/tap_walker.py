"""TapWalker: the kernel taps a convolution's input spike (y, x) feeds, one after another (docs/rtl.md).

Input row y feeds the output rows oy whose window holds it, at kernel row ky = y + pad - oy*stride
(geometry.row_taps: oy ascending, so ky descends by the stride); columns likewise.  The walk goes
row tap by row tap, and within one over the column taps.  Only the first tap of y and of x comes
from a table (indexed by the coordinate, read as the spike is loaded); every later tap is one step
of counters: oy + 1 and ky - stride, or ox + 1 and kx - stride.  A table lookup per tap and
coordinate cost about a LUT per table entry and output bit (96-entry tables for a 32-wide input).

Ports: `load` with `y`, `x` in: start the walk of input (y, x) (its first tap holds from the next
cycle); `advance` in: go to the next tap (not at the last).  Out: the current tap `oy`, `ky`, `ox`,
`kx`; `next_ky`, `next_kx` (the tap `advance` goes to); `first_ky`, `first_kx` (input (y, x)'s
first tap, combinationally); `taps` (the input feeds at least one output); `last_col`, `last_tap`.
With the kernel columns side by side (geometry.columns) the walk goes over the row taps alone, each
at the input's first column tap: the scatter takes a kernel row's columns at once.
"""
from __future__ import annotations

from amaranth import Array, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from snnc.compiler.geometry import LayerGeometry, index_range


class TapWalker(wiring.Component):
    def __init__(self, geo: LayerGeometry):
        self.geo = g = geo
        super().__init__({
            "load": In(1), "y": In(index_range(g.h)), "x": In(index_range(g.w)), "advance": In(1),
            "oy": Out(index_range(g.ho)), "ky": Out(index_range(g.kh)),
            "ox": Out(index_range(g.wo)), "kx": Out(index_range(g.kw)),
            "next_ky": Out(index_range(g.kh)), "next_kx": Out(index_range(g.kw)),
            "first_ky": Out(index_range(g.kh)), "first_kx": Out(index_range(g.kw)),
            "taps": Out(1), "last_col": Out(1), "last_tap": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        g = self.geo
        if g.h == g.w == 1 and g.max_row_taps <= 1 and g.max_col_taps <= 1:  # a dense layer: one constant
            (row,), (col,) = g.row_taps, g.col_taps                          # tap at most, no walk
            (oy, ky), (ox, kx) = row[0] if row else (0, 0), col[0] if col else (0, 0)
            m.d.comb += [self.taps.eq(bool(row and col)), self.last_col.eq(1), self.last_tap.eq(1),
                         self.oy.eq(oy), self.ky.eq(ky), self.ox.eq(ox), self.kx.eq(kx), self.next_ky.eq(ky),
                         self.next_kx.eq(kx), self.first_ky.eq(ky), self.first_kx.eq(kx)]
            return m

        def first(taps_of, n_max: int, out_size: int, kernel: int, coord):
            """(tap count, first output, first kernel offset) of coordinate `coord`, from tables."""
            return (Array(Const(len(t), range(n_max + 1)) for t in taps_of)[coord],
                    Array(Const(t[0][0] if t else 0, index_range(out_size)) for t in taps_of)[coord],
                    Array(Const(t[0][1] if t else 0, index_range(kernel)) for t in taps_of)[coord])
        # the kernel columns side by side (geometry.columns): a kernel row is one tap, its first column's
        col_taps = tuple(t[:1] for t in g.col_taps) if g.columns > 1 else g.col_taps
        max_cols = max(1, max(map(len, col_taps)))
        row_n0, oy0, ky0 = first(g.row_taps, g.max_row_taps, g.ho, g.kh, self.y)
        col_n0, ox0, kx0 = first(col_taps, max_cols, g.wo, g.kw, self.x)
        m.d.comb += [self.first_ky.eq(ky0), self.first_kx.eq(kx0)]

        row_n, col_n = Signal(range(g.max_row_taps + 1)), Signal(range(max_cols + 1))
        ti, tk = Signal(range(g.max_row_taps + 1)), Signal(range(max_cols + 1))
        ox_first, kx_first = Signal(index_range(g.wo)), Signal(index_range(g.kw))
        last_col = tk == col_n - 1
        m.d.comb += [self.taps.eq((row_n != 0) & (col_n != 0)), self.last_col.eq(last_col),
                     self.last_tap.eq(last_col & (ti == row_n - 1)),
                     # below the kernel's first row or column only past the last tap, where unused
                     self.next_ky.eq(Mux(last_col, self.ky - g.stride, self.ky)),
                     self.next_kx.eq(Mux(last_col, kx_first, self.kx - g.stride))]
        with m.If(self.load):
            m.d.sync += [row_n.eq(row_n0), col_n.eq(col_n0), ti.eq(0), tk.eq(0), self.oy.eq(oy0), self.ky.eq(ky0),
                         self.ox.eq(ox0), self.kx.eq(kx0), ox_first.eq(ox0), kx_first.eq(kx0)]
        with m.Elif(self.advance):
            m.d.sync += [self.ky.eq(self.next_ky), self.kx.eq(self.next_kx)]
            with m.If(last_col):
                m.d.sync += [ti.eq(ti + 1), tk.eq(0), self.oy.eq(self.oy + 1), self.ox.eq(ox_first)]
            with m.Else():
                m.d.sync += [tk.eq(tk + 1), self.ox.eq(self.ox + 1)]
        return m
