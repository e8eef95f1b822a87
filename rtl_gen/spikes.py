"""Spike tokens in hardware: the payload of every spike stream between layers (lib.stream,
valid/ready).

A timestep is a run of spike tokens (the flat C-order address of a neuron that fired) closed by
one end-of-timestep token (`eot` = 1, address 0).  The address width comes from the network
(`snnc.compiler.geometry.network_tokens`); as an integer, a token is `addr | eot << address_bits`,
the encoding of `snnc.compiler.contracts.SpikeTokens`.
"""
from amaranth import unsigned
from amaranth.lib import data, stream

from snnc.compiler.contracts import SpikeTokens


def spike_token(tokens: SpikeTokens) -> data.StructLayout:
    return data.StructLayout({"addr": unsigned(tokens.address_bits), "eot": 1})


def spike_stream(tokens: SpikeTokens) -> stream.Signature:
    return stream.Signature(spike_token(tokens))
