"""UpdateWalk: the order in which a NeuronUpdate visits a layer's neurons (docs/rtl.md).

After `start`, one step per cycle while `room` (the spike queue has room for what a step adds),
until every step of the timestep (geometry.LayerGeometry.update_steps) has been issued (`walked`);
`stop` ends the update.  The walk, innermost first: the phases of a neuron group (P lanes), then
(ex, ey) over the neurons of a k2 x k2 spike window (a max pool of spikes), (qx, qy) over the
windows, og over the channel groups.  A group's window_phases + P/U - 1 phases
(geometry.group_phases) read its k1 x k1 currents (a max pool of currents) one per phase, or with
the kernel columns side by side a window row per phase (geometry.window_reads: its k1 words lie in
k1 RAMs), the last of them until the end, and from the phase that reads the last one on, step its
P/U parts of U lanes through the LIF units, one per phase: a window's currents are read once for
all parts, not once per part.
`pos` is the step issued this cycle: its accumulator word (and RAM: geometry.acc_address) and
state word, where it lies in its windows, whether its neuron exists (`valid`: an edge window's
missing neurons are bubbles) and whether its window is emitted (`emit`: a crop or a pool's
remainder is updated, not emitted).
"""
from __future__ import annotations

from amaranth import Array, Const, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from snnc.compiler.geometry import LayerGeometry, index_range

from .arith import times


