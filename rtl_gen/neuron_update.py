"""NeuronUpdate: the update side of a layer engine (docs/rtl.md).

After `start`, one group per cycle: read its P accumulators (from the bank the scatter has just
filled) and P stored states, current = (acc << shift) + bias per lane, P LIF datapaths (LIFUpdate),
the new states written back, the group's accumulators cleared for the next timestep, and the
group's spike mask queued to the SpikeSerializer, which emits the spike addresses and, after the
last group, the end-of-timestep token.  The first timestep after a reset reads every state as 0.

Ports: `start` in; `idle` out (no update running and no spike left to emit: the engine may start
the next one); `acc_rd_addr` -> `acc_rd_data` (one cycle later), `acc_clr_addr`/`acc_clr_en`: the
drained bank; `o_spikes` spike stream; `dbg_addr` -> `dbg_state` reads a group's stored states;
`busy` (an update is running).
"""
from __future__ import annotations

import numpy as np
from amaranth import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from snnc.compiler import ir
from snnc.compiler.contracts import SpikeTokens, field_bits
from snnc.compiler.geometry import LayerGeometry, index_range, signed_bits, spike_queue_depth

from .arith import times
from .lif_update import LATENCY, LIFUpdate
from .scatter import accumulator_layout
from .spike_serializer import SpikeSerializer
from .spikes import packed_address, spike_stream
from .state_codec import state_shape


def state_layout(geo: LayerGeometry, lif: ir.LIF) -> data.ArrayLayout:
    return data.ArrayLayout(state_shape(lif), geo.lanes)


