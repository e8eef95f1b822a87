"""UartRx: 8N1 serial receiver, one byte per frame out on a stream (no backpressure: the byte is
presented for one cycle; the host protocol never sends faster than the receiver consumes)."""
from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out


class UartRx(wiring.Component):
    """`divisor`: clock cycles per bit (clk_hz / baud, rounded).  The line is synchronised with two
    flip-flops, the start bit is checked at its middle, each data bit sampled at its middle (LSB
    first); a byte whose stop bit is low is a framing error and is dropped (`framing_error` pulses)."""

    def __init__(self, divisor: int):
        if divisor < 4:
            raise ValueError(f"UART divisor {divisor} < 4: the baud rate is too high for the clock")
        self.divisor = divisor
        super().__init__({"rx": In(1, init=1), "o_bytes": Out(stream.Signature(8)), "framing_error": Out(1)})

    def elaborate(self, platform):
        m = Module()
        line = Signal(init=1)
        m.submodules.sync_rx = FFSynchronizer(self.rx, line, init=1)
        timer = Signal(range(self.divisor * 3 // 2 + 1))
        bits = Signal(range(10))
        shift = Signal(8)
        m.d.comb += self.o_bytes.payload.eq(shift)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(~line):
                    m.d.sync += timer.eq(self.divisor // 2 - 1)
                    m.next = "START"
            with m.State("START"):
                with m.If(timer == 0):
                    m.d.sync += [timer.eq(self.divisor - 1), bits.eq(0)]
                    m.next = "DATA"
                    with m.If(line):  # a glitch, not a start bit
                        m.next = "IDLE"
                with m.Else():
                    m.d.sync += timer.eq(timer - 1)
            with m.State("DATA"):
                with m.If(timer == 0):
                    m.d.sync += [timer.eq(self.divisor - 1), shift.eq((line << 7) | (shift >> 1)), bits.eq(bits + 1)]
                    with m.If(bits == 7):
                        m.next = "STOP"
                with m.Else():
                    m.d.sync += timer.eq(timer - 1)
            with m.State("STOP"):
                with m.If(timer == 0):
                    m.d.comb += [self.o_bytes.valid.eq(line), self.framing_error.eq(~line)]
                    m.next = "IDLE"
                with m.Else():
                    m.d.sync += timer.eq(timer - 1)
        return m