def walk_limits(geo: LayerGeometry) -> dict[str, int]:
    """Each counter of the walk and how many values it takes, innermost first."""
    return {"phase": geo.group_phases, "ex": geo.k2, "ey": geo.k2,
            "qx": geo.walk_w // geo.k2, "qy": geo.walk_h // geo.k2, "og": geo.go}


def walk_layout(geo: LayerGeometry) -> data.StructLayout:
    """One step of the walk, as it travels down the update's pipeline."""
    limits, address = walk_limits(geo), index_range(geo.acc_depth)
    return data.StructLayout({
        # the accumulator word, or with a window row per phase each RAM's; ram: the RAM of the (row's
        # first) word
        "valid": 1, "acc": data.ArrayLayout(address, geo.columns) if geo.window_reads > 1 else address,
        "ram": index_range(geo.columns),
        "state": index_range(geo.state_words),
        "og": index_range(geo.go), "qy": index_range(limits["qy"]), "qx": index_range(limits["qx"]),
        "part": index_range(geo.parts),
        "w1_first": 1,  # the first current (row) of a neuron's k1 x k1 window is read
        "w1_last": 1,   # the window's maximum is complete: part `part` steps through the LIF units
        "cleared": 1,   # the accumulator word is read for the last time: clear it
        "w2_first": 1, "w2_last": 1,  # the first and last neuron of a k2 x k2 spike window
        "decides": 1,   # the phase after which a quiet group is skipped (`skip`, update_skips.py)
        "group": index_range(geo.state_groups),
        "emit": 1})


class UpdateWalk(wiring.Component):
    def __init__(self, geo: LayerGeometry, skips: bool = False):
        """skips: the update skips quiet groups (EngineModel.event_driven): `skip`
        in the cycle after a group's deciding phase ends the group there (no step is issued in that
        cycle), or with `to_last` goes on at its last phase (a spike window's last neuron, whose
        step queues the window's mask)."""
        self.geo, self.skips = geo, skips
        super().__init__({"start": In(1), "room": In(1), "stop": In(1), "skip": In(1), "to_last": In(1),
                          "running": Out(1), "issuing": Out(1), "walked": Out(1),
                          "pos": Out(walk_layout(geo))})

    def elaborate(self, platform):
        m = Module()
        g, limits = self.geo, walk_limits(self.geo)
        step = Signal(range(g.update_steps + 1))  # the walk's position: phases issued or skipped
        skip = self.skip & self.running if self.skips else 0
        m.d.comb += [self.walked.eq(step == g.update_steps),
                     self.issuing.eq(self.running & ~self.walked & self.room & ~skip)]
        # a skip ends the group: the group counters carry as after its last phase, which the
        # phase counter takes (to_last), or wraps past (to the next group)
        at, carry = {}, self.issuing
        for name, limit in limits.items():
            at[name] = counter = Signal(index_range(limit), name=f"u_{name}")
            if limit > 1:
                with m.If(carry):
                    m.d.sync += counter.eq(Mux(counter == limit - 1, 0, counter + 1))
            if name == "phase" and self.skips:
                with m.If(skip):
                    m.d.sync += counter.eq(Mux(self.to_last, limit - 1, 0))
                carry = carry & (counter == limit - 1) | skip & ~self.to_last
            else:
                carry &= counter == limit - 1
        with m.If(self.issuing):
            m.d.sync += step.eq(step + 1)
        with m.If(skip):  # the phases after the deciding one (window_phases - 1), but the last with to_last
            m.d.sync += step.eq(step + Mux(self.to_last, g.parts - 2, g.parts - 1))
        with m.If(self.start):
            m.d.sync += [self.running.eq(1), step.eq(0), *(counter.eq(0) for counter in at.values())]
        with m.If(self.stop):
            m.d.sync += self.running.eq(0)

        py, px = times(at["qy"], g.k2) + at["ey"], times(at["qx"], g.k2) + at["ex"]
        group = times(times(at["og"], g.lif_h) + py, g.lif_w) + px
        both = lambda a, b, value: (at[a] == value) & (at[b] == value)
        # the phase's current (or row) of the window (the last one from then on) and LIF part, from tables
        phases, phase = g.window_phases, at["phase"]
        window = [divmod(min(k, phases - 1) * g.window_reads, g.k1) for k in range(g.group_phases)]
        table = lambda values, shape: Array(Const(v, shape) for v in values)[phase]
        dy, dx = table([y for y, _ in window], index_range(g.k1)), table([x for _, x in window], index_range(g.k1))
        part = table([max(0, k - phases + 1) for k in range(g.group_phases)], index_range(g.parts))
        pos = self.pos
        # the accumulator word of output (oy, ox): in RAM ox mod columns (geometry.acc_address)
        oy, ox = times(py, g.k1) + dy, times(px, g.k1) + dx
        ram, column = 0, ox
        if g.columns > 1:
            split = [g.acc_column(x) for x in range(g.wo)]
            ram = Array(Const(r, index_range(g.columns)) for r, _ in split)[ox]
            column = Array(Const(c, index_range(g.row_words)) for _, c in split)[ox]
        row = times(times(at["og"], g.ho) + oy, g.row_words)
        if g.window_reads > 1:  # RAM k holds window column ox + (k - ram) mod columns, a word on where that
            # wraps (k < ram); a RAM no window column lies in reads the first column's word (in the bank)
            wraps = [k + g.columns - g.window_reads for k in range(g.columns)]  # ram above this: a word on
            m.d.comb += [pos.acc[k].eq(row + column + (ram > after if after < g.columns - 1 else 0))
                         for k, after in enumerate(wraps)]
        else:
            m.d.comb += pos.acc.eq(row + column)
        m.d.comb += [pos.valid.eq(self.issuing & (py < g.lif_h) & (px < g.lif_w)),
                     pos.ram.eq(ram),
                     pos.state.eq(times(group, g.parts) + part),
                     pos.og.eq(at["og"]), pos.qy.eq(at["qy"]), pos.qx.eq(at["qx"]), pos.part.eq(part),
                     pos.w1_first.eq(phase == 0),
                     pos.w1_last.eq(table([k >= phases - 1 for k in range(g.group_phases)], 1)),
                     pos.cleared.eq(table([k < phases - 1 or k == g.group_phases - 1 for k in range(g.group_phases)], 1)),
                     pos.w2_first.eq(both("ex", "ey", 0)), pos.w2_last.eq(both("ex", "ey", g.k2 - 1)),
                     pos.decides.eq(phase == phases - 1), pos.group.eq(group),
                     pos.emit.eq((at["qy"] < g.out_h) & (at["qx"] < g.out_w))]
        return m
