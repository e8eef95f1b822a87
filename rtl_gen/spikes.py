"""Spike tokens: the payload of every spike stream between layers (lib.stream, valid/ready).

A timestep is a run of spike tokens (the flat C-order address of a neuron that fired) closed by
one end-of-timestep token (`eot` = 1, address ignored).  Addresses are ADDR_BITS wide everywhere.
"""
from amaranth import unsigned
from amaranth.lib import data, stream

ADDR_BITS = 16

SpikeToken = data.StructLayout({"addr": unsigned(ADDR_BITS), "eot": 1})


def spike_stream() -> stream.Signature:
    return stream.Signature(SpikeToken)
