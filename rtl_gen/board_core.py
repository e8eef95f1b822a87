"""BoardCore: a network behind a UART and the framed host protocol (snnc.compiler.host_protocol).

The part of a board design that does not depend on the board:

    rx -> UartRx -> FrameReceiver -> Dispatcher (NetworkTop, input and output token buffers)
                                         |
    tx <- UartTx <- ReplySender <--------+  (reply header, payload words fetched from the dispatcher)

Ports: `rx`, `tx` (the UART lines) and `leds` (contracts.BOARD_LEDS: heartbeat, running, the last
frame was bad).  The board builds in `snnc.boards` wrap it in a platform's pins; the simulation backend of
`snnc.runtime` runs it as is.  Memories (16-bit words): staging MAX_PAYLOAD/2, input `in_depth`,
output `out_depth`.
"""
from __future__ import annotations

import math

from amaranth import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from snnc.compiler import host_protocol as hp
from snnc.compiler import ir
from snnc.compiler.contracts import BOARD_LEDS
from snnc.compiler.engine_model import HOST_BUFFER_TOKENS
from snnc.compiler.layer_impl import Implementation

from .dispatcher import Dispatcher
from .frame_receiver import FrameReceiver
from .network_instance import NetworkInstance
from .network_top import NetworkTop
from .reply_sender import ReplySender
from .uart_rx import UartRx
from .uart_tx import UartTx


class BoardCore(wiring.Component):
    def __init__(self, net: ir.Network, impl: Implementation, clk_hz: float, baud: int, identity: int,
                 in_depth: int = HOST_BUFFER_TOKENS, out_depth: int = HOST_BUFFER_TOKENS, weight_images: bool = False,
                 network_module: bool = False):
        """impl, weight_images: the NetworkTop's; network_module: use the network's separately
        emitted Verilog module (NetworkInstance) instead of elaborating it inside the core."""
        self.divisor = hp.uart_divisor(clk_hz, baud)
        # a frame's bytes may pause for FRAME_TIMEOUT_S, or 16 byte times at slow rates
        self.frame_timeout = max(16 * hp.UART_BITS_PER_BYTE * self.divisor, int(clk_hz * hp.FRAME_TIMEOUT_S))
        self.heartbeat_bit = max(1, int(math.log2(clk_hz)) - 1)  # the heartbeat LED blinks at about 1 Hz
        network = NetworkInstance(net, impl) if network_module else \
            NetworkTop(net, impl, weight_images=weight_images)
        hash_lo, hash_hi = hp.split_words(identity, 2)
        self.identity = {"magic": hp.MAGIC, "version": hp.PROTOCOL_VERSION, "hash_lo": hash_lo, "hash_hi": hash_hi,
                         "n_in": int(math.prod(net.input_shape)), "n_out": network.n_out,
                         "in_depth": in_depth, "out_depth": out_depth, "max_payload": hp.MAX_PAYLOAD,
                         "lanes": max(li.lanes for li in impl)}
        self.dispatcher = Dispatcher(network, self.identity, in_depth, out_depth)
        super().__init__({"rx": In(1, init=1), "tx": Out(1, init=1), "leds": Out(len(BOARD_LEDS))})

    def elaborate(self, platform):
        m = Module()
        m.submodules.uart_rx = urx = UartRx(self.divisor)
        m.submodules.uart_tx = utx = UartTx(self.divisor)
        m.submodules.receiver = receiver = FrameReceiver(self.frame_timeout)
        m.submodules.dispatcher = dispatcher = self.dispatcher
        m.submodules.sender = sender = ReplySender()
        m.d.comb += [urx.rx.eq(self.rx), self.tx.eq(utx.tx)]
        wiring.connect(m, urx.o_bytes, receiver.i_bytes)
        wiring.connect(m, receiver.frame, dispatcher.frame)
        wiring.connect(m, dispatcher.o_reply, sender.i_reply)
        wiring.connect(m, sender.o_bytes, utx.i_bytes)
        m.d.comb += [dispatcher.stage_data.eq(receiver.stage_data), receiver.stage_addr.eq(dispatcher.stage_addr),
                     dispatcher.word_index.eq(sender.word_index), sender.word_data.eq(dispatcher.word_data),
                     dispatcher.reply_done.eq(sender.done)]

        beat = Signal(self.heartbeat_bit + 1)
        m.d.sync += beat.eq(beat + 1)
        m.d.comb += self.leds.eq(Cat(beat[-1], dispatcher.running, receiver.bad_frame))
        return m
