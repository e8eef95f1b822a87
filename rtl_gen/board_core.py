"""BoardCore: a network behind a UART and the framed host protocol (`host_protocol`).

The part of a board design that does not depend on the board: UART receiver and transmitter, a
staging buffer for one frame's payload (acted on only after its CRC checks), the input token
buffer that LOAD fills and RUN replays into the network, the output token buffer that RUN fills
and READ_SPIKES reads, and the protocol state machine.  Ports: `rx`, `tx` (the UART lines) and
`leds` (0: heartbeat, 1: running, 2: the last frame was bad).  The board builds in `snnc.boards`
wrap it in a platform's pins; the simulation backend of `snnc.runtime` runs it as is.

Memories (16-bit words): staging MAX_PAYLOAD/2, input `in_depth`, output `out_depth`.
"""
from __future__ import annotations

import math

from amaranth import Array, Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from snnc.compiler import ir
from snnc.compiler.errors import SnncError

from . import host_protocol as hp
from .network_top import CYCLE_BITS, NetworkTop
from .uart_rx import UartRx
from .uart_tx import UartTx

BOARD_TOP_NAME = "snnc_board"
IN_BUFFER_TOKENS = 4096
OUT_BUFFER_TOKENS = 4096
MAX_BAUD_ERROR = 0.02
MAX_BAUD = 3_000_000  # what common USB-UART bridges (FT2232H, CP2102N) take without flow control


def uart_divisor(clk_hz: float, baud: int) -> int:
    """Clock cycles per UART bit; an error naming the rates when the clock cannot make the baud rate."""
    if not 1200 <= baud <= MAX_BAUD:
        raise SnncError(f"--baud {baud}: choose a rate from 1200 to {MAX_BAUD}")
    divisor = round(clk_hz / baud)
    if divisor < 4 or abs(clk_hz / divisor - baud) / baud > MAX_BAUD_ERROR:
        raise SnncError(f"--baud {baud}: a {clk_hz / 1e6:g} MHz clock cannot make it within "
                        f"{MAX_BAUD_ERROR:.0%} (at most {int(clk_hz // 4)} baud)")
    return divisor


def _crc16_taps() -> list[tuple[list[int], list[int]]]:
    """For each bit of the next CRC: the bits of (crc, byte) it is the XOR of.  The CRC is linear
    over GF(2), so shifting a byte in MSB first is worked out once on sets of input bits."""
    crc = [({i}, set()) for i in range(16)]
    for i in reversed(range(8)):
        fb = (crc[15][0], crc[15][1] ^ {i})
        shifted = [(set(), set())] + crc[:15]
        crc = [(c ^ fb[0], d ^ fb[1]) if (0x1021 >> k) & 1 else (c, d) for k, (c, d) in enumerate(shifted)]
    return [(sorted(c), sorted(d)) for c, d in crc]


CRC16_TAPS = _crc16_taps()


def crc16_update(crc: Value, byte: Value) -> Value:
    """CRC-16/CCITT-FALSE (poly 0x1021, MSB first) of `crc` extended by `byte`: 16 XOR trees."""
    bits = []
    for crc_bits, byte_bits in CRC16_TAPS:
        terms = [crc[i] for i in crc_bits] + [byte[i] for i in byte_bits]
        bits.append(Cat(*terms).xor() if terms else Const(0, 1))
    return Cat(*bits)


