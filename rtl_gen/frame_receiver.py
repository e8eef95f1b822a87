"""FrameReceiver: host -> board frames of the host protocol (snnc.compiler.host_protocol), from bytes.

Hunts for the SYNC byte, reads the command, the u16 length and the payload into a staging memory
(16-bit words, little-endian), and checks the CRC-16/CCITT-FALSE (amaranth.lib.crc) over command,
length and payload against the frame's little-endian CRC.  A frame offers {cmd, length, crc_ok} on
`frame` and is held, its payload readable at `stage_addr` -> `stage_data` (one cycle later), until
the consumer takes it (`frame.ready`: the reply has gone out); bytes that arrive meanwhile are
dropped.  A length that is odd or over MAX_PAYLOAD, or a pause longer than `timeout` cycles within
a frame, drops the frame without offering it.  `bad_frame` is high from such a drop or a CRC error
until the next good frame.
"""
from __future__ import annotations

from amaranth import Cat, Module, Signal, unsigned
from amaranth.lib import crc, data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from snnc.compiler import host_protocol as hp

Frame = data.StructLayout({"cmd": unsigned(8), "length": unsigned(16), "crc_ok": 1})
CRC16 = crc.catalog.CRC16_CCITT_FALSE(data_width=8)


class FrameReceiver(wiring.Component):
    def __init__(self, timeout: int):
        self.timeout = timeout
        super().__init__({
            "i_bytes": In(stream.Signature(8)),
            "frame": Out(stream.Signature(Frame)),
            "stage_addr": In(range(hp.MAX_PAYLOAD // 2)), "stage_data": Out(16),
            "bad_frame": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.staging = staging = memory.Memory(shape=16, depth=hp.MAX_PAYLOAD // 2, init=[])
        stage_w, stage_r = staging.write_port(), staging.read_port()
        m.d.comb += [stage_r.addr.eq(self.stage_addr), self.stage_data.eq(stage_r.data)]
        m.submodules.crc = checker = CRC16.create()

        byte, got = self.i_bytes.payload, self.i_bytes.valid
        m.d.comb += [self.i_bytes.ready.eq(1), checker.data.eq(byte)]
        frame = self.frame.payload
        idx = Signal(range(hp.MAX_PAYLOAD + 1))
        low, crc_lo = Signal(8), Signal(8)
        idle = Signal(range(self.timeout + 1))
        in_frame = Signal()
        with m.If(in_frame & ~got):
            m.d.sync += idle.eq(idle + 1)
        with m.Else():
            m.d.sync += idle.eq(0)

        with m.FSM():
            with m.State("HUNT"):
                with m.If(got & (byte == hp.SYNC_REQUEST)):
                    m.d.comb += checker.start.eq(1)
                    m.next = "CMD"
            for state in ("CMD", "LEN0", "LEN1", "PAYLOAD", "CRC0", "CRC1"):
                with m.State(state):
                    m.d.comb += in_frame.eq(1)
                    with m.If(idle == self.timeout):
                        m.d.sync += self.bad_frame.eq(1)
                        m.next = "HUNT"
                    with m.Elif(got):
                        if state in ("CMD", "LEN0", "LEN1", "PAYLOAD"):
                            m.d.comb += checker.valid.eq(1)
                        if state == "CMD":
                            m.d.sync += frame.cmd.eq(byte)
                            m.next = "LEN0"
                        elif state == "LEN0":
                            m.d.sync += frame.length[:8].eq(byte)
                            m.next = "LEN1"
                        elif state == "LEN1":
                            length = Cat(frame.length[:8], byte)
                            m.d.sync += [frame.length.eq(length), idx.eq(0)]
                            with m.If((length > hp.MAX_PAYLOAD) | length[0]):
                                m.d.sync += self.bad_frame.eq(1)
                                m.next = "HUNT"  # not a frame this board can take: drop it, no reply
                            with m.Elif(length == 0):
                                m.next = "CRC0"
                            with m.Else():
                                m.next = "PAYLOAD"
                        elif state == "PAYLOAD":
                            m.d.sync += [idx.eq(idx + 1), low.eq(byte)]
                            with m.If(idx[0]):
                                m.d.comb += [stage_w.addr.eq(idx >> 1), stage_w.data.eq(Cat(low, byte)),
                                             stage_w.en.eq(1)]
                            with m.If(idx == frame.length - 1):
                                m.next = "CRC0"
                        elif state == "CRC0":
                            m.d.sync += crc_lo.eq(byte)
                            m.next = "CRC1"
                        else:
                            ok = Cat(crc_lo, byte) == checker.crc
                            m.d.sync += [frame.crc_ok.eq(ok), self.bad_frame.eq(~ok)]
                            m.next = "OFFER"
            with m.State("OFFER"):
                m.d.comb += self.frame.valid.eq(1)
                with m.If(self.frame.ready):
                    m.next = "HUNT"
        return m
