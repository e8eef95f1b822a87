"""UartTx: 8N1 serial transmitter fed by a byte stream."""
from __future__ import annotations

from amaranth import Cat, Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out


class UartTx(wiring.Component):
    """`divisor`: clock cycles per bit.  Takes a byte when idle and shifts out start bit, 8 data
    bits LSB first and a stop bit; the line idles high."""

    def __init__(self, divisor: int):
        self.divisor = divisor
        super().__init__({"i_bytes": In(stream.Signature(8)), "tx": Out(1, init=1)})

    def elaborate(self, platform):
        m = Module()
        timer = Signal(range(self.divisor))
        frame = Signal(10, init=0x3FF)  # bits still to send, LSB first
        left = Signal(range(11))
        m.d.comb += [self.tx.eq(frame[0]), self.i_bytes.ready.eq(left == 0)]
        with m.If(self.i_bytes.valid & self.i_bytes.ready):
            m.d.sync += [frame.eq(Cat(Const(0, 1), self.i_bytes.payload, Const(1, 1))), left.eq(10),
                         timer.eq(self.divisor - 1)]
        with m.Elif(left != 0):
            with m.If(timer == 0):
                m.d.sync += [frame.eq(Cat(frame[1:], Const(1, 1))), left.eq(left - 1), timer.eq(self.divisor - 1)]
            with m.Else():
                m.d.sync += timer.eq(timer - 1)
        return m
