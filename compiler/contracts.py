"""The contracts every stage shares: the frontend, the compiler, the RTL, the simulators and the
host runtime import these facts from here and nowhere else (docs/spec.md).

- neuron modes: the reset and state-quantization modes of the dialect's LIF;
- weights: the stored range of an N-bit weight and the power-of-two scale search that both
  quantization-aware training and `snnc compile --bits` use, so both pick the same scale;
- spike tokens: how a timestep's spikes travel (flat addresses, then an end-of-timestep token),
  with the address width taken from the network, and the end marker above every address;
- the framed host protocol between the host runtime and a board's BoardCore, and the UART divisor.

Nothing here imports Amaranth or torch.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from .errors import SnncError

# ---- neuron modes (docs/spec.md section 2) -------------------------------------------------------

RESET_MODES = ("subtract", "zero")
ORDERS = ("snnc", "snntorch")  # the update order: snnc's, or snnTorch's Leaky with reset_delay (section 2)
STATE_QUANT_MODES = ("none", "uniform", "threshold_centered")


# ---- integer ranges ------------------------------------------------------------------------------
# Every integer the compiler derives (weights on the grid, shifts, biases, thresholds, levels, clamp
# bounds) is at most 2**GRID_BITS in magnitude, and every proven bound (currents, membranes) at most
# 2**VALUE_BITS: far inside int64, and inside float64's exact integers, which the golden model's
# matrix products use.

GRID_BITS = 40
VALUE_BITS = 52

# The most weights a network may hold: 2**24 (134 Mbit at 8 bits, ten times the block RAM of the
# largest Artix-7, the xc7a200t's 13.1 Mbit), which snnc compiles in about a minute and 3 GB
# (benchmarks/compile_scale.py).  A larger model is refused as soon as it is read.
MAX_WEIGHTS = 1 << 24

# A float model's membrane (snnTorch's Leaky, a NIR LIF) goes on a grid this many steps per power of
# two of its threshold (theta is 65,536 .. 131,071 LSB), clamped to +-FLOAT_STATE_CLAMP theta: fine
# enough that flooring the leak on it changes no spike of the float model on the tests' inputs.
FLOAT_GRID_BITS = 16
FLOAT_STATE_CLAMP = 64


def float_state_grid(theta: float, grid_bits: int = FLOAT_GRID_BITS) -> float:
    """The state LSB of a float model's LIF: 2**(floor(log2 theta) - grid_bits)."""
    return 2.0 ** (math.floor(math.log2(theta)) - grid_bits)


# ---- weights -------------------------------------------------------------------------------------

def weight_range(bits: int) -> tuple[int, int]:
    """Stored weight values of a width: 1 bit is binary {-1, +1}; 2 bits ternary {-1, 0, 1};
    N bits the symmetric narrow range [-(2**(N-1)-1), 2**(N-1)-1]."""
    if bits == 1:
        return -1, 1
    q = (1 << (bits - 1)) - 1
    return -q, q


def fit_bits(q: np.ndarray) -> int:
    """Smallest width whose weight_range holds every integer of q (1 only for all +-1)."""
    q = np.asarray(q)
    if q.size and np.all(np.abs(q) == 1):
        return 1
    amax = int(np.abs(q).max(initial=0))
    return max(2, amax.bit_length() + 1)


SCALE_SEARCH = 10  # power-of-two scales tried below the smallest one that clips nothing


def pow2_exact(w: np.ndarray, max_bits: int = 8) -> tuple[np.ndarray, float] | None:
    """(codes, scale) if real weights are already integers of at most max_bits times one power of
    two 2**e (-24 <= e < 8, the coarsest such scale), else None."""
    w = np.asarray(w, np.float64)
    if not np.abs(w).max(initial=0.0):
        return np.zeros(w.shape, np.int64), 1.0
    for e in range(7, -25, -1):
        q = w / 2.0 ** e
        if np.all(q == np.round(q)) and fit_bits(q) <= max_bits:
            return q.astype(np.int64), 2.0 ** e
    return None


