"""NeuronUpdate: the update side of a layer engine (docs/rtl.md).

After `start`, one group per cycle (per part of U lanes when U < P): read its P accumulators (from
the bank the scatter has just filled) and stored states, current = (acc << shift) + bias per lane,
U LIF datapaths (LIFUpdate), the new states written back, the group's accumulators cleared for
the next timestep, and the group's spike mask queued to the SpikeSerializer, which emits the spike
addresses and, after the last group, the end-of-timestep token.  The first timestep after a reset
reads every state as 0.  With pools (geometry.LayerGeometry) the walk goes window by window: a max
pool of currents keeps a running maximum per lane over a neuron group's k1 x k1 accumulator words,
read once, and steps the LIF units part by part from the phase that reads the last one
(rtl_gen/update_walk.py); a max pool of spikes ORs the masks of a k2 x k2 window's neurons and
queues one mask per window; a crop (and a pool's remainder) updates every neuron but queues only
the masks inside the emitted grid.  A readout (lif.readout) queues every neuron, each with its new
state word, which the serializer emits in place of the address (tokens.MembraneTokens).

Ports: `start` in; `idle` out (no update running and no spike left to emit: the engine may start
the next one); `acc`: the drained bank (AccumulatorPort; its writes clear each group word it has
read: the LayerEngine clears the word's tag, or with one bank writes a zero); `o_spikes` spike stream; `dbg_addr` -> `dbg_state` reads a state word (the U lanes of
one part of a group: the state RAM holds a group's P/U parts as consecutive words);
`busy` (an update is running), `step` (a step of the walk is issued this cycle).
"""
from __future__ import annotations

import numpy as np
from amaranth import Array, Cat, Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from snnc.compiler import ir
from snnc.compiler.engine_model import QUEUE_END_ENTRIES, RAM_READ_CYCLES, EngineModel
from snnc.compiler.geometry import LayerGeometry, index_range
from snnc.compiler.shapes import signed_bits
from snnc.compiler.tokens import SpikeTokens, field_bits
from snnc.compiler.update_skips import steady_levels

from .accumulator_port import AccumulatorPort, accumulator_layout
from .arith import times
from .delay_line import DelayLine
from .lif_update import LATENCY, LIFUpdate, settle_roms, stored_shape
from .spike_serializer import SpikeSerializer
from .spikes import packed_address, spike_stream
from .update_walk import UpdateWalk, walk_layout
from .window_max import WindowMax


def state_layout(geo: LayerGeometry, lif: ir.LIF) -> data.ArrayLayout:
    """A state RAM word: the U update units' lanes of one part of a group (geometry.state_words)."""
    return data.ArrayLayout(stored_shape(lif), geo.units)


