"""Board core parts in Amaranth's simulator: the CRC-16 update against binascii, the UART
transmitter looped into the receiver, the receiver's framing check, constant products."""
import binascii
import random

import pytest
from amaranth import Module, Signal
from amaranth.sim import Simulator

from snnc.rtl_gen.arith import times
from snnc.rtl_gen.board_core import crc16_update
from snnc.rtl_gen.uart_rx import UartRx
from snnc.rtl_gen.uart_tx import UartTx


def test_crc16_update_matches_binascii():
    crc, byte, out = Signal(16), Signal(8), Signal(16)
    m = Module()
    m.d.comb += out.eq(crc16_update(crc, byte))
    sim = Simulator(m)

    async def bench(ctx):
        rng = random.Random(0)
        for c, b in [(0xFFFF, 0), (0, 0xFF)] + [(rng.randrange(1 << 16), rng.randrange(256)) for _ in range(500)]:
            ctx.set(crc, c)
            ctx.set(byte, b)
            assert ctx.get(out) == binascii.crc_hqx(bytes([b]), c)

    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("divisor", [4, 7, 16])
def test_uart_loopback(divisor):
    m = Module()
    m.submodules.tx = tx = UartTx(divisor)
    m.submodules.rx = rx = UartRx(divisor)
    m.d.comb += [rx.rx.eq(tx.tx), rx.o_bytes.ready.eq(1)]
    sent = [0x00, 0xFF, 0xA5, 0x5A] + [random.Random(divisor).randrange(256) for _ in range(20)]
    received = []
    sim = Simulator(m)
    sim.add_clock(1e-8)

    async def send(ctx):
        for b in sent:
            ctx.set(tx.i_bytes.payload, b)
            ctx.set(tx.i_bytes.valid, 1)
            await ctx.tick().until(tx.i_bytes.ready)
        ctx.set(tx.i_bytes.valid, 0)

    async def receive(ctx):
        while len(received) < len(sent):
            await ctx.tick()
            if ctx.get(rx.o_bytes.valid):
                received.append(ctx.get(rx.o_bytes.payload))
            assert not ctx.get(rx.framing_error)

    sim.add_testbench(send, background=True)
    sim.add_testbench(receive)
    sim.run_until(1e-8 * divisor * 10 * (len(sent) + 4))
    assert received == sent


def test_uart_rx_drops_a_byte_without_stop_bit():
    divisor = 8
    dut = UartRx(divisor)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    events = []

    async def line(ctx):
        ctx.set(dut.o_bytes.ready, 1)
        for frame in ([0, 1, 0, 1, 0, 0, 1, 1, 0, 0], [0, 1, 1, 0, 0, 1, 0, 1, 0, 1]):  # stop bit 0, then 1
            for bit in frame:
                ctx.set(dut.rx, bit)
                for _ in range(divisor):
                    await ctx.tick()
                    if ctx.get(dut.o_bytes.valid):
                        events.append(("byte", ctx.get(dut.o_bytes.payload)))
                    if ctx.get(dut.framing_error):
                        events.append(("framing",))
            ctx.set(dut.rx, 1)
            for _ in range(3 * divisor):
                await ctx.tick()
                if ctx.get(dut.o_bytes.valid):
                    events.append(("byte", ctx.get(dut.o_bytes.payload)))

    sim.add_testbench(line)
    sim.run()
    assert events == [("framing",), ("byte", 0b01010011)]


@pytest.mark.parametrize("k", [0, 1, 3, 10, 96, 255])
def test_times_constant(k):
    x, out = Signal(8), Signal(20)
    m = Module()
    m.d.comb += out.eq(times(x, k))
    sim = Simulator(m)

    async def bench(ctx):
        for v in (0, 1, 7, 200, 255):
            ctx.set(x, v)
            assert ctx.get(out) == v * k

    sim.add_testbench(bench)
    sim.run()
