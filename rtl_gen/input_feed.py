"""InputFeed: the board's input token buffer and the feed that offers it to the network.

The host's LOAD writes host-link words (one u16 token each, `host_protocol.link_tokens` of the
input shape) through `write_addr`/`write_data`/`write_en`.  A run starts with `start` (one cycle:
back to word 0) and, while `active`, offers words 0, 1, ... to the network as its own spike tokens
(the low `address_bits` bits; the link's end token becomes `eot`) on `o_spikes`.  It stops when
`n_steps` end tokens were taken (`fed`) or when the `n_tokens` loaded words ran out first
(`exhausted`: the host gave fewer timesteps than it asked to run).
"""
from __future__ import annotations

from amaranth import Module, Mux, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from snnc.compiler.geometry import STEP_BITS
from snnc.compiler.host_protocol import WORD_BITS
from snnc.compiler.tokens import SpikeTokens

from .spikes import spike_stream


class InputFeed(wiring.Component):
    def __init__(self, link: SpikeTokens, address_bits: int, depth: int):
        """link: the host link's tokens of the input; address_bits: the network's input token
        address width; depth: the buffer's size in words."""
        self.link, self.depth = link, depth
        super().__init__({
            "write_addr": In(range(depth)), "write_data": In(WORD_BITS), "write_en": In(1),
            "start": In(1), "active": In(1),
            "n_tokens": In(range(depth + 1)), "n_steps": In(STEP_BITS),
            "o_spikes": Out(spike_stream(address_bits)),
            "fed": Out(1), "exhausted": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.buffer = buf = memory.Memory(shape=WORD_BITS, depth=self.depth, init=[])
        w, r = buf.write_port(), buf.read_port()
        m.d.comb += [w.addr.eq(self.write_addr), w.data.eq(self.write_data), w.en.eq(self.write_en)]

        offered, eots = Signal(range(self.depth + 1)), Signal(STEP_BITS)  # the word on the read port
        is_eot = r.data == self.link.eot
        take = self.o_spikes.valid & self.o_spikes.ready
        m.d.comb += [self.fed.eq(eots == self.n_steps), self.exhausted.eq(offered == self.n_tokens),
                     self.o_spikes.payload.addr.eq(r.data[:self.link.address_bits]),
                     self.o_spikes.payload.eot.eq(is_eot),
                     self.o_spikes.valid.eq(self.active & ~self.fed & ~self.exhausted),
                     r.addr.eq(Mux(self.start, 0, Mux(take, offered + 1, offered)))]
        with m.If(self.start):
            m.d.sync += [offered.eq(0), eots.eq(0)]
        with m.Elif(take):
            m.d.sync += [offered.eq(offered + 1), eots.eq(eots + is_eot)]
        return m