class NeuronUpdate(wiring.Component):
    def __init__(self, geo: LayerGeometry, lif: ir.LIF, tokens: SpikeTokens):
        """tokens: the encoding of the outgoing spikes (shape lif.shape)."""
        self.geo, self.lif, self.tokens = geo, lif, tokens
        super().__init__({
            "start": In(1), "idle": Out(1), "busy": Out(1),
            "acc_rd_addr": Out(index_range(geo.groups)), "acc_rd_data": In(accumulator_layout(geo)),
            "acc_clr_addr": Out(index_range(geo.groups)), "acc_clr_en": Out(1),
            "o_spikes": Out(spike_stream(tokens.address_bits)),
            "dbg_addr": In(index_range(geo.groups)), "dbg_state": Out(state_layout(geo, lif)),
        })

    def elaborate(self, platform):
        m = Module()
        g, lif, P = self.geo, self.lif, self.geo.lanes
        m.submodules.state = smem = memory.Memory(shape=state_layout(g, lif), depth=max(g.groups, 2), init=[])
        s_rd, s_wr, s_dbg = smem.read_port(), smem.write_port(), smem.read_port()
        m.d.comb += [s_dbg.addr.eq(self.dbg_addr), self.dbg_state.eq(s_dbg.data)]

        running = Signal()
        first = Signal(init=1)  # the first timestep after a reset: the stored state reads as 0
        # the group walked: u_g = (og * ho + oy) * wo + ox
        u_g, u_og = Signal(range(g.groups + 1)), Signal(range(g.go + 1))
        u_oy, u_ox = Signal(index_range(g.ho)), Signal(index_range(g.wo))
        with m.If(self.start):
            m.d.sync += [running.eq(1), u_g.eq(0), u_og.eq(0), u_oy.eq(0), u_ox.eq(0)]
        queue_depth = spike_queue_depth(g)
        queue_level = Signal(range(queue_depth + 1))
        issuing = running & (u_g < g.groups)
        if queue_depth < g.groups + 2:  # a short queue: issue a group only when its mask (and the
            # masks of the groups in the pipeline, and the end token) will find room
            issuing &= queue_level < queue_depth - (LATENCY + 3)
        with m.If(issuing):
            m.d.sync += [u_g.eq(u_g + 1), u_ox.eq(u_ox + 1)]
            with m.If(u_ox == g.wo - 1):
                m.d.sync += [u_ox.eq(0), u_oy.eq(u_oy + 1)]
                with m.If(u_oy == g.ho - 1):
                    m.d.sync += [u_oy.eq(0), u_og.eq(u_og + 1)]
        m.d.comb += [self.acc_rd_addr.eq(u_g), s_rd.addr.eq(u_g)]

        # pipeline bookkeeping: stage 1 = memory data, stages 2.. = LIF latency
        depth = 1 + LATENCY
        stage = lambda name, shape: [Signal(shape, name=f"{name}{i}") for i in range(depth + 1)]
        pv, pg, pog = stage("pv", 1), stage("pg", index_range(g.groups)), stage("pog", index_range(g.go))
        poy, pox = stage("poy", index_range(g.ho)), stage("pox", index_range(g.wo))
        m.d.comb += [pv[0].eq(issuing), pg[0].eq(u_g), pog[0].eq(u_og), poy[0].eq(u_oy), pox[0].eq(u_ox)]
        for p in (pv, pg, pog, poy, pox):
            m.d.sync += [p[i + 1].eq(p[i]) for i in range(depth)]
        m.d.comb += [self.acc_clr_addr.eq(pg[1]), self.acc_clr_en.eq(pv[1])]

        units = []
        for lane, (shift, bias) in enumerate(zip(*self._lane_params(m, u_og))):
            m.submodules[f"lif{lane}"] = unit = LIFUpdate(lif, g.synapse.current_bits)
            m.d.comb += [unit.valid_in.eq(pv[1]), unit.first.eq(first), unit.state_in.eq(s_rd.data[lane]),
                         unit.current.eq((self.acc_rd_data[lane] << shift) + bias)]
            units.append(unit)

        last = depth
        # lane l of a group is channel og*P + l: one channel field step apart in the packed address
        lane_stride = 1 << sum(field_bits(self.tokens.shape)[1:])
        m.submodules.serializer = ser = SpikeSerializer(P, lane_stride, queue_depth, self.tokens.address_bits)
        m.d.comb += queue_level.eq(ser.level)
        wiring.connect(m, wiring.flipped(self.o_spikes), ser.o_spikes)
        spikes = Cat(unit.spike for unit in units)
        last_lanes = g.co - (g.go - 1) * P  # the last channel group may be partly padding
        mask = spikes if last_lanes == P else Mux(pog[last] == g.go - 1, spikes & ((1 << last_lanes) - 1), spikes)
        m.d.comb += [s_wr.addr.eq(pg[last]), s_wr.data.eq(Cat(unit.state_out for unit in units)),
                     s_wr.en.eq(pv[last].replicate(len(s_wr.en)))]
        drained = running & (u_g == g.groups) & ~Cat(*pv[1:]).any()
        m.d.comb += [ser.i_masks.valid.eq((pv[last] & (mask != 0)) | drained),
                     # the end-of-timestep token has address 0 (contracts.SpikeTokens)
                     ser.i_masks.payload.base.eq(Mux(drained, 0, self._base_address(pog[last], poy[last], pox[last]))),
                     ser.i_masks.payload.mask.eq(Mux(drained, 0, mask)),
                     ser.i_masks.payload.eot.eq(drained)]
        with m.If(drained):
            m.d.sync += [running.eq(0), first.eq(0)]
        m.d.comb += [self.idle.eq(~running & ser.empty), self.busy.eq(running)]
        return m

    def _base_address(self, og, oy, ox):
        """The packed address of lane 0 of group (og, oy, ox): channel og*P."""
        channel = times(og, self.geo.lanes)
        indices = (channel, oy, ox) if len(self.tokens.shape) == 3 else (channel,)
        return packed_address(self.tokens, *indices)

    def _lane_params(self, m: Module, og: Signal):
        """Per lane, the shift and the bias of the group read at stage 1: an int when every channel
        has the same value, else a table over the channel groups, read at `og` (stage 0) from a ROM
        with one cycle of latency (a constant table of thousands of entries would be a huge mux)."""
        g, syn = self.geo, self.geo.synapse
        out = []
        for name, values, is_signed in (("shifts", syn.shift, False), ("biases", syn.bias, True)):
            padded = np.zeros(g.go * g.lanes, np.int64)
            padded[: g.co] = values
            per_lane = padded.reshape(g.go, g.lanes)
            if np.all(per_lane == per_lane[0, 0]):
                out.append([int(per_lane[0, 0])] * g.lanes)
                continue
            lo, hi = int(per_lane.min()), int(per_lane.max())
            shape = signed(signed_bits(lo, hi)) if is_signed else unsigned(max(hi.bit_length(), 1))
            m.submodules[name] = rom = memory.Memory(shape=data.ArrayLayout(shape, g.lanes), depth=max(g.go, 2),
                                                     init=[list(map(int, row)) for row in per_lane])
            port = rom.read_port()
            m.d.comb += port.addr.eq(og)
            out.append([port.data[lane] for lane in range(g.lanes)])
        return out
