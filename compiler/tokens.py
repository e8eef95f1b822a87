"""Spike tokens (docs/spec.md section 5): how a timestep's spikes travel between layers, into and
out of the network and on the host link: the addresses of the neurons that fired, each index in its
own bit field, then an end-of-timestep token above every address."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import SnncError


def field_bits(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Bits of each index field of a packed address into `shape` (0 for a dimension of 1)."""
    return tuple((int(d) - 1).bit_length() for d in shape)


class _Tokens:
    """What every token stream shares: a token is address_bits + 1 bits, the end-of-timestep token
    2**address_bits, above every address (or state word)."""

    address_bits: int

    @property
    def token_bits(self) -> int:
        return self.address_bits + 1

    @property
    def eot(self) -> int:
        return 1 << self.address_bits


@dataclass(frozen=True)
class SpikeTokens(_Tokens):
    """The token encoding of one spike stream.  A timestep is the addresses of the neurons that
    fired, in C order, then one end-of-timestep token.  An address packs the neuron's index along
    each dimension of `shape` into its own bit field, C-order (for [C, H, W]: c, then y, then x in
    the low bits), so hardware reads the fields by slicing, without division; for a flat shape [N]
    it is the index itself.  A token is an unsigned integer of address_bits + 1 bits (address_bits
    at least the packed width); the end-of-timestep token is 2**address_bits, above every address,
    so it can never collide with one.  In hardware the same bits are the `{addr, eot}` struct of
    `snnc.rtl_gen.spikes`."""

    shape: tuple[int, ...]
    address_bits: int

    @classmethod
    def for_shape(cls, shape, address_bits: int | None = None) -> "SpikeTokens":
        """The encoding of a stream of neurons of `shape`, as wide as it needs or `address_bits`."""
        packed = max(1, sum(field_bits(tuple(shape))))
        if address_bits is not None and address_bits < packed:
            raise ValueError(f"{address_bits} address bits cannot hold shape {tuple(shape)}")
        return cls(tuple(int(d) for d in shape), packed if address_bits is None else address_bits)

    def pack(self, flat: np.ndarray) -> np.ndarray:
        """Flat C-order neuron indices -> packed addresses (int64)."""
        index = np.unravel_index(np.asarray(flat, np.int64), self.shape)
        out, shift = np.zeros(np.shape(flat), np.int64), 0
        for i, bits in reversed(list(zip(index, field_bits(self.shape)))):
            out |= i.astype(np.int64) << shift
            shift += bits
        return out

    def unpack(self, address: np.ndarray) -> np.ndarray:
        """Packed addresses -> flat C-order indices (int64); -1 where a field is out of range."""
        address, flat, shift = np.asarray(address, np.int64), 0, 0
        valid = np.ones(np.shape(address), bool)
        stride = 1
        for d, bits in reversed(list(zip(self.shape, field_bits(self.shape)))):
            i = (address >> shift) & ((1 << bits) - 1)
            valid &= i < d
            flat, stride, shift = flat + i * stride, stride * d, shift + bits
        valid &= (address >> shift) == 0
        return np.where(valid, flat, -1)

    def encode(self, spikes: np.ndarray) -> np.ndarray:
        """One sample's spikes [T, *shape] (0/1) -> tokens int64: each timestep's addresses, then eot."""
        flat = np.asarray(spikes).reshape(len(spikes), -1)
        if flat.shape[1] != int(np.prod(self.shape)):
            raise SnncError(f"spikes of {flat.shape[1]} neurons do not fit a stream of shape {list(self.shape)}")
        out = []
        for row in flat:
            out += self.pack(np.flatnonzero(row)).tolist() + [self.eot]
        return np.array(out, np.int64)

    def decode(self, tokens, n_steps: int) -> np.ndarray:
        """Tokens -> spikes uint8 [n_steps, prod(shape)] (flat); SnncError on an address out of range
        or a timestep count that is not n_steps."""
        tokens = np.asarray(tokens, np.int64)
        ends = np.flatnonzero(tokens == self.eot)
        if len(ends) != n_steps or (len(ends) and ends[-1] != len(tokens) - 1):
            raise SnncError(f"the spike stream closed {len(ends)} timesteps, expected {n_steps}")
        step = np.cumsum(tokens == self.eot) - (tokens == self.eot)
        spikes = tokens != self.eot
        flat = self.unpack(tokens[spikes])
        if np.any(flat < 0):
            raise SnncError(f"spike token {int(tokens[spikes][flat < 0][0])} is not an address of a neuron of "
                            f"shape {list(self.shape)}")
        out = np.zeros((n_steps, int(np.prod(self.shape))), np.uint8)
        out[step[spikes], flat] = 1
        return out


@dataclass(frozen=True)
class MembraneTokens(_Tokens):
    """The token encoding of a readout's output (ir.LIF.readout): every timestep, one token per
    neuron in C order, its address field holding the neuron's stored state word (the level code, or
    the signed state in two's complement, `state_bits` wide), then the end-of-timestep token
    2**address_bits.  `levels`: the level values of the codes (a tuple), or None for a plain state."""

    n: int
    state_bits: int
    levels: tuple[int, ...] | None
    address_bits: int

    @classmethod
    def for_lif(cls, lif, address_bits: int | None = None) -> "MembraneTokens":
        width = max(1, lif.state_bits)
        if address_bits is not None and address_bits < width:
            raise ValueError(f"{address_bits} address bits cannot hold {width}-bit states")
        levels = None if lif.levels is None else tuple(int(v) for v in lif.levels)
        return cls(int(lif.size), lif.state_bits, levels, width if address_bits is None else address_bits)

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.n,)

    def words(self, values: np.ndarray) -> np.ndarray:
        """States int64 [..., n] -> their stored words (codes, or two's complement), int64."""
        v = np.asarray(values, np.int64)
        if self.levels is None:
            return v & ((1 << self.state_bits) - 1)
        return np.searchsorted(np.asarray(self.levels, np.int64), v)

    def encode(self, values: np.ndarray) -> np.ndarray:
        """One sample's states [T, n] -> tokens int64 (each timestep's n words, then eot)."""
        w = self.words(np.asarray(values).reshape(len(values), self.n))
        return np.concatenate([w, np.full((len(w), 1), self.eot)], axis=1).ravel()

    def decode(self, tokens, n_steps: int) -> np.ndarray:
        """Tokens -> states int64 [n_steps, n]; SnncError unless every timestep holds n words."""
        tokens = np.asarray(tokens, np.int64)
        if len(tokens) != n_steps * (self.n + 1) or np.any(tokens.reshape(n_steps, self.n + 1)[:, -1] != self.eot):
            raise SnncError(f"the membrane stream holds {len(tokens)} tokens, expected {n_steps} timesteps of "
                            f"{self.n} states and an end token")
        words = tokens.reshape(n_steps, self.n + 1)[:, :-1]
        if np.any(words >> self.state_bits):
            raise SnncError(f"membrane token {int(words[(words >> self.state_bits) != 0][0])} is wider than "
                            f"{self.state_bits} bits")
        if self.levels is not None:
            if np.any(words >= len(self.levels)):
                raise SnncError(f"membrane code {int(words.max())} is not one of {len(self.levels)} levels")
            return np.asarray(self.levels, np.int64)[words]
        return np.where(words >> (self.state_bits - 1), words - (1 << self.state_bits), words)

