"""Host side of the framed protocol (`snnc.compiler.host_protocol`): frames, CRC, bounded retries.

A `Link` moves bytes: `write(data)`, `read(n, timeout_s)` (up to n bytes, waiting at most
timeout_s of the board's time), `close()`.  `HostProtocol.transact` sends one command and returns
the reply's payload words; a reply lost, cut short or failing its CRC, or a board that saw a bad
frame, is retried after the line has been quiet for longer than the board's frame timeout (every
command is idempotent), at most `retries` times; then a LinkError says what happened.
"""
from __future__ import annotations

import binascii
import struct
from typing import Protocol

from snnc.compiler import host_protocol as hp
from snnc.compiler.errors import SnncError


class LinkError(SnncError):
    """The board did not answer correctly (timeouts, CRC errors, wrong design, bad status)."""


class Link(Protocol):
    latency_s: float  # fixed delay the link adds to every reply (USB frames for a serial adapter)

    def write(self, data: bytes) -> None: ...

    def read(self, n: int, timeout_s: float) -> bytes: ...

    def close(self) -> None: ...


def crc16(data: bytes) -> int:
    return binascii.crc_hqx(data, hp.CRC_INIT)


def frame(sync: int, code: int, payload: bytes) -> bytes:
    body = struct.pack("<BH", code, len(payload)) + payload
    return bytes([sync]) + body + struct.pack("<H", crc16(body))


def words_to_bytes(words) -> bytes:
    return struct.pack(f"<{len(words)}H", *[int(w) for w in words])


class HostProtocol:
    def __init__(self, link: Link, baud: int, retries: int = 3):
        self.link, self.retries = link, retries
        self.byte_s = hp.UART_BITS_PER_BYTE / baud
        self.retried = 0  # attempts that failed and were repeated (for tests and reports)

    def transact(self, command: int, words=(), reply_words: int = 0, work_s: float = 0.0) -> list[int]:
        """Send `command` with payload `words`; returns the reply's words.  `reply_words` (expected
        reply length) and `work_s` (board time the command may take) set the reply timeout."""
        request = frame(hp.SYNC_REQUEST, command, words_to_bytes(words))
        reply_bytes = hp.HEADER_BYTES + 2 * reply_words + hp.CRC_BYTES
        timeout = 1.5 * (len(request) + reply_bytes) * self.byte_s + work_s + hp.FRAME_TIMEOUT_S + self.link.latency_s
        name = hp.COMMANDS.get(command, hex(command))
        problems = []
        for attempt in range(self.retries + 1):
            if attempt:
                self.retried += 1
                self._quiet()
            self.link.write(request)
            try:
                status, payload = self._read_reply(timeout)
            except LinkError as e:
                problems.append(str(e))
                continue
            if status == hp.STATUS_BAD_CRC:
                problems.append("the board saw a CRC error")
                continue
            if status != hp.STATUS_OK:
                raise LinkError(f"{name}: the board answered '{hp.STATUSES.get(status, hex(status))}'")
            if len(payload) != 2 * reply_words:  # a whole frame of the wrong length: another protocol, not noise
                raise LinkError(f"{name}: the reply holds {len(payload) / 2:g} words, expected {reply_words}")
            return list(struct.unpack(f"<{reply_words}H", payload))
        raise LinkError(f"{name}: no valid reply after {self.retries + 1} attempts ({'; '.join(problems)})")

    def _quiet(self) -> None:
        """Wait until the line has been silent for twice the board's frame timeout, dropping what
        arrives: the board is then hunting for a new frame and no stale reply is left."""
        for _ in range(64):
            if not self.link.read(1 << 16, 2 * hp.FRAME_TIMEOUT_S + self.link.latency_s):
                return
        raise LinkError("the board keeps sending: the line never went quiet")

    def _read_reply(self, timeout: float) -> tuple[int, bytes]:
        for _ in range(hp.MAX_PAYLOAD):  # bytes before the sync byte are noise: skip a bounded number
            b = self.link.read(1, timeout)
            if not b:
                raise LinkError(f"timeout: no reply within {timeout * 1e3:.1f} ms")
            if b[0] == hp.SYNC_REPLY:
                break
        else:
            raise LinkError("no reply sync byte in the received bytes")
        header = self._read_exactly(3, timeout, "header")
        status, length = struct.unpack("<BH", header)
        if length % 2:
            raise LinkError(f"reply with an impossible length {length}")
        rest = self._read_exactly(length + hp.CRC_BYTES, timeout + length * self.byte_s, "payload")
        payload, (crc,) = rest[:length], struct.unpack("<H", rest[length:])
        if crc16(header + payload) != crc:
            raise LinkError("reply CRC mismatch")
        return status, payload

    def _read_exactly(self, n: int, timeout: float, what: str) -> bytes:
        data = self.link.read(n, timeout)
        if len(data) != n:
            raise LinkError(f"timeout: reply {what} cut short ({len(data)} of {n} bytes)")
        return data
