"""Scatter: the accumulate side of a layer engine (docs/rtl.md).

Each input spike (c, y, x) touches, for every kernel tap (ky, kx) whose output (oy, ox) exists,
every channel group og (snnc.compiler.geometry).  One step per cycle: read one weight row of P
lanes from the weight RAM and add it into the P accumulators of group (og, oy, ox) in the bank the
engine gives the scatter.  The read-modify-write takes one cycle; a read of the group written the
cycle before gets the written data (write forwarding), so back-to-back steps on one group need no
stall.  A spike costs max(1, taps * ceil(C_out/P)) cycles.

With the kernel columns side by side (geometry.columns: P = C_out, a RAM per column) a step reads a
weight row of a kernel row's kw columns and adds each column's P lanes into its own RAM: the
column tap at output ox lands in RAM ox mod columns, so the taps of one spike never collide.  A
spike then costs its row taps' cycles.

An end-of-timestep token is taken and held (`timestep_done` once the last write has landed) until
the engine `swap`s the banks; no spike is taken meanwhile, nor while `hold` is high (the engine
clears the banks after a reset).

Ports: `i_spikes` spike stream; `acc`: the accumulator bank (AccumulatorPort);
`hold`, `swap` in; `zero` in: the written word is 0 (the engine clears its one bank through the
scatter's write data: gating the adder's inputs costs no LUT, a multiplexer after it one per bit);
`timestep_done`, `busy` (a spike is being scattered), `step` (a weight row is read this cycle) out.
"""
from __future__ import annotations

import numpy as np
from amaranth import Array, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from snnc.compiler.geometry import LayerGeometry, index_range
from snnc.compiler.tokens import SpikeTokens

from .accumulator_port import AccumulatorPort, AddendPort, accumulator_layout
from .arith import times
from .rom import Rom, pack_words
from .spikes import address_fields, flat_index, spike_stream
from .tap_walker import TapWalker


def weight_layout(geo: LayerGeometry) -> data.ArrayLayout:
    """A weight RAM row: P lanes (of each kernel column, with the columns side by side); 1-bit
    weights store b for the value 2b-1 (binary {-1, +1})."""
    wb = geo.synapse.weight_bits
    return data.ArrayLayout(unsigned(1) if wb == 1 else signed(wb), geo.lanes * geo.row_kw)


