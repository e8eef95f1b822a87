"""ReplySender: board -> host frames of the host protocol (snnc.compiler.host_protocol), as bytes.

A reply {status, n_words} taken on `i_reply` goes out as SYNC_REPLY, status, the payload length in
bytes (u16), n_words payload words and the CRC-16/CCITT-FALSE (amaranth.lib.crc) over status,
length and payload, all little-endian.  Payload word w is fetched from the word source: the sender
holds w on `word_index` for two cycles and latches `word_data` at the end of the second, so a
source behind a memory read port (one cycle of latency) answers in time.  `i_reply.ready` is high only while the
sender is idle; `done` pulses when the last CRC byte has been handed to the UART.
"""
from __future__ import annotations

from amaranth import Module, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from snnc.compiler import host_protocol as hp

from .frame_receiver import CRC16

Reply = data.StructLayout({"status": unsigned(8), "n_words": unsigned(16)})


class ReplySender(wiring.Component):
    def __init__(self):
        super().__init__({
            "i_reply": In(stream.Signature(Reply)),
            "word_index": Out(16), "word_data": In(16),
            "o_bytes": Out(stream.Signature(8)),
            "done": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.crc = crc = CRC16.create()
        status, n_words, w, word = Signal(8), Signal(16), self.word_index, Signal(16)
        send = self.o_bytes.payload
        m.d.comb += crc.data.eq(send)
        length = n_words << 1
        # state -> (byte sent, whether the CRC covers it)
        sends = {"SYNC": (hp.SYNC_REPLY, False), "STATUS": (status, True), "LEN0": (length[:8], True),
                 "LEN1": (length[8:16], True), "LO": (word[:8], True), "HI": (word[8:], True),
                 "CRC0": (crc.crc[:8], False), "CRC1": (crc.crc[8:], False)}
        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += [self.i_reply.ready.eq(1), crc.start.eq(1)]
                with m.If(self.i_reply.valid):
                    m.d.sync += [status.eq(self.i_reply.payload.status), n_words.eq(self.i_reply.payload.n_words),
                                 w.eq(0)]
                    m.next = "SYNC"
            for state, (value, covered) in sends.items():
                with m.State(state):
                    m.d.comb += [send.eq(value), self.o_bytes.valid.eq(1)]
                    with m.If(self.o_bytes.ready):
                        m.d.comb += crc.valid.eq(covered)
                        if state == "LEN1":
                            m.next = "FETCH"
                            with m.If(n_words == 0):
                                m.next = "CRC0"
                        elif state == "HI":
                            m.d.sync += w.eq(w + 1)
                            m.next = "FETCH"
                            with m.If(w + 1 == n_words):
                                m.next = "CRC0"
                        elif state == "CRC1":
                            m.d.comb += self.done.eq(1)
                            m.next = "IDLE"
                        else:
                            m.next = list(sends)[list(sends).index(state) + 1]
            with m.State("FETCH"):  # word_index is set; the source's read ports answer next cycle
                m.next = "LATCH"
            with m.State("LATCH"):
                m.d.sync += word.eq(self.word_data)
                m.next = "LO"
        return m