class NeuronUpdate(wiring.Component):
    def __init__(self, geo: LayerGeometry, lif: ir.LIF, tokens: SpikeTokens):
        """tokens: the encoding of the outgoing spikes (the LIF's shape, or its pool's or crop's)."""
        self.geo, self.lif, self.tokens = geo, lif, tokens
        super().__init__({
            "start": In(1), "idle": Out(1), "busy": Out(1), "step": Out(1),
            "acc": Out(AccumulatorPort(geo, own_addresses=geo.window_reads > 1)),
            "o_spikes": Out(spike_stream(tokens.address_bits)),
            "dbg_addr": In(index_range(geo.state_words)), "dbg_state": Out(state_layout(geo, lif)),
        })

    def elaborate(self, platform):
        m = Module()
        g, lif = self.geo, self.lif
        # one word per part of a group: each unit reads and writes its own lane's state, with no
        # P-lane word to multiplex or write piecewise (a LUT RAM where a P-lane word was flip-flops)
        m.submodules.state = smem = memory.Memory(shape=state_layout(g, lif), depth=max(g.state_words, 2), init=[])
        s_rd, s_wr, s_dbg = smem.read_port(), smem.write_port(), smem.read_port()
        m.d.comb += [s_dbg.addr.eq(self.dbg_addr), self.dbg_state.eq(s_dbg.data)]

        model = EngineModel(g, lif)
        depth = RAM_READ_CYCLES + LATENCY  # from issuing a step to the LIF's output
        m.submodules.walk = walk = UpdateWalk(g, model.event_driven)
        m.submodules.pipeline = pipe = DelayLine(walk_layout(g), depth)  # stage 1: memory data; 2..: the LIF
        # lane l of a group is channel og*P + l: one channel field step apart in the packed address
        lane_stride = 1 << sum(field_bits(self.tokens.shape)[1:])
        m.submodules.serializer = ser = SpikeSerializer(g.lanes, lane_stride, model.queue_depth, self.tokens.address_bits,
                                                        lif.state_bits if lif.readout else 0)
        wiring.connect(m, wiring.flipped(self.o_spikes), ser.o_spikes)
        # a short queue: issue only when the masks in the pipeline, this one and the end token find room
        room = 1 if model.queue_holds_a_timestep else ser.level < model.queue_depth - (depth + QUEUE_END_ENTRIES)
        at1, last = pipe.o[1], pipe.o[depth]
        m.d.comb += [walk.start.eq(self.start), walk.room.eq(room), pipe.i.eq(walk.pos),
                     self.acc.rd_addr.eq(walk.pos.acc), s_rd.addr.eq(walk.pos.state), self.acc.wr_addr.eq(at1.acc)]
        # a group word is cleared once it has been read for the last time (in its column's RAM); the
        # words read at stage 1, in window column order: the RAMs from at1.ram on (geometry.window_reads)
        # (a sparse bank's RAM per lane holds one lane of every word: all are read and cleared together)
        K, reads = g.columns, g.window_reads
        clears = [at1.valid & at1.cleared & (Cat(at1.ram == (k - dx) % K for dx in range(reads)).any() if K > 1 else 1)
                  for k in range(self.acc.signature.rams)]
        m.d.comb += self.acc.wr_en.eq(Cat(clears))
        words = data.ArrayLayout(accumulator_layout(g), K)(self.acc.rd_data.as_value())
        read = [Array(words[(k + dx) % K] for k in range(K))[at1.ram] if K > 1 else words[0] for dx in range(reads)]

        first = Signal(init=1)  # the first timestep after a reset: the stored state reads as 0
        units = self._units(m, walk.pos.og, at1, read, s_rd.data, first)
        fired = last.valid & last.w1_last  # a part of a LIF neuron group's step lands this cycle
        restart = self._skips(m, walk, at1, read, last, units, first, fired, depth) if model.event_driven else 0
        mask = self._spike_mask(m, units, last, fired, restart)
        if lif.readout:
            m.d.comb += ser.i_masks.payload.values.eq(self._state_words(m, units, last, fired))
        m.d.comb += [s_wr.addr.eq(last.state), s_wr.data.eq(Cat(unit.state_out for unit in units)), s_wr.en.eq(fired)]
        drained = walk.running & walk.walked & ~Cat(pipe.o[k].valid for k in range(1, depth + 1)).any()
        emit = fired & (last.part == g.parts - 1) & last.w2_last & last.emit & (mask != 0)
        m.d.comb += [ser.i_masks.valid.eq(emit | drained),
                     # the end-of-timestep token has address 0 (tokens.SpikeTokens)
                     ser.i_masks.payload.base.eq(Mux(drained, 0, self._base_address(last.og, last.qy, last.qx))),
                     ser.i_masks.payload.mask.eq(Mux(drained, 0, mask)),
                     ser.i_masks.payload.eot.eq(drained), walk.stop.eq(drained)]
        with m.If(drained):
            m.d.sync += first.eq(0)
        m.d.comb += [self.idle.eq(~walk.running & ser.empty), self.busy.eq(walk.running), self.step.eq(walk.issuing)]
        return m

    def _by_part(self, values: list, u: int, part: Value):
        """Unit u's value this cycle: lane part * U + u of `values` (one per lane)."""
        options = [values[j * self.geo.units + u] for j in range(self.geo.parts)]
        if all(isinstance(v, int) and v == options[0] for v in options):
            return options[0]
        return Array(options)[part]

    def _units(self, m: Module, og: Value, at1, read: list, states, first: Signal) -> list[LIFUpdate]:
        """The U LIF datapaths, fed at stage 1 (`at1`): each unit's lane of the accumulator words read
        (through a WindowMax with a max pool of currents), shifted and biased, and its stored state."""
        g, P = self.geo, self.geo.lanes
        shifts, biases, leaks = self._lane_params(m, og)
        currents = read[0]
        if g.k1 > 1:  # every lane's running maximum over the window's words, read a word or a row per phase
            m.submodules.window_max = window = WindowMax(g.accumulator_bits, P, len(read))
            m.d.comb += [window.first.eq(at1.w1_first), window.valid.eq(at1.valid),
                         *(window.value[dx].eq(word) for dx, word in enumerate(read))]
            currents = window.max
        units = []
        for u in range(g.units):
            m.submodules[f"lif{u}"] = unit = LIFUpdate(self.lif, g.synapse.current_bits)
            raw = self._by_part([currents[lane] for lane in range(P)], u, at1.part)
            shift, bias = self._by_part(shifts, u, at1.part), self._by_part(biases, u, at1.part)
            m.d.comb += [unit.valid_in.eq(at1.valid & at1.w1_last), unit.first.eq(first),
                         unit.state_in.eq(states[u]), unit.current.eq((raw << shift) + bias)]
            if self.lif.leak_per_channel:
                m.d.comb += unit.leak_b.eq(self._by_part(leaks, u, at1.part))
            units.append(unit)
        settle_roms(m, units)
        return units

    def _spike_mask(self, m: Module, units: list[LIFUpdate], last, fired: Value, restart) -> Value:
        """The group's P-lane spike mask as its last part lands: each part's spikes, ORed over a
        k2 window's neurons (w2_first restarts the OR; without a spike pool every neuron is its own
        window), held until the group's last part; the padding lanes of the last group masked.
        `restart`: a window's first group was skipped after this, its first part: the other parts
        restart too."""
        g, P = self.geo, self.geo.lanes
        parts_or = [Signal(g.units, name=f"spikes_part{j}") for j in range(g.parts)]
        fires = Cat(Const(1, 1) if self.lif.readout else unit.spike for unit in units)  # a readout emits every neuron
        now = Mux(last.w2_first, 0, Array(parts_or)[last.part] if g.parts > 1 else parts_or[0]) | fires
        for j in range(g.parts):
            with m.If(fired & (last.part == j)):
                m.d.sync += parts_or[j].eq(now)
            with m.Elif(restart):
                m.d.sync += parts_or[j].eq(0)
        spikes = Cat(*parts_or[:-1], now)
        last_lanes = g.co - (g.go - 1) * P  # the last channel group may be partly padding
        return spikes if last_lanes == P else Mux(last.og == g.go - 1, spikes & ((1 << last_lanes) - 1), spikes)

    def _skips(self, m: Module, walk: UpdateWalk, at1, read: list, last, units: list[LIFUpdate], first: Signal,
               fired: Value, depth: int) -> Value:
        """An event-driven update (compiler/update_skips.py): at a group's deciding phase (stage 1, its
        window's last word read), skip the group when its accumulators were all 0 and its neurons
        steady, which a 1-bit RAM per group keeps (written as the group's last part lands: any
        lane's new state not steady); never in the first timestep after a reset, which writes every
        group.
        Returns the pulse that restarts a skipped spike window's first group's masks as its first
        part lands (the window's OR must not keep the parts the skip leaves unstepped)."""
        g, lif = self.geo, self.lif
        m.submodules.active = active = memory.Memory(shape=1, depth=max(g.state_groups, 2), init=[])
        a_rd, a_wr = active.read_port(), active.write_port()
        # any accumulator of the window not 0, the words before these included
        word_fed, seen = Cat(word.as_value().any() for word in read).any(), Signal()
        fed = word_fed | (seen & ~at1.w1_first) if g.window_phases > 1 else word_fed
        with m.If(at1.valid):
            m.d.sync += seen.eq(fed)
        dead = at1.valid & at1.decides & ~fed & ~a_rd.data & ~first
        m.d.comb += [a_rd.addr.eq(walk.pos.group), walk.skip.eq(dead),
                     walk.to_last.eq(at1.w2_last if g.k2 > 1 else 0)]
        # a part's lanes not steady (update_skips.steady), ORed over the group's parts as they land
        away = Cat(~self._steady(unit.state_out.v if lif.synaptic else unit.state_out) |
                   (unit.state_out.c != self._stored(0) if lif.synaptic else 0) for unit in units).any()
        group_away = Signal()
        now = away | (group_away & (last.part != 0))
        with m.If(fired):
            m.d.sync += group_away.eq(now)
        m.d.comb += [a_wr.addr.eq(last.group), a_wr.data.eq(now), a_wr.en.eq(fired & (last.part == g.parts - 1))]
        if g.k2 == 1:
            return 0
        m.submodules.restart = restart = DelayLine(1, depth - 1)  # to where the deciding phase lands
        m.d.comb += restart.i.eq(dead & at1.w2_first)
        return restart.o[depth - 1] & fired

    def _stored(self, value: int) -> int:
        """The stored state of a membrane value: its level's code, or the value itself."""
        return value if self.lif.levels is None else int(np.flatnonzero(self.lif.levels == value)[0])

    def _steady(self, stored: Value) -> Value:
        """A neuron whose stored membrane a current of 0 keeps (update_skips.steady_levels): a table
        over the codes, or 0 without levels."""
        values = steady_levels(self.lif)
        if self.lif.levels is None:
            return stored == 0
        return Array(Const(int(v in values), 1) for v in self.lif.levels)[stored]

    def _state_words(self, m: Module, units: list[LIFUpdate], last, fired: Value) -> Value:
        """A readout group's P lane state words as its last part lands: each part's U words, held
        until then (lane j*U + u is part j's unit u)."""
        g = self.geo
        now = Cat(unit.state_out.v if self.lif.synaptic else unit.state_out for unit in units)
        held = [Signal(len(now), name=f"states_part{j}") for j in range(g.parts - 1)]
        for j, word in enumerate(held):
            with m.If(fired & (last.part == j)):
                m.d.sync += word.eq(now)
        return Cat(*held, now)

    def _base_address(self, og, oy, ox):
        """The packed address of lane 0 of emitted group (og, oy, ox): channel og*P."""
        channel = times(og, self.geo.lanes)
        indices = (channel, oy, ox) if len(self.tokens.shape) == 3 else (channel,)
        return packed_address(self.tokens, *indices)

    def _lane_params(self, m: Module, og: Signal):
        """Per lane, the shift, the bias and the leak B of the group read at stage 1: an int when
        every channel has the same value, else a table over the channel groups, read at `og` (stage
        0) from a ROM with one cycle of latency (a constant table of thousands of entries would be a
        huge mux)."""
        g, syn = self.geo, self.geo.synapse
        out = []
        for name, values, is_signed in (("shifts", syn.shift, False), ("biases", syn.bias, True),
                                        ("leaks", self.lif.leaks, False)):
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