class Scatter(wiring.Component):
    def __init__(self, geo: LayerGeometry, tokens: SpikeTokens, rom_name: str | None = None):
        """tokens: the encoding of the incoming spikes (the upstream layer's shape, or the network's
        input shape).  rom_name: the weight RAM's memory image (Rom), or None to hold the weights in
        the design.  `roms`: the layer's read-only memories."""
        self.geo = g = geo
        self.tokens = tokens
        wb = g.synapse.weight_bits
        stored = (g.weight_rows + 1) // 2 if wb == 1 else g.weight_rows  # 1-bit weights as b for the value 2b-1
        self.weights = Rom(weight_layout(g), pack_words(stored & ((1 << wb) - 1), wb), image=rom_name)
        self.roms = (self.weights,)
        if int(np.prod(tokens.shape)) != g.inputs:
            raise ValueError(f"a stream of shape {tokens.shape} cannot feed {g.inputs} inputs")
        super().__init__({
            "i_spikes": In(spike_stream(tokens.address_bits)),
            "acc": Out(AddendPort(g) if g.register_accumulators else AccumulatorPort(g, own_addresses=True)),
            "hold": In(1), "swap": In(1), "zero": In(1), "timestep_done": Out(1), "busy": Out(1), "step": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        g = self.geo
        m.submodules.weights = self.weights
        w_addr, w_data = self.weights.addr[0], self.weights.data[0]

        # the event being scattered and the step within it: its kernel tap (TapWalker), channel group og
        ev_valid = Signal()
        ev_c = Signal(index_range(g.c))
        og = Signal(range(g.go + 1))
        m.submodules.taps = walk = TapWalker(g)
        oy, ky, ox, kx = walk.oy, walk.ky, walk.ox, walk.kx

        has_work = Signal()  # a step is issued this cycle
        m.d.comb += [has_work.eq(ev_valid & walk.taps), walk.advance.eq(has_work & (og == g.go - 1) & ~walk.last_tap)]
        last_step = (og == g.go - 1) & walk.last_tap
        with m.If(has_work):
            m.d.sync += og.eq(Mux(og == g.go - 1, 0, og + 1))
        event_done = ~ev_valid | ~has_work | last_step

        # read-modify-write of the issued step's group, one cycle behind the issue
        rmw_valid = Signal()
        tap = times(ev_c, g.kh) + ky if g.row_kw > 1 else times(times(ev_c, g.kh) + ky, g.kw) + kx  # a weight row's
        m.d.comb += w_addr.eq(times(tap, g.go) + og)
        m.d.sync += rmw_valid.eq(has_work)
        weight = lambda k: w_data[k] * 2 - 1 if g.synapse.weight_bits == 1 else w_data[k]
        eot_taken, spike_taken = take_tokens(m, self, ev_valid, event_done)
        c, walk_y, walk_x = spike_coordinates(g, self.tokens, self.i_spikes.payload.addr)
        row = times(og, g.ho) + oy  # the accumulator row (og, oy)
        if g.register_accumulators:  # the registers add the row themselves (SimdAccumulator)
            m.d.comb += [self.acc.addend[lane].eq(weight(lane)) for lane in range(g.lanes)]
            m.d.comb += self.acc.add.eq(rmw_valid)
        elif g.columns > 1:
            for ram, (feeds, column, word) in enumerate(self._columns(m, spike_taken, walk_x)):
                self._read_modify_write(m, ram, has_work, feeds, times(row, g.row_words) + word,
                                        lambda lane, k: weight(k * g.lanes + lane), column)
        else:
            self._read_modify_write(m, 0, has_work, 1, times(row, g.wo) + ox, weight)

        m.d.comb += [walk.load.eq(spike_taken), walk.y.eq(walk_y), walk.x.eq(walk_x)]
        with m.If(spike_taken):
            m.d.sync += [og.eq(0), ev_c.eq(c)]
        m.d.comb += [self.timestep_done.eq(eot_taken & ~rmw_valid), self.busy.eq(ev_valid),
                     self.step.eq(has_work)]
        return m

    def _columns(self, m: Module, spike_taken, x) -> list[tuple[Signal, Signal, Signal]]:
        """The kernel columns side by side (geometry.columns): for each accumulator RAM, whether the
        spike being scattered feeds it, from which kernel column kx and at which column word (ox //
        columns), loaded from tables indexed by the spike's x as it is taken: column tap (ox, kx)
        lands in RAM ox mod columns, and a spike's column taps are consecutive outputs."""
        g = self.geo
        table = {ram: [(0, 0, 0)] * g.w for ram in range(g.columns)}
        for xi, taps in enumerate(g.col_taps):
            for ox, kx in taps:
                ram, column = g.acc_column(ox)
                table[ram][xi] = (1, kx, column)
        shapes = {"feeds": 1, "kx": index_range(g.kw), "word": index_range(g.row_words)}
        out = []
        for ram, entries in table.items():
            now = [Signal(shape, name=f"{name}{ram}") for name, shape in shapes.items()]
            for reg, field, shape in zip(now, zip(*entries), shapes.values()):
                with m.If(spike_taken):
                    m.d.sync += reg.eq(Array(Const(v, shape) for v in field)[x])
            out.append(tuple(now))
        return out

    def _read_modify_write(self, m: Module, ram: int, has_work, writes, acc_addr, weight, kx=None) -> None:
        """Accumulator RAM `ram`'s step: read the group at the issue, add the weight row and write it
        back the cycle after, where `writes` (the step feeds this RAM).  The row's lanes are
        weight(lane), or with the columns side by side weight(lane, k) of kernel column `kx` as the
        step was issued."""
        g = self.geo
        rmw_addr, rmw_writes = Signal(index_range(g.acc_depth), name=f"rmw_addr{ram}"), Signal(name=f"rmw_writes{ram}")
        m.d.comb += self.acc.rd_addr[ram].eq(acc_addr)
        m.d.sync += [rmw_addr.eq(acc_addr), rmw_writes.eq(has_work & writes)]
        if kx is not None:  # the weight row arrives with the write: the column it was issued for
            rmw_kx = Signal.like(kx, name=f"rmw_kx{ram}")
            m.d.sync += rmw_kx.eq(kx)
            options = [[weight(lane, k) for lane in range(g.lanes)] for k in range(g.kw)]
            weight = lambda lane: Array(o[lane] for o in options)[rmw_kx]
        new_acc = Signal(accumulator_layout(g), name=f"new_acc{ram}")
        words = lambda port_data: data.ArrayLayout(accumulator_layout(g), g.columns)(port_data.as_value())[ram]
        old = words(self.acc.rd_data).as_value()
        # Back to back on one group (a conv's neighbouring spikes, or every step of a dense layer
        # with one channel group) the read gets last cycle's write, not the RAM's old word.  A dense
        # layer with several groups never does: its steps walk og = 0 .. go-1 and start again at 0.
        if g.h * g.w > 1 or g.go == 1:
            fwd = Signal(name=f"fwd{ram}")
            fwd_data = Signal(accumulator_layout(g), name=f"fwd_data{ram}")
            m.d.sync += [fwd.eq(has_work & rmw_writes & (rmw_addr == acc_addr)), fwd_data.eq(new_acc)]
            old = Mux(fwd, fwd_data.as_value(), old)
        old = accumulator_layout(g)(old)
        for lane in range(g.lanes):
            m.d.comb += new_acc[lane].eq(gated(old[lane], self.zero) + gated(weight(lane), self.zero))
        m.d.comb += [self.acc.wr_addr[ram].eq(rmw_addr), self.acc.wr_en[ram].eq(rmw_writes),
                     words(self.acc.wr_data).eq(new_acc)]


def spike_coordinates(g: LayerGeometry, tokens: SpikeTokens, addr) -> tuple:
    """(c, y, x) of a spike's packed address: a dense layer's (or a 1 x 1 input's) flat index is its
    channel; a convolution's address holds the three fields."""
    if g.h * g.w == 1:
        return flat_index(tokens, addr), Const(0, 1), Const(0, 1)
    return tuple(address_fields(tokens, addr))


def gated(value, zero):
    """`value`, or 0 while `zero` is high: an AND on an adder's input, which shares the adder's LUT."""
    return Mux(zero, 0, value)


def take_tokens(m: Module, scatter, ev_valid: Signal, event_done) -> tuple[Signal, object]:
    """The input handshake both scatters share: a spike token is taken when the event before is
    done and starts the next (ev_valid); an end-of-timestep token is taken and held (eot_taken)
    until the engine's swap, and no token is taken meanwhile, nor during `hold`.  Returns
    (eot_taken, high in the cycle a spike token is taken: the caller loads its event then)."""
    eot_taken, tokens = Signal(), scatter.i_spikes
    m.d.comb += tokens.ready.eq(event_done & ~eot_taken & ~scatter.hold)
    taken = tokens.valid & tokens.ready
    with m.If(taken & tokens.payload.eot):
        m.d.sync += [eot_taken.eq(1), ev_valid.eq(0)]
    with m.Elif(taken):
        m.d.sync += ev_valid.eq(1)
    with m.Elif(event_done):
        m.d.sync += ev_valid.eq(0)
    with m.If(scatter.swap):
        m.d.sync += eot_taken.eq(0)
    return eot_taken, taken & ~tokens.payload.eot
