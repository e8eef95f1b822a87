"""SparseScatter: the accumulate side of a layer whose weights are stored sparse (docs/rtl.md).

The weight RAM holds only the non-zero weights, as sparse.SparseRows: list j (a dense layer's
input; a convolution's input channel c and kernel tap (ky, kx), j = (c*kh + ky)*kw + kx) owns entry
rows row_start[j] .. row_start[j+1] - 1 (a second, small RAM holds the row starts, read at j and
j+1 the cycle before the list is walked), and each row holds, for each of the P lanes, a (delta,
code) entry.  Lane l keeps its own channel group og (-1 before a list's first entry); an entry with
delta > 0 advances it by delta and adds the code's weight (the code itself, or a table entry when
the layer's weights share a few values) into neuron og*P + l at the tap's output pixel (oy, ox), so
each lane addresses its own accumulator RAM.  An entry with delta 0 writes nothing: a skip (code 1)
advances og by the largest delta, a pad (code 0) leaves it.  A spike walks the kernel taps it
feeds as Scatter does (TapWalker); a tap costs max(1, its entry rows) cycles, a spike at least 1.

Three stages, one entry row per cycle: issue (read the row), decode (advance each lane's og and
read its accumulator), write (add and write back).  A lane's read of the word its write stage
writes in the same cycle gets the written data (write forwarding); the next spike's first entry
may do that.

Ports as Scatter's, but `acc` addresses each lane's RAM on its own (AccumulatorPort own_addresses).
"""
from __future__ import annotations

import numpy as np
from amaranth import Array, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from snnc.compiler.geometry import LayerGeometry, index_range
from snnc.compiler.tokens import SpikeTokens

from .accumulator_port import AccumulatorPort, accumulator_layout
from .arith import times
from .rom import Rom, pack_words
from .scatter import gated, spike_coordinates, take_tokens
from .spikes import spike_stream
from .tap_walker import TapWalker


def entry_layout(geo: LayerGeometry) -> data.ArrayLayout:
    """A sparse weight RAM row: P lanes of (code, delta), the code in the low bits."""
    entry = data.StructLayout({"code": unsigned(geo.sparse.code_bits), "delta": unsigned(geo.sparse.delta_bits)})
    return data.ArrayLayout(entry, geo.lanes)


