"""Board core parts in Amaranth's simulator: the UART transmitter looped into the receiver, the
receiver's framing check, constant products; the frame receiver, the reply sender, the command
dispatcher and the whole BoardCore on its UART lines against the host runtime's own framing
(snnc.runtime.protocol) and the golden model."""
import random
import struct

import numpy as np
import pytest
from amaranth import Module, Signal
from amaranth.sim import Simulator

from snnc.compiler.layer_impl import implement
from snnc.compiler import host_protocol as hp
from snnc.compiler import ir
from snnc.compiler.contracts import BOARD_LEDS
from snnc.compiler.register_sizes import size_registers
from snnc.rtl_gen.arith import times
from snnc.rtl_gen.board_core import BoardCore
from snnc.rtl_gen.dispatcher import Dispatcher
from snnc.rtl_gen.frame_receiver import FrameReceiver
from snnc.rtl_gen.network_top import NetworkTop
from snnc.rtl_gen.reply_sender import ReplySender
from snnc.rtl_gen.uart_rx import UartRx
from snnc.rtl_gen.uart_tx import UartTx
from snnc.runtime.device import input_tokens
from snnc.runtime.protocol import frame, words_to_bytes
from snnc.sim import golden


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
        for bits in ([0, 1, 0, 1, 0, 0, 1, 1, 0, 0], [0, 1, 1, 0, 0, 1, 0, 1, 0, 1]):  # stop bit 0, then 1
            for bit in bits:
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


# ---- frame receiver ------------------------------------------------------------------------------