def pow2_codes(w: np.ndarray, bits: int, scale: float) -> np.ndarray:
    """Integer codes of real weights at a scale: sign for 1 bit, else round-to-nearest, clipped."""
    if bits == 1:
        return np.where(np.asarray(w) >= 0, 1, -1).astype(np.int64)
    lo, hi = weight_range(bits)
    return np.clip(np.round(np.asarray(w, np.float64) / scale), lo, hi).astype(np.int64)


def pow2_scale(w: np.ndarray, bits: int) -> float:
    """The power-of-two scale 2**e with the least squared quantization error of `w` at `bits`,
    over e from SCALE_SEARCH below the smallest scale that clips nothing up to that scale."""
    w = np.asarray(w, np.float64)
    amax = float(np.abs(w).max(initial=0.0))
    if amax == 0.0:
        return 1.0
    if not math.isfinite(amax):
        raise SnncError("weights must be finite to quantize them")
    e_hi = math.ceil(math.log2(amax / weight_range(bits)[1]))
    # min() keeps the first of equal errors: ties go to the finer scale
    best = min(range(e_hi - SCALE_SEARCH, e_hi + 1),
               key=lambda e: float(np.sum((pow2_codes(w, bits, 2.0 ** e) * 2.0 ** e - w) ** 2)))
    return 2.0 ** best


def pow2_quantize(w: np.ndarray, bits: int) -> tuple[np.ndarray, float]:
    """Real weights -> (codes int64 fitting `bits`, power-of-two scale) by `pow2_scale`."""
    w = np.asarray(w, np.float64)
    if not np.abs(w).max(initial=0.0):
        return (np.ones if bits == 1 else np.zeros)(w.shape, np.int64), 1.0
    scale = pow2_scale(w, bits)
    return pow2_codes(w, bits, scale), scale


# ---- spike tokens --------------------------------------------------------------------------------

