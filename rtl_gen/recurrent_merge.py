"""RecurrentMerge: a recurrent engine's scatter input, its input spikes then its own of the step before.

A recurrent layer (ir.Dense.recurrent) takes, at timestep t, its input's spikes and its own spikes
of t-1 through one weight matrix [n_out, n_in + n_out].  The merge hands the scatter one timestep as
one token run over n_in + n_out inputs: the input's spike tokens (flat index j), then the engine's
own spike tokens of the step before (index n_in + k, from the engine's feedback FIFO), then one
end-of-timestep token.  At the first timestep after a reset there is no step before: the input's
end token passes straight through.  An input's end token is taken and dropped when own spikes
follow; the own stream's end token closes the timestep.

The own stream of t-1 is complete before the scatter can close t (the update of t-1 runs while
the scatter takes t's input), and the update of t cannot start before the merge has closed t, so
the feedback FIFO holds at most one timestep: n_out spike tokens and an end token.

Ports: `i_spikes` (the input's tokens), `i_own` (the engine's own, flat [n_out]), `o_spikes` (flat
[n_in + n_out], `merged_tokens`).
"""
from __future__ import annotations

import math

from amaranth import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from snnc.compiler.tokens import SpikeTokens

from .spikes import flat_index, spike_stream


def merged_tokens(in_tokens: SpikeTokens, n_out: int) -> SpikeTokens:
    """The scatter's token encoding: flat over the input's neurons and the layer's own."""
    return SpikeTokens.for_shape((math.prod(in_tokens.shape) + n_out,))


class RecurrentMerge(wiring.Component):
    def __init__(self, in_tokens: SpikeTokens, own_tokens: SpikeTokens):
        """in_tokens: the input stream's encoding; own_tokens: the engine's output stream's (flat)."""
        self.in_tokens, self.own_tokens = in_tokens, own_tokens
        self.n_in = math.prod(in_tokens.shape)
        self.out_tokens = merged_tokens(in_tokens, math.prod(own_tokens.shape))
        super().__init__({
            "i_spikes": In(spike_stream(in_tokens.address_bits)),
            "i_own": In(spike_stream(own_tokens.address_bits)),
            "o_spikes": Out(spike_stream(self.out_tokens.address_bits)),
        })

    def elaborate(self, platform):
        m = Module()
        i, own, o = self.i_spikes, self.i_own, self.o_spikes
        own_phase = Signal()  # the input's timestep is in; the own spikes of the step before follow
        has_before = Signal()  # a timestep has closed since the reset: there are own spikes to merge
        with m.If(own_phase):
            m.d.comb += [o.payload.addr.eq(self.n_in + own.payload.addr), o.payload.eot.eq(own.payload.eot),
                         o.valid.eq(own.valid), own.ready.eq(o.ready)]
            with m.If(own.valid & o.ready & own.payload.eot):
                m.d.sync += own_phase.eq(0)
        with m.Else():
            drop_eot = i.payload.eot & has_before  # the own stream's end token closes the timestep
            m.d.comb += [o.payload.addr.eq(flat_index(self.in_tokens, i.payload.addr)),
                         o.payload.eot.eq(i.payload.eot), o.valid.eq(i.valid & ~drop_eot),
                         i.ready.eq(o.ready | drop_eot)]
            with m.If(i.valid & i.payload.eot & (o.ready | drop_eot)):
                m.d.sync += [own_phase.eq(has_before), has_before.eq(1)]
        return m
