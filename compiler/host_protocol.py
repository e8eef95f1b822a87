"""The framed host protocol between the host runtime (snnc.runtime) and a board's BoardCore
(snnc.rtl_gen), the UART's divisor and the design's identity (docs/spec.md section 5)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from .errors import SnncError
from .layer_impl import Implementation
from .tokens import MembraneTokens, SpikeTokens

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
RUN_REPLY_WORDS = 4        # RUN's reply: cycles lo, cycles hi, output tokens, flags

IDENTITY_FIELDS = ("magic", "version", "hash_lo", "hash_hi", "n_in", "n_out", "in_depth", "out_depth",
                   "max_payload", "lanes")

UART_BITS_PER_BYTE = 10   # 8N1: a start bit, 8 data bits, a stop bit
DEFAULT_BAUD = 115_200    # what every USB-UART bridge and terminal program takes
MAX_BAUD_ERROR = 0.02
MAX_BAUD = 3_000_000  # what common USB-UART bridges (FT2232H, CP2102N) take without flow control
MIN_BAUD = 1200


def join_words(words) -> int:
    """The unsigned integer that u16 words carry, low word first (a hash, a cycle count)."""
    return sum(int(w) << (WORD_BITS * i) for i, w in enumerate(words))


def split_words(value: int, n: int) -> list[int]:
    """`value` as n u16 words, low word first (join_words' inverse)."""
    return [(value >> (WORD_BITS * i)) & ((1 << WORD_BITS) - 1) for i in range(n)]


def design_hash(fingerprint_hex: str, impl: Implementation) -> int:
    """The 32-bit identity of a design (IDENT's hash words): the IR's fingerprint and each layer's
    engine (lanes, units, banks, weights)."""
    engines = ";".join(f"{li.lanes}:{li.units}:{li.banks}:{li.weights}" for li in impl)
    return int.from_bytes(hashlib.sha256(f"{fingerprint_hex}:{engines}".encode()).digest()[:4], "little")


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


WIDE_END = 0xFFFF  # the end-of-timestep word of a readout whose states take two words (WideMembranes)


@dataclass(frozen=True)
class WideMembranes:
    """A readout's states on the host link when a token cannot be one word: every state as two
    words (its low 16 bits, then the rest), each timestep's n states closed by the word WIDE_END
    (decoded by position, so a state's low word may equal it)."""

    tokens: MembraneTokens

    @property
    def eot(self) -> int:
        return WIDE_END

    def decode(self, words, n_steps: int) -> np.ndarray:
        """Link words -> states int64 [n_steps, n] (MembraneTokens.decode); SnncError on a wrong count."""
        n = self.tokens.n
        words = np.asarray(words, np.int64)
        if len(words) != n_steps * (2 * n + 1):
            raise SnncError(f"the membrane stream holds {len(words)} words, expected {n_steps} timesteps of {n} "
                            f"two-word states and an end word")
        steps = words.reshape(n_steps, 2 * n + 1)
        if np.any(steps[:, -1] != WIDE_END):
            raise SnncError("a timestep of the membrane stream does not end in its end word")
        values = steps[:, :-1:2] | (steps[:, 1:-1:2] << WORD_BITS)
        tokens = np.concatenate([values, np.full((n_steps, 1), self.tokens.eot)], axis=1).ravel()
        return self.tokens.decode(tokens, n_steps)


def output_link_tokens(lif) -> SpikeTokens | MembraneTokens | WideMembranes:
    """The host link's encoding of a network's output, whose last LIF is `lif` (an ir.LIF): its
    spikes, or a readout's state words (two words a state where a token cannot be one word);
    SnncError if a spike token or a state cannot fit."""
    if not lif.readout:
        return link_tokens(lif.shape, "the network output")
    tokens = MembraneTokens.for_lif(lif)
    if tokens.token_bits <= WORD_BITS:
        return tokens
    if lif.state_bits > 2 * WORD_BITS:
        raise SnncError(f"readout '{lif.name}': its {lif.state_bits}-bit states do not fit two {WORD_BITS}-bit words "
                        "of the host protocol")
    return WideMembranes(MembraneTokens.for_lif(lif, max(lif.state_bits, WORD_BITS + 1)))
