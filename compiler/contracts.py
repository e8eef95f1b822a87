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
STATE_QUANT_MODES = ("none", "uniform", "threshold_centered")


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

@dataclass(frozen=True)
class SpikeTokens:
    """The token encoding of one spike stream: a timestep is the flat C-order addresses of the
    neurons that fired, then one end-of-timestep token.  A token is an unsigned integer of
    `token_bits` = address_bits + 1; the end-of-timestep token is 2**address_bits, above every
    address, so it can never collide with one.  In hardware the same bits are the
    `{addr, eot}` struct of `snnc.rtl_gen.spikes` (eot the top bit)."""

    address_bits: int

    @classmethod
    def for_neurons(cls, n: int) -> "SpikeTokens":
        """The narrowest encoding that addresses n neurons (at least 1 address bit)."""
        return cls(max(1, (int(n) - 1).bit_length()))

    @property
    def token_bits(self) -> int:
        return self.address_bits + 1

    @property
    def eot(self) -> int:
        return 1 << self.address_bits

    def encode(self, spikes: np.ndarray) -> np.ndarray:
        """One sample's spikes [T, ...] (0/1) -> tokens int64: each timestep's addresses, then eot."""
        flat = np.asarray(spikes).reshape(spikes.shape[0], -1)
        if flat.shape[1] > self.eot:
            raise SnncError(f"{flat.shape[1]} neurons do not fit {self.address_bits}-bit spike addresses")
        out = []
        for row in flat:
            out += np.flatnonzero(row).tolist() + [self.eot]
        return np.array(out, np.int64)

    def decode(self, tokens, n_steps: int, n: int) -> np.ndarray:
        """Tokens -> spikes uint8 [n_steps, n]; SnncError on an address out of range or a timestep
        count that is not n_steps."""
        spikes = np.zeros((n_steps, n), np.uint8)
        t = 0
        for tok in tokens:
            tok = int(tok)
            if tok == self.eot:
                t += 1
            elif t >= n_steps or not 0 <= tok < n:
                raise SnncError(f"spike token {tok} at timestep {t} is out of range ({n} neurons, {n_steps} steps)")
            else:
                spikes[t, tok] = 1
        if t != n_steps:
            raise SnncError(f"the spike stream closed {t} timesteps, expected {n_steps}")
        return spikes


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
# SpikeTokens of the network's input and output layer, whose token_bits must be at most 16.
# The board acts on a frame only after its CRC checks; a frame whose bytes stop for
# FRAME_TIMEOUT_S is dropped without a reply.

SYNC_REQUEST = 0xA5
SYNC_REPLY = 0x5A
HEADER_BYTES = 4      # sync, command/status, length (u16)
CRC_BYTES = 2
CRC_INIT = 0xFFFF
WORD_BITS = 16
MAX_PAYLOAD = 512     # bytes in one host -> board frame (the board's staging buffer)
PROTOCOL_VERSION = 2  # 2: tokens use the network's SpikeTokens (eot = 2**address_bits)
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


def link_tokens(n: int, what: str) -> SpikeTokens:
    """The SpikeTokens of a layer of n neurons on the host link; SnncError if a token cannot be one
    16-bit word."""
    tokens = SpikeTokens.for_neurons(n)
    if tokens.token_bits > WORD_BITS:
        raise SnncError(f"{what}: {n} neurons need {tokens.token_bits}-bit spike tokens; the host "
                        f"protocol carries at most {WORD_BITS} bits ({(1 << (WORD_BITS - 1))} neurons)")
    return tokens