def receive(chunks, timeout=40):
    """Feed byte chunks (each followed by `gap` idle cycles) to a FrameReceiver; returns the frames
    it offered as (cmd, length, crc_ok, payload words) and the bad_frame flag at the end."""
    dut = FrameReceiver(timeout)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    frames, flags = [], []

    async def bench(ctx):
        for data, gap in chunks:
            for byte in data:
                ctx.set(dut.i_bytes.payload, byte)
                ctx.set(dut.i_bytes.valid, 1)
                await ctx.tick()
                ctx.set(dut.i_bytes.valid, 0)
                await ctx.tick()  # a UART delivers a byte at most every 10 bit times
                if ctx.get(dut.frame.valid):
                    cmd, length, ok = (ctx.get(getattr(dut.frame.payload, f)) for f in ("cmd", "length", "crc_ok"))
                    words = []
                    for i in range(length // 2):
                        ctx.set(dut.stage_addr, i)
                        await ctx.tick()
                        words.append(ctx.get(dut.stage_data))
                    frames.append((cmd, length, ok, words))
                    ctx.set(dut.frame.ready, 1)
                    await ctx.tick()
                    ctx.set(dut.frame.ready, 0)
            await ctx.tick().repeat(gap + 1)
        flags.append(ctx.get(dut.bad_frame))

    sim.add_testbench(bench)
    sim.run()
    return frames, flags[0]


def test_frame_receiver_takes_good_frames_and_flags_bad_ones():
    good = frame(hp.SYNC_REQUEST, hp.CMD_LOAD, words_to_bytes([7, 0x1234, 0xFFFF]))
    ident = frame(hp.SYNC_REQUEST, hp.CMD_IDENT, b"")
    frames, bad = receive([(b"\x00\x13" + good, 0), (ident, 0)])  # noise before the sync byte is skipped
    assert frames == [(hp.CMD_LOAD, 6, 1, [7, 0x1234, 0xFFFF]), (hp.CMD_IDENT, 0, 1, [])] and not bad
    corrupt = bytearray(good)
    corrupt[6] ^= 0x40
    frames, bad = receive([(bytes(corrupt), 0)])
    assert frames == [(hp.CMD_LOAD, 6, 0, [7, 0x1234 ^ 0x40, 0xFFFF])] and bad  # offered, for a BAD_CRC reply


def test_frame_receiver_drops_odd_long_and_stalled_frames():
    odd = bytes([hp.SYNC_REQUEST, hp.CMD_LOAD, 3, 0, 1, 2, 3, 0, 0])
    long = bytes([hp.SYNC_REQUEST, hp.CMD_LOAD]) + struct.pack("<H", hp.MAX_PAYLOAD + 2)
    good = frame(hp.SYNC_REQUEST, hp.CMD_READ, b"")
    for chunks in ([(odd, 0)], [(long, 0)], [(good[:4], 100)]):
        frames, bad = receive(chunks)
        assert frames == [] and bad
    frames, bad = receive([(good[:4], 100), (good, 0)])  # the stalled frame is dropped, the next one taken
    assert frames == [(hp.CMD_READ, 0, 1, [])] and not bad


# ---- reply sender --------------------------------------------------------------------------------

@pytest.mark.parametrize("status, words, stall", [(hp.STATUS_OK, [], 0), (hp.STATUS_BAD_CRC, [], 3),
                                                  (hp.STATUS_OK, [1, 0xBEEF, 0, 0xFFFF, 42], 0),
                                                  (hp.STATUS_OK, list(range(300, 320)), 5)])
def test_reply_sender_frames_like_the_host_expects(status, words, stall):
    dut = ReplySender()
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sent, done = [], []

    async def source(ctx):  # the word source answers its index combinationally (the sender waits anyway)
        async for _clk, _rst, index in ctx.tick().sample(dut.word_index):
            ctx.set(dut.word_data, words[index] if index < len(words) else 0xDEAD)

    async def bench(ctx):
        ctx.set(dut.i_reply.payload.status, status)
        ctx.set(dut.i_reply.payload.n_words, len(words))
        ctx.set(dut.i_reply.valid, 1)
        await ctx.tick().until(dut.i_reply.ready)
        ctx.set(dut.i_reply.valid, 0)
        while not done:
            ctx.set(dut.o_bytes.ready, 0)
            await ctx.tick().repeat(stall + 1)  # a UART takes a byte every so often
            ctx.set(dut.o_bytes.ready, 1)
            if ctx.get(dut.o_bytes.valid):
                sent.append(ctx.get(dut.o_bytes.payload))
                if ctx.get(dut.done):
                    done.append(True)
            await ctx.tick()
        assert ctx.get(dut.i_reply.ready)

    sim.add_process(source)
    sim.add_testbench(bench)
    sim.run_until(1e-8 * 20 * (len(words) * 2 + 8) * (stall + 3))
    assert bytes(sent) == frame(hp.SYNC_REPLY, status, words_to_bytes(words))


# ---- dispatcher ----------------------------------------------------------------------------------

def tiny_network():
    w = np.array([[3, -1, 2], [1, 2, -2]])  # 3 inputs, 2 neurons
    syn = ir.Dense("fc", w, np.zeros(2, np.int64), np.zeros(2, np.int64), 3)
    lif = ir.LIF("lif", (2,), 3, 1, 1, "subtract", "none", -16, 15)
    return size_registers(ir.validate(ir.Network("tiny", (3,), (syn, lif))))


def test_dispatcher_runs_commands_on_the_network():
    net = tiny_network()
    identity = {"magic": hp.MAGIC, "version": hp.PROTOCOL_VERSION, "hash_lo": 0x1111, "hash_hi": 0x2222,
                "n_in": 3, "n_out": 2, "in_depth": 64, "out_depth": 64, "max_payload": hp.MAX_PAYLOAD, "lanes": 1}
    dut = Dispatcher(NetworkTop(net, implement(net)), identity, 64, 64)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    x = (np.random.default_rng(3).random((6, 3)) < 0.6).astype(np.uint8)
    want = golden.run(net, x[:, None])[:, 0]
    staged = {"words": []}

    async def staging(ctx):  # the receiver's staging memory: one cycle of read latency
        async for _clk, _rst, addr in ctx.tick().sample(dut.stage_addr):
            words = staged["words"]
            ctx.set(dut.stage_data, words[addr] if addr < len(words) else 0)

    async def command(ctx, cmd, words=(), crc_ok=1):
        """Offer one frame; returns (status, reply words)."""
        staged["words"] = list(words)
        ctx.set(dut.frame.payload.cmd, cmd)
        ctx.set(dut.frame.payload.length, 2 * len(words))
        ctx.set(dut.frame.payload.crc_ok, crc_ok)
        ctx.set(dut.frame.valid, 1)
        await ctx.tick().until(dut.o_reply.valid)
        status, n = ctx.get(dut.o_reply.payload.status), ctx.get(dut.o_reply.payload.n_words)
        ctx.set(dut.o_reply.ready, 1)
        await ctx.tick()
        ctx.set(dut.o_reply.ready, 0)
        reply = []
        for i in range(n):
            ctx.set(dut.word_index, i)
            await ctx.tick().repeat(2)
            reply.append(ctx.get(dut.word_data))
        ctx.set(dut.reply_done, 1)
        assert ctx.get(dut.frame.ready)
        await ctx.tick()
        ctx.set(dut.reply_done, 0)
        ctx.set(dut.frame.valid, 0)
        await ctx.tick()
        return status, reply

    async def bench(ctx):
        assert await command(ctx, hp.CMD_IDENT) == (hp.STATUS_OK, [identity[f] for f in hp.IDENTITY_FIELDS])
        assert (await command(ctx, hp.CMD_IDENT, crc_ok=0))[0] == hp.STATUS_BAD_CRC
        assert (await command(ctx, 0x7F))[0] == hp.STATUS_BAD_COMMAND
        assert (await command(ctx, hp.CMD_LOAD, [63, 1, 2]))[0] == hp.STATUS_BAD_ARGUMENT  # past the buffer
        tokens = input_tokens(net, x).tolist()
        assert await command(ctx, hp.CMD_LOAD, [0, *tokens[:5]]) == (hp.STATUS_OK, [])
        assert await command(ctx, hp.CMD_LOAD, [5, *tokens[5:]]) == (hp.STATUS_OK, [])
        assert (await command(ctx, hp.CMD_RUN, [len(tokens), 7]))[0] == hp.STATUS_BAD_ARGUMENT  # 6 steps given
        status, (lo, hi, n_tokens, flags) = await command(ctx, hp.CMD_RUN, [len(tokens), 6])
        assert status == hp.STATUS_OK and flags == 0 and n_tokens == int(want.sum()) + 6
        status, read = await command(ctx, hp.CMD_READ)
        assert status == hp.STATUS_OK and read == [*want.sum(axis=0).tolist(), lo, hi]
        status, out = await command(ctx, hp.CMD_READ_SPIKES, [0, n_tokens])
        spikes = hp.link_tokens((2,), "output").decode(out, 6)
        np.testing.assert_array_equal(spikes, want)

    sim.add_process(staging)
    sim.add_testbench(bench)
    sim.run()
    assert want.sum() > 0


# ---- the board core: UART in, network, UART out ----------------------------------------------------

def test_board_core_answers_frames_on_its_uart_lines():
    """IDENT, LOAD, RUN and READ_SPIKES as bytes on `rx` (8N1 at 4 clocks a bit); the replies read
    off `tx` are the host's framing of the identity and of the golden model's spikes; `leds` show
    the run and a bad frame."""
    net = tiny_network()
    clk_hz, baud = 4e6, 1_000_000  # a divisor of 4: the shortest the UART takes
    dut = BoardCore(net, implement(net), clk_hz, baud, identity=0x12345678, in_depth=32, out_depth=32)
    divisor = dut.divisor
    x = (np.random.default_rng(5).random((5, 3)) < 0.6).astype(np.uint8)
    want = golden.run(net, x[:, None])[:, 0]
    tokens = input_tokens(net, x).tolist()
    replies, leds = bytearray(), set()

    async def listen(ctx):  # the host's UART receiver: sample each bit in its middle
        while True:
            while ctx.get(dut.tx):
                await ctx.tick()
            await ctx.tick().repeat(divisor + divisor // 2)
            byte = 0
            for bit in range(8):
                byte |= ctx.get(dut.tx) << bit
                await ctx.tick().repeat(divisor)
            replies.append(byte)
            leds.add(ctx.get(dut.leds))

    async def send(ctx, data: bytes):
        for byte in data:
            for bit in [0, *((byte >> i) & 1 for i in range(8)), 1]:
                ctx.set(dut.rx, bit)
                await ctx.tick().repeat(divisor)

    async def command(ctx, cmd, words, reply_words):
        replies.clear()
        await send(ctx, frame(hp.SYNC_REQUEST, cmd, words_to_bytes(words)))
        size = hp.HEADER_BYTES + 2 * reply_words + hp.CRC_BYTES
        while len(replies) < size:
            await ctx.tick()
            leds.add(ctx.get(dut.leds))
        return bytes(replies)

    async def bench(ctx):
        ident = [dut.identity[f] for f in hp.IDENTITY_FIELDS]
        assert await command(ctx, hp.CMD_IDENT, [], len(ident)) == frame(hp.SYNC_REPLY, hp.STATUS_OK,
                                                                         words_to_bytes(ident))
        assert hp.join_words([dut.identity["hash_lo"], dut.identity["hash_hi"]]) == 0x12345678
        assert await command(ctx, hp.CMD_LOAD, [0, *tokens], 0) == frame(hp.SYNC_REPLY, hp.STATUS_OK, b"")
        run = await command(ctx, hp.CMD_RUN, [len(tokens), len(x)], hp.RUN_REPLY_WORDS)
        *_, n_out, flags = struct.unpack("<4H", run[hp.HEADER_BYTES:-hp.CRC_BYTES])
        assert run[1] == hp.STATUS_OK and flags == 0
        spikes = await command(ctx, hp.CMD_READ_SPIKES, [0, n_out], n_out)
        out = struct.unpack(f"<{n_out}H", spikes[hp.HEADER_BYTES:-hp.CRC_BYTES])
        np.testing.assert_array_equal(hp.link_tokens((2,), "output").decode(out, len(x)), want)
        bad = bytearray(frame(hp.SYNC_REQUEST, hp.CMD_IDENT, b""))
        bad[-1] ^= 1
        replies.clear()
        await send(ctx, bytes(bad))
        while len(replies) < hp.HEADER_BYTES + hp.CRC_BYTES:
            await ctx.tick()
        assert replies[1] == hp.STATUS_BAD_CRC and ctx.get(dut.leds) >> BOARD_LEDS.index("bad_frame") & 1

    sim = Simulator(dut)
    sim.add_clock(1 / clk_hz)
    sim.add_testbench(listen, background=True)
    sim.add_testbench(bench)
    sim.run()
    assert any(led >> BOARD_LEDS.index("running") & 1 for led in leds)
