"""NeuronUpdate: the update side of a layer engine (docs/rtl.md).

After `start`, one group per cycle: read its P accumulators (from the bank the scatter has just
filled) and P stored states, current = (acc << shift) + bias per lane, P LIF datapaths (LIFUpdate),
the new states written back, the group's accumulators cleared for the next timestep, and the
group's spike mask queued to the SpikeSerializer, which emits the spike addresses and, after the
last group, the end-of-timestep token.  The first timestep after a reset reads every state as 0.
With pools (geometry.LayerGeometry) the walk goes window by window: a max pool of currents keeps a
running maximum over a neuron's k1 x k1 accumulators and steps the LIF on the last one; a max pool
of spikes ORs the masks of a k2 x k2 window's neurons and queues one mask per window; a crop (and
a pool's remainder) updates every neuron but queues only the masks inside the emitted grid.

Ports: `start` in; `idle` out (no update running and no spike left to emit: the engine may start
the next one); `acc_rd_addr` -> `acc_rd_data` (one cycle later), `acc_clr_addr`/`acc_clr_en`: the
drained bank; `o_spikes` spike stream; `dbg_addr` -> `dbg_state` reads a state word (the U lanes of
one part of a group: the state RAM holds a group's P/U parts as consecutive words);
`busy` (an update is running), `step` (a step of the walk is issued this cycle).
"""
from __future__ import annotations

import numpy as np
from amaranth import Array, Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from snnc.compiler import ir
from snnc.compiler.engine_model import QUEUE_END_ENTRIES, RAM_READ_CYCLES, EngineModel
from snnc.compiler.geometry import LayerGeometry, index_range
from snnc.compiler.shapes import signed_bits
from snnc.compiler.tokens import SpikeTokens, field_bits

from .arith import times
from .lif_update import LATENCY, LIFUpdate
from .scatter import accumulator_layout
from .spike_serializer import SpikeSerializer
from .spikes import packed_address, spike_stream
from .state_codec import state_shape


def state_layout(geo: LayerGeometry, lif: ir.LIF) -> data.ArrayLayout:
    """A state RAM word: the U update units' lanes of one part of a group (geometry.state_words)."""
    return data.ArrayLayout(state_shape(lif), geo.units)