class BoardCore(wiring.Component):
    def __init__(self, net: ir.Network, lanes: int, clk_hz: float, baud: int, identity: int,
                 in_depth: int = IN_BUFFER_TOKENS, out_depth: int = OUT_BUFFER_TOKENS):
        self.divisor = uart_divisor(clk_hz, baud)
        self.network = NetworkTop(net, lanes)
        self.frame_timeout = max(16 * 10 * self.divisor, int(clk_hz * hp.FRAME_TIMEOUT_S))
        self.heartbeat_bit = max(1, int(math.log2(clk_hz)) - 1)
        self.in_depth, self.out_depth = in_depth, out_depth
        self.n_out = self.network.n_out
        n_in = int(math.prod(net.input_shape))
        if n_in >= hp.EOT_TOKEN:
            raise SnncError(f"{n_in} input features: the host protocol addresses at most {hp.EOT_TOKEN - 1}")
        self.identity = {"magic": hp.MAGIC, "version": hp.PROTOCOL_VERSION, "hash_lo": identity & 0xFFFF,
                         "hash_hi": identity >> 16, "n_in": n_in, "n_out": self.n_out, "in_depth": in_depth,
                         "out_depth": out_depth, "max_payload": hp.MAX_PAYLOAD, "lanes": lanes}
        super().__init__({"rx": In(1, init=1), "tx": Out(1, init=1), "leds": Out(3)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.uart_rx = urx = UartRx(self.divisor)
        m.submodules.uart_tx = utx = UartTx(self.divisor)
        m.submodules.network = net = self.network
        m.submodules.staging = staging = memory.Memory(shape=16, depth=hp.MAX_PAYLOAD // 2, init=[])
        m.submodules.in_buffer = in_buf = memory.Memory(shape=16, depth=self.in_depth, init=[])
        m.submodules.out_buffer = out_buf = memory.Memory(shape=16, depth=self.out_depth, init=[])
        stage_w, stage_r = staging.write_port(), staging.read_port()
        in_w, in_r = in_buf.write_port(), in_buf.read_port()
        out_w, out_r = out_buf.write_port(), out_buf.read_port()
        m.d.comb += [urx.rx.eq(self.rx), self.tx.eq(utx.tx), urx.o_bytes.ready.eq(1)]

        byte, got = urx.o_bytes.payload, urx.o_bytes.valid
        crc, cmd, length, crc_lo, low = Signal(16), Signal(8), Signal(16), Signal(8), Signal(8)
        idx = Signal(range(hp.MAX_PAYLOAD + 1))
        arg0, arg1 = Signal(16), Signal(16)
        idle = Signal(range(self.frame_timeout + 1))
        status, kind, n_words, w = Signal(8), Signal(3), Signal(16), Signal(16)
        word, tx_crc = Signal(16), Signal(16)
        k = Signal(range(max(self.in_depth, hp.MAX_PAYLOAD) + 1))
        bad_frame = Signal()
        # RUN bookkeeping: the token being offered (read port data), eots fed, outputs captured
        feed, eots_in, eots_out = Signal(range(self.in_depth + 1)), Signal(16), Signal(16)
        out_count, overflow, cycles, out_tokens, flags = (Signal(range(self.out_depth + 1)), Signal(),
                                                           Signal(CYCLE_BITS), Signal(16), Signal(16))
        running = Signal()
        KIND_NONE, KIND_IDENT, KIND_RUN, KIND_READ, KIND_SPIKES = range(5)

        def reply(m, code, what=KIND_NONE, words=0):
            m.d.sync += [status.eq(code), kind.eq(what), n_words.eq(words), w.eq(0), tx_crc.eq(0xFFFF)]
            m.next = "T_SYNC"

        in_frame = Signal()
        with m.If(in_frame & ~got):
            m.d.sync += idle.eq(idle + 1)
        with m.Else():
            m.d.sync += idle.eq(0)

        # output capture, whenever the network runs
        tok = net.o_spikes.payload
        m.d.comb += net.o_spikes.ready.eq(1)
        with m.If(net.o_spikes.valid):
            with m.If(out_count < self.out_depth):
                m.d.comb += [out_w.addr.eq(out_count), out_w.data.eq(Mux(tok.eot, hp.EOT_TOKEN, tok.addr)),
                             out_w.en.eq(1)]
                m.d.sync += out_count.eq(out_count + 1)
            with m.Else():
                m.d.sync += overflow.eq(1)
            with m.If(tok.eot):
                m.d.sync += eots_out.eq(eots_out + 1)

        in_token = in_r.data
        with m.FSM():
            with m.State("HUNT"):
                with m.If(got & (byte == hp.SYNC_REQUEST)):
                    m.d.sync += crc.eq(0xFFFF)
                    m.next = "CMD"
            for state, nxt in (("CMD", "LEN0"), ("LEN0", "LEN1"), ("LEN1", None), ("PAYLOAD", None),
                               ("CRC0", "CRC1"), ("CRC1", None)):
                with m.State(state):
                    m.d.comb += in_frame.eq(1)
                    with m.If(idle == self.frame_timeout):
                        m.d.sync += bad_frame.eq(1)
                        m.next = "HUNT"
                    with m.Elif(got):
                        if state in ("CMD", "LEN0", "LEN1", "PAYLOAD"):
                            m.d.sync += crc.eq(crc16_update(crc, byte))
                        if state == "CMD":
                            m.d.sync += cmd.eq(byte)
                        elif state == "LEN0":
                            m.d.sync += length[:8].eq(byte)
                        elif state == "LEN1":
                            new_len = Cat(length[:8], byte)
                            m.d.sync += [length.eq(new_len), idx.eq(0)]
                            with m.If((new_len > hp.MAX_PAYLOAD) | new_len[0]):
                                m.d.sync += bad_frame.eq(1)
                                m.next = "HUNT"  # not a frame this board can take: drop it, no reply
                            with m.Elif(new_len == 0):
                                m.next = "CRC0"
                            with m.Else():
                                m.next = "PAYLOAD"
                        elif state == "PAYLOAD":
                            m.d.sync += [idx.eq(idx + 1), low.eq(byte)]
                            with m.If(idx[0]):
                                m.d.comb += [stage_w.addr.eq(idx >> 1), stage_w.data.eq(Cat(low, byte)), stage_w.en.eq(1)]
                            with m.If(idx == length - 1):
                                m.next = "CRC0"
                        elif state == "CRC0":
                            m.d.sync += crc_lo.eq(byte)
                        else:  # CRC1
                            with m.If(Cat(crc_lo, byte) == crc):
                                m.d.sync += bad_frame.eq(0)
                                m.next = "ARG0"
                            with m.Else():
                                m.d.sync += bad_frame.eq(1)
                                reply(m, hp.STATUS_BAD_CRC)
                        if nxt:
                            m.next = nxt
            with m.State("ARG0"):  # read the first two payload words
                m.d.comb += stage_r.addr.eq(0)
                m.next = "ARG1"
            with m.State("ARG1"):
                m.d.comb += stage_r.addr.eq(1)
                m.d.sync += arg0.eq(stage_r.data)
                m.next = "DISPATCH"
            with m.State("DISPATCH"):
                m.d.sync += arg1.eq(stage_r.data)
                n_load = (length >> 1) - 1
                with m.Switch(cmd):
                    with m.Case(hp.CMD_IDENT):
                        with m.If(length == 0):
                            reply(m, hp.STATUS_OK, KIND_IDENT, len(hp.IDENTITY_FIELDS))
                        with m.Else():
                            reply(m, hp.STATUS_BAD_ARGUMENT)
                    with m.Case(hp.CMD_LOAD):
                        with m.If((length >= 2) & (arg0 + n_load <= self.in_depth)):
                            m.d.sync += k.eq(0)
                            m.next = "COPY_READ"
                        with m.Else():
                            reply(m, hp.STATUS_BAD_ARGUMENT)
                    with m.Case(hp.CMD_RUN):
                        with m.If((length == 4) & (arg0 <= self.in_depth) & (stage_r.data != 0)):
                            m.next = "RUN_START"
                        with m.Else():
                            reply(m, hp.STATUS_BAD_ARGUMENT)
                    with m.Case(hp.CMD_READ):
                        with m.If(length == 0):
                            reply(m, hp.STATUS_OK, KIND_READ, self.n_out + 2)
                        with m.Else():
                            reply(m, hp.STATUS_BAD_ARGUMENT)
                    with m.Case(hp.CMD_READ_SPIKES):
                        with m.If((length == 4) & (arg0 + stage_r.data <= self.out_depth)):
                            reply(m, hp.STATUS_OK, KIND_SPIKES, stage_r.data)
                        with m.Else():
                            reply(m, hp.STATUS_BAD_ARGUMENT)
                    with m.Default():
                        reply(m, hp.STATUS_BAD_COMMAND)
            with m.State("COPY_READ"):  # staging word k+1 -> input buffer word arg0+k
                with m.If(k == (length >> 1) - 1):
                    reply(m, hp.STATUS_OK)
                with m.Else():
                    m.d.comb += stage_r.addr.eq(k + 1)
                    m.next = "COPY_WRITE"
            with m.State("COPY_WRITE"):
                m.d.comb += [in_w.addr.eq(arg0 + k), in_w.data.eq(stage_r.data), in_w.en.eq(1)]
                m.d.sync += k.eq(k + 1)
                m.next = "COPY_READ"
            with m.State("RUN_START"):
                m.d.comb += [net.start.eq(1), net.n_steps.eq(arg1), in_r.addr.eq(0), running.eq(1)]
                m.d.sync += [feed.eq(0), eots_in.eq(0), eots_out.eq(0), out_count.eq(0), overflow.eq(0)]
                m.next = "RUN_FEED"
            with m.State("RUN_FEED"):  # offer input token `feed` (on the read port) to the network
                m.d.comb += running.eq(1)
                is_eot = in_token == hp.EOT_TOKEN
                take = net.i_spikes.valid & net.i_spikes.ready
                m.d.comb += [net.i_spikes.payload.addr.eq(in_token), net.i_spikes.payload.eot.eq(is_eot),
                             in_r.addr.eq(Mux(take, feed + 1, feed))]
                with m.If(eots_in == arg1):
                    m.next = "RUN_WAIT"
                with m.Elif(feed == arg0):  # tokens ran out before the last timestep closed
                    reply(m, hp.STATUS_BAD_ARGUMENT)
                with m.Else():
                    m.d.comb += net.i_spikes.valid.eq(1)
                    with m.If(take):
                        m.d.sync += [feed.eq(feed + 1), eots_in.eq(eots_in + is_eot)]
            with m.State("RUN_WAIT"):
                m.d.comb += running.eq(1)
                with m.If(net.done & (eots_out == arg1)):
                    m.d.sync += [cycles.eq(net.cycles), out_tokens.eq(out_count), flags.eq(overflow)]
                    reply(m, Mux(feed == arg0, hp.STATUS_OK, hp.STATUS_BAD_ARGUMENT), KIND_RUN, 4)

            # reply: sync, status, length, payload words (fetched one at a time), CRC
            ident = Array(Const(self.identity[f], 16) for f in hp.IDENTITY_FIELDS)
            run_words = Array([cycles[:16], cycles[16:], out_tokens, flags])
            m.d.comb += [net.count_addr.eq(w), out_r.addr.eq(arg0 + w)]
            read_word = Mux(w < self.n_out, net.count_data, Mux(w == self.n_out, net.cycles[:16], net.cycles[16:]))
            send = Signal(8)
            tx_states = {"T_SYNC": (hp.SYNC_REPLY, "T_STATUS"), "T_STATUS": (status, "T_LEN0"),
                         "T_LEN0": ((n_words << 1)[:8], "T_LEN1"), "T_LEN1": ((n_words << 1)[8:16], None),
                         "T_LO": (word[:8], "T_HI"), "T_HI": (word[8:], None),
                         "T_CRC0": (tx_crc[:8], "T_CRC1"), "T_CRC1": (tx_crc[8:], "HUNT")}
            for state, (value, nxt) in tx_states.items():
                with m.State(state):
                    m.d.comb += [send.eq(value), utx.i_bytes.valid.eq(1)]
                    with m.If(utx.i_bytes.ready):
                        if state not in ("T_SYNC", "T_CRC0", "T_CRC1"):
                            m.d.sync += tx_crc.eq(crc16_update(tx_crc, send))
                        if state == "T_LEN1":
                            m.next = "T_FETCH"
                            with m.If(n_words == 0):
                                m.next = "T_CRC0"
                        elif state == "T_HI":
                            m.d.sync += w.eq(w + 1)
                            m.next = "T_FETCH"
                            with m.If(w + 1 == n_words):
                                m.next = "T_CRC0"
                        else:
                            m.next = nxt
            with m.State("T_FETCH"):  # addresses from w are set; the read ports answer next cycle
                m.next = "T_LATCH"
            with m.State("T_LATCH"):
                with m.Switch(kind):
                    with m.Case(KIND_IDENT):
                        m.d.sync += word.eq(ident[w])
                    with m.Case(KIND_RUN):
                        m.d.sync += word.eq(run_words[w[:2]])
                    with m.Case(KIND_READ):
                        m.d.sync += word.eq(read_word)
                    with m.Case(KIND_SPIKES):
                        m.d.sync += word.eq(out_r.data)
                m.next = "T_LO"
        m.d.comb += utx.i_bytes.payload.eq(send)

        # LEDs: heartbeat, running, the last frame was bad (CRC, length, timeout)
        beat = Signal(self.heartbeat_bit + 1)
        m.d.sync += beat.eq(beat + 1)
        m.d.comb += self.leds.eq(Cat(beat[-1], running, bad_frame))
        return m