class SparseScatter(wiring.Component):
    def __init__(self, geo: LayerGeometry, tokens: SpikeTokens, rom_name: str | None = None):
        """tokens: the encoding of the incoming spikes.  rom_name: the entry RAM's memory image (and
        `rom_name`_starts the row starts'; Rom), or None to hold them in the design.  `roms`: the
        layer's read-only memories."""
        if geo.sparse is None:
            raise ValueError("SparseScatter takes a layer with sparse weights")
        if int(np.prod(tokens.shape)) != geo.inputs:
            raise ValueError(f"a stream of shape {tokens.shape} cannot feed {geo.inputs} inputs")
        self.geo, self.tokens = geo, tokens
        sp = geo.sparse
        self.entries = Rom(entry_layout(geo), pack_words(sp.code | (sp.delta << sp.code_bits), sp.entry_bits),
                           image=rom_name)
        self.row_starts = Rom(unsigned(sp.pointer_bits), pack_words(sp.row_start[:, None], sp.pointer_bits), ports=2,
                              image=rom_name and f"{rom_name}_starts")
        self.roms = (self.entries, self.row_starts)
        super().__init__({
            "i_spikes": In(spike_stream(tokens.address_bits)),
            "acc": Out(AccumulatorPort(geo, own_addresses=True)),
            "hold": In(1), "swap": In(1), "zero": In(1), "timestep_done": Out(1), "busy": Out(1), "step": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        g, sp = self.geo, self.geo.sparse
        m.submodules.entries, m.submodules.row_starts = self.entries, self.row_starts
        w_addr, w_data = self.entries.addr[0], self.entries.data[0]
        (start_addr, end_addr), (start_data, end_data) = self.row_starts.addr, self.row_starts.data

        # the event's input channel and its kernel tap (TapWalker)
        ev_valid, starting = Signal(), Signal()
        ev_c = Signal(index_range(g.c))
        m.submodules.taps = walk = TapWalker(g)

        # issue: one entry row per cycle from the tap's list start (read the cycle before) to its end
        ptr, end_r = Signal(sp.pointer_bits), Signal(sp.pointer_bits)
        cur, end = Mux(starting, start_data, ptr), Mux(starting, end_data, end_r)
        has_work = Signal()
        m.d.comb += [has_work.eq(ev_valid & walk.taps & (cur != end)), w_addr.eq(cur)]
        m.d.sync += [ptr.eq(cur + 1), end_r.eq(end), starting.eq(0)]
        tap_done = (cur == end) | (cur + 1 == end)
        event_done = ~ev_valid | ~walk.taps | (tap_done & walk.last_tap)
        m.d.comb += walk.advance.eq(ev_valid & walk.taps & tap_done & ~walk.last_tap)
        with m.If(walk.advance):  # the next tap: its list is read now
            m.d.sync += starting.eq(1)

        # decode: each lane's channel group at the tap's output pixel, and its accumulator read; nx =
        # og + 1 (0 before a list's first entry), so that it stays in 0 .. go
        dec_valid, dec_first = Signal(), Signal()
        dec_pixel = Signal(index_range(g.pixels))
        m.d.sync += [dec_valid.eq(has_work), dec_first.eq(starting), dec_pixel.eq(times(walk.oy, g.wo) + walk.ox)]
        wr_valid = Signal()
        wr_weight = Signal(data.ArrayLayout(signed(g.synapse.weight_bits), g.lanes))
        m.d.sync += wr_valid.eq(dec_valid)
        new_acc = Signal(accumulator_layout(g))
        largest_delta = (1 << sp.delta_bits) - 1
        for lane in range(g.lanes):
            entry = w_data[lane]
            adds = entry.delta != 0
            nx = Signal(range(g.go + 1), name=f"nx{lane}")
            nx_next = Signal(range(g.go + 1), name=f"nx_next{lane}")
            addr = Signal(index_range(g.groups), name=f"addr{lane}")
            at = Mux(adds, nx_next - 1, 0)  # a pad's or skip's address is not used; keep it in range
            m.d.comb += [nx_next.eq(Mux(dec_first, 0, nx) + Mux(adds, entry.delta, Mux(entry.code[0], largest_delta, 0))),
                         addr.eq(times(at, g.pixels) + dec_pixel), self.acc.rd_addr[lane].eq(addr)]
            with m.If(dec_valid):
                m.d.sync += nx.eq(nx_next)
            weight = entry.code.as_signed() if sp.values is None else \
                Array(Const(v, signed(g.synapse.weight_bits)) for v in sp.values)[entry.code]
            writes = Signal(name=f"writes{lane}")
            m.d.sync += [self.acc.wr_addr[lane].eq(addr), wr_weight[lane].eq(weight), writes.eq(dec_valid & adds)]
            # write: add into the word read, or into the one written as it was read
            fwd = Signal(name=f"fwd{lane}")
            fwd_data = Signal(signed(g.accumulator_bits), name=f"fwd_data{lane}")
            m.d.sync += [fwd.eq(dec_valid & writes & (self.acc.wr_addr[lane] == addr)), fwd_data.eq(new_acc[lane])]
            m.d.comb += [new_acc[lane].eq(gated(Mux(fwd, fwd_data, self.acc.rd_data[lane]), self.zero) +
                                          gated(wr_weight[lane], self.zero)),
                         self.acc.wr_en[lane].eq(writes)]
        m.d.comb += self.acc.wr_data.eq(new_acc)

        # input: the list of the offered spike's first tap is read as it is taken (when the event
        # before is done), else the list of the next tap
        c, y, x = spike_coordinates(g, self.tokens, self.i_spikes.payload.addr)
        m.d.comb += [walk.y.eq(y), walk.x.eq(x)]
        list_of = lambda c, ky, kx: times(times(c, g.kh) + ky, g.kw) + kx  # j of channel c at tap (ky, kx)
        j = list_of(Mux(event_done, c, ev_c), Mux(event_done, walk.first_ky, walk.next_ky),
                    Mux(event_done, walk.first_kx, walk.next_kx))
        m.d.comb += [start_addr.eq(j), end_addr.eq(j + 1)]
        eot_taken, spike_taken = take_tokens(m, self, ev_valid, event_done)
        m.d.comb += walk.load.eq(spike_taken)
        with m.If(spike_taken):
            m.d.sync += [starting.eq(1), ev_c.eq(c)]
        m.d.comb += [self.timestep_done.eq(eot_taken & ~dec_valid & ~wr_valid), self.busy.eq(ev_valid),
                     self.step.eq(has_work)]
        return m
