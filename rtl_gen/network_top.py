"""NetworkTop: the layer engines of a network chained by their spike streams, with an input
spike FIFO, an output spike FIFO, per-class spike counters, start/done and cycle counters.

Protocol: pulse `start` (with `n_steps` = T) to reset every layer and counter; then write the
input's spike tokens (each timestep's packed addresses, then an end-of-timestep token: the
SpikeTokens of `geometry.stream_tokens`) into `i_spikes`.  `done` rises when the output layer has
closed T timesteps.  The output layer's tokens come out of `o_spikes` (the consumer must take
them; a readout's are its states, tokens.MembraneTokens).  `count_addr` -> `count_data` reads the
spike count of one output neuron (C-order index; 0 for a readout);
`cycles` counts from start to done; `counter_sel` -> `counter_data` reads engine i's counter k
(engine_model.engine_counters: busy cycles, and with activity counters its scatter and update steps
and spikes in and out) at counter_sel = i * len(counters) + k.  `dbg_layer`, `dbg_addr` ->
`dbg_state` read stored state codes.
"""
from __future__ import annotations

from amaranth import Array, Module, Mux, ResetInserter, Signal, Value
from amaranth.lib import fifo, memory, wiring
from amaranth.lib.wiring import In, Out

from snnc.compiler import ir
from snnc.compiler.engine_model import EDGE_FIFO_DEPTH, engine_counters
from snnc.compiler.geometry import CYCLE_BITS, STEP_BITS, index_range, network_geometry, stream_tokens
from snnc.compiler.layer_impl import Implementation

from .layer_engine import LayerEngine
from .spikes import flat_index, spike_stream, spike_token



def network_ports(net: ir.Network, impl: Implementation, activity_counters: bool = True) -> dict:
    """The signature members of a network's NetworkTop (and of its NetworkInstance)."""
    tokens, geos = stream_tokens(net), network_geometry(net, impl)
    n_counters = len(geos) * len(engine_counters(activity_counters))
    return {
        "start": In(1), "n_steps": In(STEP_BITS), "done": Out(1),
        "i_spikes": In(spike_stream(tokens[0].address_bits)), "o_spikes": Out(spike_stream(tokens[-1].address_bits)),
        "count_addr": In(index_range(net.lifs[-1].size)), "count_data": Out(STEP_BITS),  # a count is at most T
        "cycles": Out(CYCLE_BITS),
        "counter_sel": In(index_range(n_counters)), "counter_data": Out(CYCLE_BITS),
        "dbg_layer": In(index_range(len(geos))), "dbg_addr": In(index_range(max(g.state_words for g in geos))),
        "dbg_state": Out(max(g.units * lif.stored_bits for g, lif in zip(geos, net.lifs))),
    }


