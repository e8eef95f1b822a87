"""NetworkTop: the layer engines of a network chained by their spike streams, with an input
spike FIFO, an output spike FIFO, per-class spike counters, start/done and cycle counters.

Protocol: pulse `start` (with `n_steps` = T) to reset every layer and counter; then write the
input's spike tokens (each timestep's addresses, then an end-of-timestep token) into `i_spikes`.
`done` rises when the output layer has closed T timesteps.  The output layer's tokens can be read
from `o_spikes` (or ignored: `o_ready_always` drops them after counting, for a board that only
wants the counts).  `count_addr` -> `count_data` reads the spike count of one output neuron;
`cycles` counts from start to done; `busy_sel` -> `busy_cycles` counts the cycles a layer's engine
was scattering or updating.  `dbg_layer`, `dbg_addr` -> `dbg_state` read stored state codes.
"""
from __future__ import annotations

from amaranth import Array, Module, ResetInserter, Signal, unsigned
from amaranth.lib import fifo, wiring
from amaranth.lib.wiring import In, Out

from snnc.compiler import ir

from .layer_engine import Geometry, LayerEngine
from .spikes import SpikeToken, spike_stream

COUNT_BITS = 16
CYCLE_BITS = 32
IN_DEPTH = OUT_DEPTH = 512  # spike token FIFOs at the network's edges


class NetworkTop(wiring.Component):
    def __init__(self, net: ir.Network, lanes: int = 1, in_depth: int = IN_DEPTH, out_depth: int = OUT_DEPTH):
        self.net, self.in_depth, self.out_depth = net, in_depth, out_depth
        self.engines = [LayerEngine(net.layers[i - 1], layer, lanes)
                        for i, layer in enumerate(net.layers) if isinstance(layer, ir.LIF)]
        self.n_out = int(net.lifs[-1].size)
        max_groups = max(e.geo.groups for e in self.engines)
        state_width = max(e.geo.lanes * e.state_bits for e in self.engines)
        super().__init__({
            "start": In(1), "n_steps": In(16), "done": Out(1),
            "i_spikes": In(spike_stream()), "o_spikes": Out(spike_stream()),
            "count_addr": In(range(max(self.n_out, 2))), "count_data": Out(COUNT_BITS),
            "cycles": Out(CYCLE_BITS),
            "busy_sel": In(range(max(len(self.engines), 2))), "busy_cycles": Out(CYCLE_BITS),
            "dbg_layer": In(range(max(len(self.engines), 2))), "dbg_addr": In(range(max(max_groups, 2))),
            "dbg_state": Out(state_width),
        })

    def elaborate(self, platform):
        m = Module()
        reset = ResetInserter(self.start)
        m.submodules.in_fifo = in_fifo = reset(fifo.SyncFIFOBuffered(width=SpikeToken.size, depth=self.in_depth))
        m.submodules.out_fifo = out_fifo = reset(fifo.SyncFIFOBuffered(width=SpikeToken.size, depth=self.out_depth))
        for i, engine in enumerate(self.engines):
            m.submodules[f"layer{i}"] = reset(engine)

        m.d.comb += [in_fifo.w_data.eq(self.i_spikes.payload.as_value()), in_fifo.w_en.eq(self.i_spikes.valid),
                     self.i_spikes.ready.eq(in_fifo.w_rdy)]
        first, last = self.engines[0], self.engines[-1]
        m.d.comb += [first.i_spikes.payload.eq(in_fifo.r_data), first.i_spikes.valid.eq(in_fifo.r_rdy),
                     in_fifo.r_en.eq(first.i_spikes.ready)]
        for up, down in zip(self.engines, self.engines[1:]):
            wiring.connect(m, up.o_spikes, down.i_spikes)
        m.d.comb += [out_fifo.w_data.eq(last.o_spikes.payload.as_value()), out_fifo.w_en.eq(last.o_spikes.valid),
                     last.o_spikes.ready.eq(out_fifo.w_rdy),
                     self.o_spikes.payload.eq(out_fifo.r_data), self.o_spikes.valid.eq(out_fifo.r_rdy),
                     out_fifo.r_en.eq(self.o_spikes.ready)]

        # counters (cleared by start)
        token = last.o_spikes.payload
        taken = last.o_spikes.valid & last.o_spikes.ready
        counts = Array(Signal(COUNT_BITS, name=f"count{i}") for i in range(self.n_out))
        steps_done = Signal(16)
        n_steps = Signal(16)
        running = Signal()
        busy = [Signal(CYCLE_BITS, name=f"busy{i}") for i in range(len(self.engines))]
        with m.If(self.start):
            m.d.sync += [n_steps.eq(self.n_steps), steps_done.eq(0), self.cycles.eq(0), running.eq(1)]
            m.d.sync += [c.eq(0) for c in counts] + [b.eq(0) for b in busy]
        with m.Else():
            with m.If(taken & token.eot):
                m.d.sync += steps_done.eq(steps_done + 1)
            with m.If(taken & ~token.eot):
                m.d.sync += counts[token.addr].eq(counts[token.addr] + 1)
            with m.If(running & ~self.done):
                m.d.sync += self.cycles.eq(self.cycles + 1)
                for engine, b in zip(self.engines, busy):
                    with m.If(engine.scatter_busy | engine.update_busy):
                        m.d.sync += b.eq(b + 1)
        m.d.comb += [self.done.eq(running & (steps_done == n_steps)),
                     self.count_data.eq(counts[self.count_addr]),
                     self.busy_cycles.eq(Array(busy)[self.busy_sel])]
        for engine in self.engines:
            m.d.comb += engine.dbg_addr.eq(self.dbg_addr)
        m.d.comb += self.dbg_state.eq(Array(e.dbg_state for e in self.engines)[self.dbg_layer])
        return m


def cycle_budget(net: ir.Network, lanes: int, n_tokens: int, n_steps: int) -> int:
    """A generous upper bound on the cycles from start to done for one sample of `n_tokens` input
    tokens over `n_steps` timesteps: every token times the slowest scatter, every update, 4x."""
    geos = [Geometry(net.synapse_of(lif), lanes) for lif in net.lifs]
    worst = n_tokens * max(g.go * g.max_row_taps * g.max_col_taps + 2 for g in geos)
    return 4 * (worst + n_steps * sum(g.groups + 16 for g in geos)) + 10_000