def field_bits(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Bits of each index field of a packed address into `shape` (0 for a dimension of 1)."""
    return tuple((int(d) - 1).bit_length() for d in shape)


@dataclass(frozen=True)
class SpikeTokens:
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

    @property
    def token_bits(self) -> int:
        return self.address_bits + 1

    @property
    def eot(self) -> int:
        return 1 << self.address_bits

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


# ---- design interface ----------------------------------------------------------------------------
# The Verilog module names the RTL generator writes, the simulators drive and the boards instantiate.

NETWORK_TOP = "snnc_top"   # NetworkTop: clk, rst, start, n_steps, done, spike streams, counters
BOARD_TOP = "snnc_board"   # BoardCore: clk, rst, rx, tx, leds


# ---- the framed host protocol --------------------------------------------------------------------
#
# Every frame, both ways: SYNC byte, a command (host -> board) or status (board -> host) byte, the
# payload length in bytes (u16, little-endian), the payload, and a CRC-16/CCITT-FALSE (poly 0x1021,
# init 0xFFFF, Python's `binascii.crc_hqx(data, 0xFFFF)`, amaranth.lib.crc's CRC16_CCITT_FALSE) over
# command/status, length and payload, little-endian.  Payloads are u16 words, little-endian.
#
# Commands (payload words -> reply payload words); every command is idempotent, so a host may
# repeat any of them after a lost or corrupted reply:
#   IDENT        ()                    -> IDENTITY_FIELDS
#   LOAD         (offset, token...)    -> ()    write input tokens into the input buffer at offset
#   RUN          (n_tokens, n_steps)   -> (cycles lo, cycles hi, output tokens, flags)
#                                         start the network, feed input tokens 0..n_tokens-1,
#                                         record the output tokens, reply when done
#   READ         ()                    -> (count[0..n_out-1], cycles lo, cycles hi)
#   READ_SPIKES  (offset, count)       -> output tokens offset..offset+count-1
# A token on the link is one u16 word: the input (LOAD) and output (READ_SPIKES) tokens use the
# SpikeTokens of the network's input and output shapes (link_tokens), whose token_bits must be at most 16.
# The board acts on a frame only after its CRC checks; a frame whose bytes stop for
# FRAME_TIMEOUT_S is dropped without a reply.

SYNC_REQUEST = 0xA5
SYNC_REPLY = 0x5A
HEADER_BYTES = 4      # sync, command/status, length (u16)
CRC_BYTES = 2
CRC_INIT = 0xFFFF
WORD_BITS = 16
MAX_PAYLOAD = 512     # bytes in one host -> board frame (the board's staging buffer)
PROTOCOL_VERSION = 2  # 2: tokens are SpikeTokens (packed addresses, eot = 2**address_bits); 1 used 0xFFFF
MAGIC = 0x4E53        # "SN"
FRAME_TIMEOUT_S = 2e-3

CMD_IDENT, CMD_LOAD, CMD_RUN, CMD_READ, CMD_READ_SPIKES = 0x01, 0x02, 0x03, 0x04, 0x05
COMMANDS = {CMD_IDENT: "IDENT", CMD_LOAD: "LOAD", CMD_RUN: "RUN", CMD_READ: "READ", CMD_READ_SPIKES: "READ_SPIKES"}

STATUS_OK, STATUS_BAD_CRC, STATUS_BAD_COMMAND, STATUS_BAD_ARGUMENT = 0x00, 0x01, 0x02, 0x03
STATUSES = {STATUS_OK: "ok", STATUS_BAD_CRC: "CRC error", STATUS_BAD_COMMAND: "unknown command",
            STATUS_BAD_ARGUMENT: "bad argument"}

FLAG_OUTPUT_OVERFLOW = 0x1  # RUN: more output tokens than the output buffer holds

IDENTITY_FIELDS = ("magic", "version", "hash_lo", "hash_hi", "n_in", "n_out", "in_depth", "out_depth",
                   "max_payload", "lanes")

DEFAULT_BAUD = 115_200    # what every USB-UART bridge and terminal program takes
MAX_BAUD_ERROR = 0.02
MAX_BAUD = 3_000_000  # what common USB-UART bridges (FT2232H, CP2102N) take without flow control
MIN_BAUD = 1200


def design_hash(fingerprint_hex: str, lanes: int) -> int:
    """The 32-bit identity of a design (IDENT's hash words): the IR's fingerprint and the lanes."""
    return int.from_bytes(hashlib.sha256(f"{fingerprint_hex}:{lanes}".encode()).digest()[:4], "little")


def uart_divisor(clk_hz: float, baud: int) -> int:
    """Clock cycles per UART bit; SnncError naming the rates when the clock cannot make the rate."""
    if not MIN_BAUD <= baud <= MAX_BAUD:
        raise SnncError(f"--baud {baud}: choose a rate from {MIN_BAUD} to {MAX_BAUD}")
    divisor = round(clk_hz / baud)
    if divisor < 4 or abs(clk_hz / divisor - baud) / baud > MAX_BAUD_ERROR:
        raise SnncError(f"--baud {baud}: a {clk_hz / 1e6:g} MHz clock cannot make it within "
                        f"{MAX_BAUD_ERROR:.0%} (at most {int(clk_hz // 4)} baud)")
    return divisor


def link_tokens(shape: tuple[int, ...], what: str) -> SpikeTokens:
    """The SpikeTokens of a layer of `shape` on the host link; SnncError if a token cannot be one
    16-bit word."""
    tokens = SpikeTokens.for_shape(shape)
    if tokens.token_bits > WORD_BITS:
        raise SnncError(f"{what} of shape {list(shape)} needs {tokens.token_bits}-bit spike tokens; the host "
                        f"protocol carries at most {WORD_BITS} bits")
    return tokens
