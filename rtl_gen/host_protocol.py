"""The framed host protocol between the host runtime and a board's BoardCore (constants only).

Every frame, both ways: SYNC byte, a command (host -> board) or status (board -> host) byte, the
payload length in bytes (u16, little-endian), the payload, and a CRC-16/CCITT-FALSE (poly 0x1021,
init 0xFFFF, Python's `binascii.crc_hqx(data, 0xFFFF)`) over command/status, length and payload,
little-endian.  Payloads are sequences of u16 words, little-endian, so lengths are even.

Commands (payload words -> reply payload words); every command is idempotent, so a host may
repeat any of them after a lost or corrupted reply:
  IDENT        ()                         -> IDENTITY_WORDS (see below)
  LOAD         (offset, token...)         -> ()    write tokens into the input buffer at offset
  RUN          (n_tokens, n_steps)        -> (cycles lo, cycles hi, output tokens, flags)
                                             start the network, feed input tokens 0..n_tokens-1,
                                             record the output tokens, reply at done
  READ         ()                         -> (count[0..n_out-1], cycles lo, cycles hi)
  READ_SPIKES  (offset, count)            -> output tokens offset..offset+count-1
A token is a 16-bit word: a spike's flat input address, or EOT_TOKEN closing a timestep.

The board buffers a frame's payload and acts on it only after its CRC checks, so a corrupted frame
changes nothing.  A frame whose bytes stop for FRAME_TIMEOUT_S is dropped without a reply.
"""
from __future__ import annotations

SYNC_REQUEST = 0xA5
SYNC_REPLY = 0x5A
HEADER_BYTES = 4      # sync, command/status, length (u16)
CRC_BYTES = 2
MAX_PAYLOAD = 512     # bytes in one host -> board frame (the board's staging buffer)
PROTOCOL_VERSION = 1
MAGIC = 0x4E53        # "SN"
EOT_TOKEN = 0xFFFF
FRAME_TIMEOUT_S = 2e-3

CMD_IDENT, CMD_LOAD, CMD_RUN, CMD_READ, CMD_READ_SPIKES = 0x01, 0x02, 0x03, 0x04, 0x05
COMMANDS = {CMD_IDENT: "IDENT", CMD_LOAD: "LOAD", CMD_RUN: "RUN", CMD_READ: "READ", CMD_READ_SPIKES: "READ_SPIKES"}

STATUS_OK, STATUS_BAD_CRC, STATUS_BAD_COMMAND, STATUS_BAD_ARGUMENT = 0x00, 0x01, 0x02, 0x03
STATUSES = {STATUS_OK: "ok", STATUS_BAD_CRC: "CRC error", STATUS_BAD_COMMAND: "unknown command",
            STATUS_BAD_ARGUMENT: "bad argument"}

FLAG_OUTPUT_OVERFLOW = 0x1  # RUN: more output tokens than the output buffer holds

# IDENT reply words, in order
IDENTITY_FIELDS = ("magic", "version", "hash_lo", "hash_hi", "n_in", "n_out", "in_depth", "out_depth",
                   "max_payload", "lanes")


def design_hash(fingerprint_hex: str, lanes: int) -> int:
    """The 32-bit identity of a design: the IR's fingerprint and the lane count."""
    import hashlib

    return int.from_bytes(hashlib.sha256(f"{fingerprint_hex}:{lanes}".encode()).digest()[:4], "little")
