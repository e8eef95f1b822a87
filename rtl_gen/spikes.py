"""Spike tokens in hardware: the payload of every spike stream between layers (lib.stream,
valid/ready), and the arithmetic on packed addresses.

A timestep is a run of spike tokens (the packed address of a neuron that fired) closed by one
end-of-timestep token (`eot` = 1, address 0): the encoding of `snnc.compiler.tokens.SpikeTokens`,
whose address width comes from the network (`snnc.compiler.geometry.stream_tokens`).  A packed
address holds one bit field per dimension of the stream's shape, so a consumer reads (c, y, x) by
slicing and a producer builds an address by concatenation.
"""
from amaranth import Cat, Const, Value, unsigned
from amaranth.lib import data, stream

from snnc.compiler.tokens import SpikeTokens, field_bits

from .arith import times


def spike_token(address_bits: int) -> data.StructLayout:
    return data.StructLayout({"addr": unsigned(address_bits), "eot": 1})


def spike_stream(address_bits: int) -> stream.Signature:
    return stream.Signature(spike_token(address_bits))


def address_fields(tokens: SpikeTokens, addr: Value) -> list[Value]:
    """The index along each dimension of `tokens.shape` in a packed address (C order)."""
    fields, shift = [], 0
    for bits in reversed(field_bits(tokens.shape)):
        fields.insert(0, addr[shift:shift + bits] if bits else Const(0, 1))
        shift += bits
    return fields


def flat_index(tokens: SpikeTokens, addr: Value) -> Value:
    """The C-order flat index of a packed address (constant products as shifts and adds)."""
    flat, stride = Const(0, 1), 1
    for d, field in reversed(list(zip(tokens.shape, address_fields(tokens, addr)))):
        flat = flat + times(field, stride)
        stride *= d
    return flat


def packed_address(tokens: SpikeTokens, *indices: Value) -> Value:
    """A packed address from the index along each dimension of `tokens.shape` (C order), zero
    extended to the stream's address width."""
    parts = [Cat(i, Const(0, bits))[:bits] for i, bits in zip(indices, field_bits(tokens.shape)) if bits]
    return Cat(*reversed(parts), Const(0, tokens.address_bits)) if parts else Const(0, tokens.address_bits)
