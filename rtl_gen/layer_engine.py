"""LayerEngine: one event-driven synapse + LIF layer with P parallel lanes.

Dense is the 1x1 case of Conv2d (C_in = inputs, H = W = 1, C_out = outputs), so one engine serves
both.  Neurons are grouped P output channels at a time: group g = (og, pixel) holds the neurons
(og*P + lane, pixel) for lane < P; A = ceil(C_out/P) * H_out * W_out groups.

Scatter (per input spike, one group per cycle): the spike (c, y, x) touches, for every kernel tap
(ky, kx) whose output (oy, ox) exists, every channel group og.  Each step reads one weight row of
P weights from block RAM and adds it into the P current accumulators of group (og, oy, ox): a
one-cycle read-modify-write whose read forwards the write of the cycle before, so back-to-back
updates of one group need no stall.  A spike costs max(1, taps * ceil(C_out/P)) cycles.

Update (per timestep, one group per cycle): current = (acc << shift) + bias, the LIF datapath
(LIFUpdate) for P lanes, new state codes written back to the state RAM (state_bits per neuron),
spike masks queued to the SpikeSerializer, accumulators cleared.  The accumulators are double
buffered: the update of timestep t drains one bank while the scatter of t+1 fills the other.

Ports: i_spikes/o_spikes spike streams; dbg_addr -> dbg_state reads a group's stored states;
scatter_busy/update_busy tell the cycle counters what the engine is doing.
"""
from __future__ import annotations


import numpy as np
from amaranth import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from snnc.compiler import ir

from .arith import times
from .lif_update import LATENCY, LIFUpdate
from .spike_serializer import SpikeSerializer
from .spikes import spike_stream