class NeuronUpdate(wiring.Component):
    def __init__(self, geo: LayerGeometry, lif: ir.LIF, tokens: SpikeTokens):
        """tokens: the encoding of the outgoing spikes (the LIF's shape, or its pool's or crop's)."""
        self.geo, self.lif, self.tokens = geo, lif, tokens
        super().__init__({
            "start": In(1), "idle": Out(1), "busy": Out(1), "step": Out(1),
            "acc_rd_addr": Out(index_range(geo.groups)), "acc_rd_data": In(accumulator_layout(geo)),
            "acc_clr_addr": Out(index_range(geo.groups)), "acc_clr_en": Out(1),
            "o_spikes": Out(spike_stream(tokens.address_bits)),
            "dbg_addr": In(index_range(geo.state_words)), "dbg_state": Out(state_layout(geo, lif)),
        })

    def elaborate(self, platform):
        m = Module()
        g, lif, P = self.geo, self.lif, self.geo.lanes
        # one word per part of a group: each unit reads and writes its own lane's state, with no
        # P-lane word to multiplex or write piecewise (a LUT RAM where a P-lane word was flip-flops)
        m.submodules.state = smem = memory.Memory(shape=state_layout(g, lif), depth=max(g.state_words, 2), init=[])
        s_rd, s_wr, s_dbg = smem.read_port(), smem.write_port(), smem.read_port()
        m.d.comb += [s_dbg.addr.eq(self.dbg_addr), self.dbg_state.eq(s_dbg.data)]

        running = Signal()
        first = Signal(init=1)  # the first timestep after a reset: the stored state reads as 0
        model = EngineModel(g, lif)
        queue_depth, depth = model.queue_depth, RAM_READ_CYCLES + LATENCY  # depth: issue to the LIF's output
        queue_level = Signal(range(queue_depth + 1))
        step = Signal(range(g.update_steps + 1))
        issuing = running & (step < g.update_steps)
        if not model.queue_holds_a_timestep:  # a short queue: issue only when the masks in the
            # pipeline, this one and the end token will find room
            issuing &= queue_level < queue_depth - (depth + QUEUE_END_ENTRIES)
        with m.If(issuing):
            m.d.sync += step.eq(step + 1)
        # the walk, innermost first: a group word's P lanes in P/U parts of U, (dx, dy) over a
        # neuron's k1 x k1 currents, (ex, ey) over the neurons of a k2 x k2 spike window, (qx, qy)
        # over the windows, og over the channel groups
        walk = {"part": g.parts, "dx": g.k1, "dy": g.k1, "ex": g.k2, "ey": g.k2, "qx": g.walk_w // g.k2,
                "qy": g.walk_h // g.k2, "og": g.go}
        at, carry = {}, issuing
        for name, limit in walk.items():
            at[name] = counter = Signal(range(max(limit, 2)), name=f"u_{name}")
            if limit > 1:
                with m.If(carry):
                    m.d.sync += counter.eq(Mux(counter == limit - 1, 0, counter + 1))
                carry &= counter == limit - 1
        with m.If(self.start):
            m.d.sync += [running.eq(1), step.eq(0), *(counter.eq(0) for counter in at.values())]
        py, px = times(at["qy"], g.k2) + at["ey"], times(at["qx"], g.k2) + at["ex"]
        neuron_ok = (py < g.lif_h) & (px < g.lif_w)  # an edge window's missing neurons are bubbles
        acc_addr = times(times(at["og"], g.ho) + times(py, g.k1) + at["dy"], g.wo) + times(px, g.k1) + at["dx"]
        group = times(times(at["og"], g.lif_h) + py, g.lif_w) + px
        m.d.comb += [self.acc_rd_addr.eq(acc_addr), s_rd.addr.eq(times(group, g.parts) + at["part"])]
        last_of = lambda a, b, k: (at[a] == k - 1) & (at[b] == k - 1)

        # pipeline bookkeeping: stage 1 = memory data, stages 2.. = LIF latency
        fields = {"valid": (issuing & neuron_ok, 1), "acc": (acc_addr, index_range(g.groups)),
                  "state": (s_rd.addr, index_range(g.state_words)), "og": (at["og"], index_range(g.go)),
                  "qy": (at["qy"], range(max(walk["qy"], 2))), "qx": (at["qx"], range(max(walk["qx"], 2))),
                  "part": (at["part"], range(max(g.parts, 2))),
                  "w1_first": ((at["dx"] == 0) & (at["dy"] == 0), 1), "w1_last": (last_of("dx", "dy", g.k1), 1),
                  "w2_first": ((at["ex"] == 0) & (at["ey"] == 0), 1), "w2_last": (last_of("ex", "ey", g.k2), 1),
                  "emit": ((at["qy"] < g.out_h) & (at["qx"] < g.out_w), 1)}
        pipe = {}
        for name, (value, shape) in fields.items():
            pipe[name] = regs = [Signal(shape, name=f"p{name}{i}") for i in range(depth + 1)]
            m.d.comb += regs[0].eq(value)
            m.d.sync += [regs[i + 1].eq(regs[i]) for i in range(depth)]
        at1 = lambda name: pipe[name][1]
        last_part = lambda stage: pipe["part"][stage] == g.parts - 1
        # a group word is cleared once its last part has been read
        m.d.comb += [self.acc_clr_addr.eq(at1("acc")), self.acc_clr_en.eq(at1("valid") & last_part(1))]

        units, U = [], g.units

        def by_part(values: list, u: int):
            """Unit u's value this cycle: lane part * U + u of `values` (one per lane)."""
            options = [values[j * U + u] for j in range(g.parts)]
            if all(isinstance(v, int) and v == options[0] for v in options):
                return options[0]
            return Array(options)[at1("part")]
        shifts, biases = self._lane_params(m, at["og"])
        for u in range(U):
            m.submodules[f"lif{u}"] = unit = LIFUpdate(lif, g.synapse.current_bits)
            raw = by_part([self.acc_rd_data[lane] for lane in range(P)], u)
            if g.k1 > 1:  # max pool of the currents: a running maximum over the neuron's window, per lane
                best = [Signal(signed(g.accumulator_bits), name=f"window_max{lane}") for lane in range(P)]
                so_far = by_part(best, u)
                raw = Mux(at1("w1_first") | (raw > so_far), raw, so_far)
                for j in range(g.parts):
                    with m.If(at1("valid") & (at1("part") == j)):
                        m.d.sync += best[j * U + u].eq(raw)
            shift, bias = by_part(shifts, u), by_part(biases, u)
            m.d.comb += [unit.valid_in.eq(at1("valid") & at1("w1_last")), unit.first.eq(first),
                         unit.state_in.eq(s_rd.data[u]),
                         unit.current.eq((raw << shift) + bias)]
            units.append(unit)

        last = lambda name: pipe[name][depth]
        # lane l of a group is channel og*P + l: one channel field step apart in the packed address
        lane_stride = 1 << sum(field_bits(self.tokens.shape)[1:])
        m.submodules.serializer = ser = SpikeSerializer(P, lane_stride, queue_depth, self.tokens.address_bits)
        m.d.comb += queue_level.eq(ser.level)
        wiring.connect(m, wiring.flipped(self.o_spikes), ser.o_spikes)
        fired = last("valid") & last("w1_last")  # a part of a LIF neuron group's step lands this cycle
        # each part's spikes, ORed over a k2 window's neurons (w2_first restarts the OR; without a
        # spike pool every neuron is its own window), held until the group's last part
        parts_or = [Signal(U, name=f"spikes_part{j}") for j in range(g.parts)]
        now = Mux(last("w2_first"), 0, Array(parts_or)[last("part")] if g.parts > 1 else parts_or[0]) \
            | Cat(unit.spike for unit in units)
        for j in range(g.parts):
            with m.If(fired & (last("part") == j)):
                m.d.sync += parts_or[j].eq(now)
        spikes = Cat(*parts_or[:-1], now)
        last_lanes = g.co - (g.go - 1) * P  # the last channel group may be partly padding
        mask = spikes if last_lanes == P else Mux(last("og") == g.go - 1, spikes & ((1 << last_lanes) - 1), spikes)
        m.d.comb += [s_wr.addr.eq(last("state")), s_wr.data.eq(Cat(unit.state_out for unit in units)),
                     s_wr.en.eq(fired)]
        drained = running & (step == g.update_steps) & ~Cat(*(pipe["valid"][1:])).any()
        emit = fired & last_part(depth) & last("w2_last") & last("emit") & (mask != 0)
        m.d.comb += [ser.i_masks.valid.eq(emit | drained),
                     # the end-of-timestep token has address 0 (tokens.SpikeTokens)
                     ser.i_masks.payload.base.eq(Mux(drained, 0, self._base_address(last("og"), last("qy"), last("qx")))),
                     ser.i_masks.payload.mask.eq(Mux(drained, 0, mask)),
                     ser.i_masks.payload.eot.eq(drained)]
        with m.If(drained):
            m.d.sync += [running.eq(0), first.eq(0)]
        m.d.comb += [self.idle.eq(~running & ser.empty), self.busy.eq(running), self.step.eq(issuing)]
        return m

    def _base_address(self, og, oy, ox):
        """The packed address of lane 0 of emitted group (og, oy, ox): channel og*P."""
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
