"""OutputCapture: records the network's output tokens in the board's output buffer, as host-link
words (one u16 token each, `host_protocol.link_tokens` of the output shape: the network's `eot`
becomes the link's end token).

The network's output must always be taken, so `i_spikes` is always ready, but for a readout whose
states take two words (host_protocol.WideMembranes): a state is taken in two cycles, its low word
then its high word, and an end-of-timestep token becomes the word WIDE_END.  `clear` (one cycle, at
a run's start) empties the buffer's count.  `count` is the words recorded, `eots` the timesteps
closed, and `overflow` rises when a token arrived with the buffer full (it is dropped, not
wrapped).  `read_addr` -> `read_data` reads a recorded word, one cycle later.
"""
from __future__ import annotations

from amaranth import Module, Mux, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from snnc.compiler.geometry import STEP_BITS
from snnc.compiler.host_protocol import WIDE_END, WORD_BITS, WideMembranes
from snnc.compiler.tokens import MembraneTokens, SpikeTokens

from .spikes import spike_stream


class OutputCapture(wiring.Component):
    def __init__(self, link: SpikeTokens | MembraneTokens | WideMembranes, address_bits: int, depth: int):
        """link: the host link's tokens of the output; address_bits: the network's output token
        address width; depth: the buffer's size in words."""
        self.link, self.depth = link, depth
        super().__init__({
            "i_spikes": In(spike_stream(address_bits)), "clear": In(1),
            "read_addr": In(range(depth)), "read_data": Out(WORD_BITS),
            "count": Out(range(depth + 1)), "eots": Out(STEP_BITS), "overflow": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.buffer = buf = memory.Memory(shape=WORD_BITS, depth=self.depth, init=[])
        w, r = buf.write_port(), buf.read_port()
        m.d.comb += [r.addr.eq(self.read_addr), self.read_data.eq(r.data)]

        token = self.i_spikes.payload
        word = Signal(WORD_BITS)  # the word recorded for the token this cycle
        if isinstance(self.link, WideMembranes):
            high = Signal()  # the state's high word is next
            m.d.comb += [self.i_spikes.ready.eq(token.eot | high),
                         word.eq(Mux(token.eot, WIDE_END, Mux(high, token.addr[WORD_BITS:], token.addr[:WORD_BITS])))]
            with m.If(self.clear):
                m.d.sync += high.eq(0)
            with m.Elif(self.i_spikes.valid & ~token.eot):
                m.d.sync += high.eq(~high)
        else:
            m.d.comb += [self.i_spikes.ready.eq(1), word.eq(Mux(token.eot, self.link.eot, token.addr))]
        with m.If(self.clear):
            m.d.sync += [self.count.eq(0), self.eots.eq(0), self.overflow.eq(0)]
        with m.Elif(self.i_spikes.valid):
            with m.If(self.count < self.depth):
                m.d.comb += [w.addr.eq(self.count), w.data.eq(word), w.en.eq(1)]
                m.d.sync += self.count.eq(self.count + 1)
            with m.Else():
                m.d.sync += self.overflow.eq(1)
            with m.If(token.eot):
                m.d.sync += self.eots.eq(self.eots + 1)
        return m