class Geometry:
    """Integer layout of a layer: shapes, groups, kernel taps and the packed weight rows."""

    def __init__(self, syn: ir.Dense | ir.Conv2d, lanes: int):
        if isinstance(syn, ir.Dense):
            self.c, self.h, self.w = syn.weight.shape[1], 1, 1
            self.kh = self.kw = self.stride = 1
            self.pad = 0
            weight = syn.weight[:, :, None, None]
        else:
            self.c, self.h, self.w = syn.in_shape
            self.kh, self.kw = syn.weight.shape[2:]
            self.stride, self.pad = syn.stride, syn.padding
            weight = syn.weight
        self.co = weight.shape[0]
        self.ho = (self.h + 2 * self.pad - self.kh) // self.stride + 1
        self.wo = (self.w + 2 * self.pad - self.kw) // self.stride + 1
        self.lanes = max(1, min(lanes, self.co))
        self.go = -(-self.co // self.lanes)
        self.groups = self.go * self.ho * self.wo
        self.row_taps = [self._taps(y, self.h, self.ho, self.kh) for y in range(self.h)]
        self.col_taps = [self._taps(x, self.w, self.wo, self.kw) for x in range(self.w)]
        self.max_row_taps = max(1, max(len(t) for t in self.row_taps))
        self.max_col_taps = max(1, max(len(t) for t in self.col_taps))
        padded = np.zeros((self.go * self.lanes, self.c, self.kh, self.kw), np.int64)
        padded[: self.co] = weight
        # row ((c*kh + ky)*kw + kx)*go + og holds lanes og*P .. og*P+P-1
        self.weight_rows = padded.reshape(self.go, self.lanes, self.c, self.kh, self.kw).transpose(2, 3, 4, 0, 1) \
            .reshape(-1, self.lanes)
        self.fan_out = self.co * max(len(t) for t in self.row_taps) * max(len(t) for t in self.col_taps)
        # the raw (unshifted, bias-free) accumulator holds any sum of one neuron's weights
        per_neuron = self.weight_rows.reshape(self.c * self.kh * self.kw, self.go * self.lanes)
        self.acc_bits = ir.signed_bits(int(np.where(per_neuron < 0, per_neuron, 0).sum(axis=0).min()),
                                       int(np.where(per_neuron > 0, per_neuron, 0).sum(axis=0).max()))

    def memory_bits(self, weight_bits: int, state_bits: int) -> dict[str, int]:
        """Bits of each RAM of the engine: weights, the two accumulator banks, the state codes."""
        return {"weight": len(self.weight_rows) * self.lanes * weight_bits,
                "accumulator": 2 * self.groups * self.lanes * self.acc_bits,
                "state": self.groups * self.lanes * state_bits}

    def _taps(self, y: int, size: int, out_size: int, k: int) -> list[tuple[int, int]]:
        """(output coordinate, kernel offset) pairs that input coordinate y feeds."""
        return [(oy, y + self.pad - oy * self.stride) for oy in range(out_size)
                if 0 <= y + self.pad - oy * self.stride < k]


def _pack(values, bits: int) -> int:
    """Lanes (lane 0 in the low bits) as one unsigned word of two's-complement fields."""
    word = 0
    for i, v in enumerate(values):
        word |= (int(v) & ((1 << bits) - 1)) << (i * bits)
    return word


class LayerEngine(wiring.Component):
    def __init__(self, syn: ir.Dense | ir.Conv2d, lif: ir.LIF, lanes: int):
        self.syn, self.lif = syn, lif
        self.geo = g = Geometry(syn, lanes)
        # 1-bit weights store b for the value 2b-1 (binary {-1, +1})
        self.weight_bits = syn.weight_bits
        self.acc_bits = g.acc_bits
        self.current_bits = syn.acc_bits
        self.state_bits = lif.state_bits
        super().__init__({
            "i_spikes": In(spike_stream()),
            "o_spikes": Out(spike_stream()),
            "dbg_addr": In(range(max(g.groups, 2))),
            "dbg_state": Out(g.lanes * lif.state_bits),
            "scatter_busy": Out(1),
            "update_busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        g, lif, syn = self.geo, self.lif, self.syn
        P, wb, ab, sb = g.lanes, self.weight_bits, self.acc_bits, self.state_bits

        # ---- memories -------------------------------------------------------------------
        stored = (g.weight_rows + 1) // 2 if wb == 1 else g.weight_rows
        # depths of at least 2: a depth-1 memory has a zero-width address, which Verilog cannot express
        m.submodules.weights = wmem = memory.Memory(shape=unsigned(P * wb), depth=max(len(stored), 2),
                                                    init=[_pack(row, wb) for row in stored])
        w_rd = wmem.read_port()
        banks = []
        for b in range(2):
            mem = memory.Memory(shape=unsigned(P * ab), depth=max(g.groups, 2), init=[])
            m.submodules[f"acc{b}"] = mem
            banks.append((mem.read_port(), mem.write_port()))
        m.submodules.state = smem = memory.Memory(shape=unsigned(P * sb), depth=max(g.groups, 2), init=[])
        s_rd, s_wr, s_dbg = smem.read_port(), smem.write_port(), smem.read_port()
        m.d.comb += [s_dbg.addr.eq(self.dbg_addr), self.dbg_state.eq(s_dbg.data)]

        # ---- scatter: one (weight row, accumulator group) step per cycle ------------------
        bank = Signal()  # the bank the scatter fills; the update drains ~bank
        ev_valid = Signal()  # an input spike (ev_c, ev_y, ev_x) is being scattered
        ev_c = Signal(range(max(g.c, 2)))
        ev_y = Signal(range(max(g.h, 2)))
        ev_x = Signal(range(max(g.w, 2)))
        ti = Signal(range(g.max_row_taps + 1))  # row tap, column tap and channel group of the step
        tk = Signal(range(g.max_col_taps + 1))
        og = Signal(range(g.go + 1))
        row_n = Signal(range(g.max_row_taps + 1))  # taps of the event's row and column
        col_n = Signal(range(g.max_col_taps + 1))
        m.d.comb += [row_n.eq(Array(Const(len(t), range(g.max_row_taps + 1)) for t in g.row_taps)[ev_y]),
                     col_n.eq(Array(Const(len(t), range(g.max_col_taps + 1)) for t in g.col_taps)[ev_x])]
        flat = lambda taps, n: [taps[i][j] if j < len(taps[i]) else (0, 0) for i in range(len(taps)) for j in range(n)]
        rows, cols = flat(g.row_taps, g.max_row_taps), flat(g.col_taps, g.max_col_taps)
        oy = Array(Const(t[0], range(max(g.ho, 2))) for t in rows)[times(ev_y, g.max_row_taps) + ti]
        ky = Array(Const(t[1], range(max(g.kh, 2))) for t in rows)[times(ev_y, g.max_row_taps) + ti]
        ox = Array(Const(t[0], range(max(g.wo, 2))) for t in cols)[times(ev_x, g.max_col_taps) + tk]
        kx = Array(Const(t[1], range(max(g.kw, 2))) for t in cols)[times(ev_x, g.max_col_taps) + tk]

        has_work = Signal()
        m.d.comb += has_work.eq(ev_valid & (row_n != 0) & (col_n != 0))
        last_step = (og == g.go - 1) & (tk == col_n - 1) & (ti == row_n - 1)
        issue = Signal()
        m.d.comb += issue.eq(has_work)
        with m.If(issue):
            with m.If(og == g.go - 1):
                m.d.sync += og.eq(0)
                with m.If(tk == col_n - 1):
                    m.d.sync += [tk.eq(0), ti.eq(ti + 1)]
                with m.Else():
                    m.d.sync += tk.eq(tk + 1)
            with m.Else():
                m.d.sync += og.eq(og + 1)
        event_done = ~ev_valid | ~has_work | last_step

        # read-modify-write of the scattered group, one cycle behind the issue
        rmw_valid = Signal()
        rmw_addr = Signal(range(max(g.groups, 2)))
        acc_addr = times(times(og, g.ho) + oy, g.wo) + ox
        m.d.comb += w_rd.addr.eq(times(times(times(ev_c, g.kh) + ky, g.kw) + kx, g.go) + og)
        m.d.sync += [rmw_valid.eq(issue), rmw_addr.eq(acc_addr)]

        swap_wait = Signal()  # an end-of-timestep token was taken; waiting to hand the bank over
        update_idle = Signal()
        ser_empty = Signal()
        clearing = Signal(init=1)
        clear_addr = Signal(range(max(g.groups, 2)))
        with m.If(clearing):
            m.d.sync += clear_addr.eq(clear_addr + 1)
            with m.If(clear_addr == g.groups - 1):
                m.d.sync += clearing.eq(0)
        m.d.comb += self.i_spikes.ready.eq(event_done & ~swap_wait & ~clearing)
        with m.If(self.i_spikes.valid & self.i_spikes.ready):
            with m.If(self.i_spikes.payload.eot):
                m.d.sync += [swap_wait.eq(1), ev_valid.eq(0)]
            with m.Else():
                addr = self.i_spikes.payload.addr
                m.d.sync += [ev_valid.eq(1), ti.eq(0), tk.eq(0), og.eq(0)]
                if g.h * g.w == 1:
                    m.d.sync += ev_c.eq(addr)
                else:
                    hw = g.h * g.w
                    n = g.c * hw
                    m.d.sync += [ev_c.eq(Array(Const(i // hw, range(max(g.c, 2))) for i in range(n))[addr]),
                                 ev_y.eq(Array(Const(i // g.w % g.h, range(max(g.h, 2))) for i in range(n))[addr]),
                                 ev_x.eq(Array(Const(i % g.w, range(max(g.w, 2))) for i in range(n))[addr])]
        with m.Elif(event_done):
            m.d.sync += ev_valid.eq(0)
        start_update = Signal()
        m.d.comb += start_update.eq(swap_wait & ~rmw_valid & update_idle & ser_empty)
        with m.If(start_update):
            m.d.sync += [swap_wait.eq(0), bank.eq(~bank)]
        m.d.comb += self.scatter_busy.eq(ev_valid)

        # ---- update: one group per cycle through P LIF lanes -------------------------------
        running = Signal()
        first = Signal(init=1)  # the first timestep after start: the stored state reads as 0
        u_g = Signal(range(g.groups + 1))
        u_og = Signal(range(g.go + 1))
        u_pix = Signal(range(g.ho * g.wo + 1))
        m.d.comb += update_idle.eq(~running)
        with m.If(start_update):
            m.d.sync += [running.eq(1), u_g.eq(0), u_og.eq(0), u_pix.eq(0)]
        issuing = running & (u_g < g.groups)
        with m.If(issuing):
            m.d.sync += u_g.eq(u_g + 1)
            with m.If(u_pix == g.ho * g.wo - 1):
                m.d.sync += [u_pix.eq(0), u_og.eq(u_og + 1)]
            with m.Else():
                m.d.sync += u_pix.eq(u_pix + 1)
        # pipeline bookkeeping: stage 1 = memory data, stages 2.. = LIF latency
        depth = 1 + LATENCY
        pv = [Signal(name=f"pv{i}") for i in range(depth + 1)]
        pg = [Signal(range(max(g.groups, 2)), name=f"pg{i}") for i in range(depth + 1)]
        pog = [Signal(range(max(g.go, 2)), name=f"pog{i}") for i in range(depth + 1)]
        ppix = [Signal(range(max(g.ho * g.wo, 2)), name=f"ppix{i}") for i in range(depth + 1)]
        m.d.comb += [pv[0].eq(issuing), pg[0].eq(u_g), pog[0].eq(u_og), ppix[0].eq(u_pix)]
        for i in range(depth):
            m.d.sync += [pv[i + 1].eq(pv[i]), pg[i + 1].eq(pg[i]), pog[i + 1].eq(pog[i]), ppix[i + 1].eq(ppix[i])]

        # accumulator bank ports: scatter uses `bank`, update uses `~bank`
        # after a reset (start of an inference) both banks are cleared before any spike is taken
        new_acc = Signal(P * ab)
        for b, (rd, wr) in enumerate(banks):
            mine = bank == b  # this bank belongs to the scatter now
            m.d.comb += [rd.addr.eq(Mux(mine, acc_addr, u_g)),
                         wr.addr.eq(Mux(clearing, clear_addr, Mux(mine, rmw_addr, pg[1]))),
                         wr.data.eq(Mux(mine & ~clearing, new_acc, 0)),
                         wr.en.eq(clearing | Mux(mine, rmw_valid, pv[1]))]
        scatter_rd = Mux(bank, banks[1][0].data, banks[0][0].data)
        update_rd = Mux(bank, banks[0][0].data, banks[1][0].data)
        # write forwarding: a group read in the same cycle as its previous update is written gets
        # that update's data instead of the RAM's (read-first) output
        fwd = Signal()
        fwd_data = Signal(P * ab)
        m.d.sync += [fwd.eq(issue & rmw_valid & (rmw_addr == acc_addr)), fwd_data.eq(new_acc)]
        scatter_old = Mux(fwd, fwd_data, scatter_rd)
        for lane in range(P):
            old = scatter_old[lane * ab:(lane + 1) * ab].as_signed()
            wfield = w_rd.data[lane * wb:(lane + 1) * wb]
            wval = (wfield.as_unsigned() * 2 - 1) if wb == 1 else wfield.as_signed()
            m.d.comb += new_acc[lane * ab:(lane + 1) * ab].eq(old + wval)

        # per-output-channel shift and bias: constants when uniform, else a table indexed by og
        shift_tab, bias_tab = self._lane_params()
        m.d.comb += [s_rd.addr.eq(u_g)]
        og1 = pog[1]
        lanes = []
        for lane in range(P):
            m.submodules[f"lif{lane}"] = unit = LIFUpdate(lif, self.current_bits)
            acc = update_rd[lane * ab:(lane + 1) * ab].as_signed()
            shift, bias = (t[lane] if isinstance(t[lane], int) else t[lane][og1] for t in (shift_tab, bias_tab))
            m.d.comb += [unit.valid_in.eq(pv[1]), unit.first.eq(first),
                         unit.state_in.eq(s_rd.data[lane * sb:(lane + 1) * sb]),
                         unit.current.eq((acc << shift) + bias)]
            lanes.append(unit)

        # write back states, queue spike masks
        last = depth
        m.submodules.serializer = ser = SpikeSerializer(P, g.ho * g.wo, g.groups + 2)
        wiring.connect(m, wiring.flipped(self.o_spikes), ser.o_spikes)
        m.d.comb += ser_empty.eq(ser.empty)
        valid_lanes = Array(Const(sum(1 << l for l in range(P) if og_i * P + l < g.co), P) for og_i in range(g.go))
        mask = Cat(unit.spike for unit in lanes) & valid_lanes[pog[last]]
        m.d.comb += [s_wr.addr.eq(pg[last]), s_wr.data.eq(Cat(unit.state_out for unit in lanes)),
                     s_wr.en.eq(pv[last].replicate(P * sb))]
        drained = running & (u_g == g.groups) & ~Cat(*pv[1:]).any()
        m.d.comb += [ser.i_masks.valid.eq((pv[last] & (mask != 0)) | drained),
                     ser.i_masks.payload.base.eq(times(pog[last], P * g.ho * g.wo) + ppix[last]),
                     ser.i_masks.payload.mask.eq(Mux(drained, 0, mask)),
                     ser.i_masks.payload.eot.eq(drained)]
        with m.If(drained):
            m.d.sync += [running.eq(0), first.eq(0)]
        m.d.comb += self.update_busy.eq(running)
        return m

    def _lane_params(self):
        """Per lane: an int when the value is the same for every channel group, else an Array over og."""
        g, syn = self.geo, self.syn
        out = []
        for values, signed_values in ((syn.shift, False), (syn.bias, True)):
            padded = np.zeros(g.go * g.lanes, np.int64)
            padded[: g.co] = values
            per_lane = padded.reshape(g.go, g.lanes)
            if np.all(per_lane == per_lane[0, 0]):
                out.append([int(per_lane[0, 0])] * g.lanes)
            else:
                lo, hi = int(per_lane.min()), int(per_lane.max())
                shape = signed(ir.signed_bits(lo, hi)) if signed_values else unsigned(max(hi.bit_length(), 1))
                out.append([Array(Const(int(v), shape) for v in per_lane[:, lane]) for lane in range(g.lanes)])
        return out