class NetworkTop(wiring.Component):
    def __init__(self, net: ir.Network, impl: Implementation, in_depth: int = EDGE_FIFO_DEPTH,
                 out_depth: int = EDGE_FIFO_DEPTH, weight_images: bool = False, activity_counters: bool = True,
                 dsp_primitives: bool = False):
        """impl: each layer's engine (layer_impl.implement); weight_images: each layer's weights
        leave the design for a $readmemh image, which the Verilog emitter takes from
        `engines[i].scatter` (Amaranth's simulator wants them inside).
        activity_counters: count each engine's work (engine_model.ENGINE_COUNTERS), not only its busy cycles.
        dsp_primitives: register accumulators as DSP48E1 instances (Verilog), else in logic (LayerEngine)."""
        self.counters = engine_counters(activity_counters)
        self.net, self.in_depth, self.out_depth = net, in_depth, out_depth
        self.impl, self.weight_images, self.dsp_primitives = impl, weight_images, dsp_primitives
        self.tokens = stream_tokens(net)
        self.engines: list[LayerEngine] = []  # made by elaborate
        self.n_out = int(net.lifs[-1].size)
        super().__init__(network_ports(net, impl, activity_counters))

    def elaborate(self, platform):
        m = Module()
        tokens = self.tokens
        self.engines = [LayerEngine(stage, self.impl[i], tokens[i], tokens[i + 1],
                                    f"layer{i}_weights" if self.weight_images else None, self.dsp_primitives)
                        for i, stage in enumerate(self.net.stages)]
        reset = ResetInserter(self.start)
        width = spike_token(self.tokens[0].address_bits).size
        m.submodules.in_fifo = in_fifo = reset(fifo.SyncFIFOBuffered(width=width, depth=self.in_depth))
        m.submodules.out_fifo = out_fifo = reset(fifo.SyncFIFOBuffered(width=width, depth=self.out_depth))
        for i, engine in enumerate(self.engines):
            m.submodules[f"layer{i}"] = reset(engine)

        first, last = self.engines[0], self.engines[-1]
        chain = [(wiring.flipped(self.i_spikes), in_fifo.w_stream), (in_fifo.r_stream, first.i_spikes),
                 *((up.o_spikes, down.i_spikes) for up, down in zip(self.engines, self.engines[1:])),
                 (out_fifo.r_stream, wiring.flipped(self.o_spikes))]
        for source, sink in chain:
            connect_streams(m, source, sink)
        clearing = Signal()  # the spike counts' RAM is being cleared: the output spikes wait
        m.d.comb += [out_fifo.w_stream.payload.eq(last.o_spikes.payload),
                     out_fifo.w_stream.valid.eq(last.o_spikes.valid & ~clearing),
                     last.o_spikes.ready.eq(out_fifo.w_stream.ready & ~clearing)]

        # counters (cleared by start).  The output spike counts live in a RAM (LUT RAM for a few
        # outputs) with one incrementer, not one counter per output neuron; it is cleared one entry
        # per cycle after start, and the last engine's spikes wait meanwhile.
        token = last.o_spikes.payload
        taken = last.o_spikes.valid & last.o_spikes.ready
        m.submodules.counts = counts = memory.Memory(shape=STEP_BITS, depth=max(self.n_out, 2), init=[])
        count_rd, count_wr, count_host = counts.read_port(domain="comb"), counts.write_port(), counts.read_port(domain="comb")
        clear_addr = Signal(index_range(self.n_out))
        steps_done = Signal(STEP_BITS)
        n_steps = Signal(STEP_BITS)
        running = Signal()
        counters = [(engine.events[kind], Signal(CYCLE_BITS, name=f"{kind}{i}"))
                    for i, engine in enumerate(self.engines) for kind in self.counters]
        neuron = flat_index(self.tokens[-1], token.addr)  # counts are in C order
        m.d.comb += [count_rd.addr.eq(neuron), count_host.addr.eq(self.count_addr),
                     count_wr.addr.eq(Mux(clearing, clear_addr, neuron)),
                     count_wr.data.eq(Mux(clearing, 0, count_rd.data + 1)),
                     # a readout's tokens are states, not spikes: it counts none
                     count_wr.en.eq(clearing | (taken & ~token.eot & (not self.net.lifs[-1].readout)))]
        with m.If(clearing):
            m.d.sync += clear_addr.eq(clear_addr + 1)
            with m.If(clear_addr == self.n_out - 1):
                m.d.sync += clearing.eq(0)
        with m.If(self.start):
            m.d.sync += [n_steps.eq(self.n_steps), steps_done.eq(0), self.cycles.eq(0), running.eq(1),
                         clearing.eq(1), clear_addr.eq(0)]
            m.d.sync += [counter.eq(0) for _, counter in counters]
        with m.Else():
            with m.If(taken & token.eot):
                m.d.sync += steps_done.eq(steps_done + 1)
            with m.If(running & ~self.done):
                with m.If(~self.cycles.all()):  # saturate, never wrap
                    m.d.sync += self.cycles.eq(self.cycles + 1)
                for event, counter in counters:
                    with m.If(event & ~counter.all()):  # saturate, never wrap
                        m.d.sync += counter.eq(counter + 1)
        m.d.comb += [self.done.eq(running & (steps_done == n_steps)),
                     self.count_data.eq(count_host.data),
                     self.counter_data.eq(Array(counter for _, counter in counters)[self.counter_sel])]
        for engine in self.engines:
            m.d.comb += engine.dbg_addr.eq(self.dbg_addr)
        m.d.comb += self.dbg_state.eq(Array(e.dbg_state.as_value() for e in self.engines)[self.dbg_layer])
        return m



def connect_streams(m: Module, source, sink) -> None:
    """valid/ready/payload from a stream source to a sink; unlike wiring.connect, the payloads may
    differ in shape (a FIFO's plain bits against a spike-token struct) as long as they are as wide."""
    assert Value.cast(source.payload).shape().width == Value.cast(sink.payload).shape().width
    m.d.comb += [sink.payload.eq(source.payload), sink.valid.eq(source.valid), source.ready.eq(sink.ready)]
