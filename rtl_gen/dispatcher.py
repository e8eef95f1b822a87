"""Dispatcher: carries out the host protocol's commands (snnc.compiler.host_protocol) on a network.

Takes a checked frame from the FrameReceiver (its payload words read through `stage_addr` ->
`stage_data`), acts on it and hands a reply {status, n_words} to the ReplySender, whose payload
words it serves on `word_index` -> `word_data`; the frame is released (`frame.ready`) when the
sender reports `reply_done`.

  IDENT        the identity words (design hash, sizes, buffer depths)
  LOAD         copies payload words 1.. into the input token buffer at offset word 0
  RUN          starts the network (`NetworkTop`), feeds it input tokens 0..n-1 from the buffer,
               records its output tokens in the output buffer, replies at done
  READ         the output spike counters and the cycle counter
  READ_SPIKES  output buffer words

Tokens in the buffers are the host link's (one u16 word each, `host_protocol.link_tokens` of the
input and output shapes): the network's own packed addresses, narrower, with the end-of-timestep
token at their own width; they are translated to and from the network's tokens here.
`running` is high while RUN works.
"""
from __future__ import annotations

from amaranth import Array, Const, Module, Mux, Signal
from amaranth.lib import memory, stream, wiring
from amaranth.lib.wiring import In, Out

from snnc.compiler import host_protocol as hp
from snnc.compiler.geometry import CYCLE_BITS

from .frame_receiver import Frame
from .network_instance import NetworkInstance
from .network_top import NetworkTop
from .reply_sender import Reply

KIND_NONE, KIND_IDENT, KIND_RUN, KIND_READ, KIND_SPIKES = range(5)  # what the reply's words are


class Dispatcher(wiring.Component):
    def __init__(self, network: NetworkTop | NetworkInstance, identity: dict[str, int], in_depth: int, out_depth: int):
        self.network, self.identity = network, identity
        self.in_depth, self.out_depth = in_depth, out_depth
        self.in_tokens = hp.link_tokens(network.net.input_shape, "the network input")
        self.out_tokens = hp.link_tokens(network.net.lifs[-1].shape, "the network output")
        super().__init__({
            "frame": In(stream.Signature(Frame)),
            "stage_addr": Out(range(hp.MAX_PAYLOAD // 2)), "stage_data": In(16),
            "o_reply": Out(stream.Signature(Reply)), "reply_done": In(1),
            "word_index": In(16), "word_data": Out(16),
            "running": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.network = net = self.network
        m.submodules.in_buffer = in_buf = memory.Memory(shape=16, depth=self.in_depth, init=[])
        m.submodules.out_buffer = out_buf = memory.Memory(shape=16, depth=self.out_depth, init=[])
        in_w, in_r = in_buf.write_port(), in_buf.read_port()
        out_w, out_r = out_buf.write_port(), out_buf.read_port()

        cmd, length = self.frame.payload.cmd, self.frame.payload.length
        arg0, arg1 = Signal(16), Signal(16)
        status, kind, n_words = Signal(8), Signal(3), Signal(16)
        k = Signal(range(max(self.in_depth, hp.MAX_PAYLOAD) + 1))
        # RUN bookkeeping: the token being offered (read port data), timesteps fed, outputs captured
        feed, eots_in, eots_out = Signal(range(self.in_depth + 1)), Signal(16), Signal(16)
        out_count, overflow = Signal(range(self.out_depth + 1)), Signal()
        cycles, out_tokens, flags = Signal(CYCLE_BITS), Signal(16), Signal(16)
        m.d.comb += [self.o_reply.payload.status.eq(status), self.o_reply.payload.n_words.eq(n_words)]

        def reply(code, what=KIND_NONE, words=0):
            m.d.sync += [status.eq(code), kind.eq(what), n_words.eq(words)]
            m.next = "REPLY"

        # output capture, whenever the network runs: network tokens -> link tokens
        tok = net.o_spikes.payload
        m.d.comb += net.o_spikes.ready.eq(1)
        with m.If(net.o_spikes.valid):
            with m.If(out_count < self.out_depth):
                m.d.comb += [out_w.addr.eq(out_count), out_w.data.eq(Mux(tok.eot, self.out_tokens.eot, tok.addr)),
                             out_w.en.eq(1)]
                m.d.sync += out_count.eq(out_count + 1)
            with m.Else():
                m.d.sync += overflow.eq(1)
            with m.If(tok.eot):
                m.d.sync += eots_out.eq(eots_out + 1)

        with m.FSM():
            with m.State("WAIT"):
                with m.If(self.frame.valid):
                    with m.If(self.frame.payload.crc_ok):
                        m.next = "ARG0"
                    with m.Else():
                        reply(hp.STATUS_BAD_CRC)
            with m.State("ARG0"):  # read the first two payload words
                m.d.comb += self.stage_addr.eq(0)
                m.next = "ARG1"
            with m.State("ARG1"):
                m.d.comb += self.stage_addr.eq(1)
                m.d.sync += arg0.eq(self.stage_data)
                m.next = "DISPATCH"
            with m.State("DISPATCH"):
                word1 = self.stage_data
                m.d.sync += arg1.eq(word1)
                with m.Switch(cmd):
                    with m.Case(hp.CMD_IDENT):
                        with m.If(length == 0):
                            reply(hp.STATUS_OK, KIND_IDENT, len(hp.IDENTITY_FIELDS))
                        with m.Else():
                            reply(hp.STATUS_BAD_ARGUMENT)
                    with m.Case(hp.CMD_LOAD):
                        with m.If((length >= 2) & (arg0 + (length >> 1) - 1 <= self.in_depth)):
                            m.d.sync += k.eq(0)
                            m.next = "COPY_READ"
                        with m.Else():
                            reply(hp.STATUS_BAD_ARGUMENT)
                    with m.Case(hp.CMD_RUN):
                        with m.If((length == 4) & (arg0 <= self.in_depth) & (word1 != 0)):
                            m.next = "RUN_START"
                        with m.Else():
                            reply(hp.STATUS_BAD_ARGUMENT)
                    with m.Case(hp.CMD_READ):
                        with m.If(length == 0):
                            reply(hp.STATUS_OK, KIND_READ, self.network.n_out + 2)
                        with m.Else():
                            reply(hp.STATUS_BAD_ARGUMENT)
                    with m.Case(hp.CMD_READ_SPIKES):
                        with m.If((length == 4) & (arg0 + word1 <= self.out_depth)):
                            reply(hp.STATUS_OK, KIND_SPIKES, word1)
                        with m.Else():
                            reply(hp.STATUS_BAD_ARGUMENT)
                    with m.Default():
                        reply(hp.STATUS_BAD_COMMAND)
            with m.State("COPY_READ"):  # staging word k+1 -> input buffer word arg0+k
                with m.If(k == (length >> 1) - 1):
                    reply(hp.STATUS_OK)
                with m.Else():
                    m.d.comb += self.stage_addr.eq(k + 1)
                    m.next = "COPY_WRITE"
            with m.State("COPY_WRITE"):
                m.d.comb += [in_w.addr.eq(arg0 + k), in_w.data.eq(self.stage_data), in_w.en.eq(1)]
                m.d.sync += k.eq(k + 1)
                m.next = "COPY_READ"
            with m.State("RUN_START"):
                m.d.comb += [net.start.eq(1), net.n_steps.eq(arg1), in_r.addr.eq(0), self.running.eq(1)]
                m.d.sync += [feed.eq(0), eots_in.eq(0), eots_out.eq(0), out_count.eq(0), overflow.eq(0)]
                m.next = "RUN_FEED"
            with m.State("RUN_FEED"):  # offer input token `feed` (on the read port) to the network
                m.d.comb += self.running.eq(1)
                is_eot = in_r.data == self.in_tokens.eot
                take = net.i_spikes.valid & net.i_spikes.ready
                m.d.comb += [net.i_spikes.payload.addr.eq(in_r.data[:self.in_tokens.address_bits]),
                             net.i_spikes.payload.eot.eq(is_eot), in_r.addr.eq(Mux(take, feed + 1, feed))]
                with m.If(eots_in == arg1):
                    m.next = "RUN_WAIT"
                with m.Elif(feed == arg0):  # tokens ran out before the last timestep closed
                    reply(hp.STATUS_BAD_ARGUMENT)
                with m.Else():
                    m.d.comb += net.i_spikes.valid.eq(1)
                    with m.If(take):
                        m.d.sync += [feed.eq(feed + 1), eots_in.eq(eots_in + is_eot)]
            with m.State("RUN_WAIT"):
                m.d.comb += self.running.eq(1)
                with m.If(net.done & (eots_out == arg1)):
                    m.d.sync += [cycles.eq(net.cycles), out_tokens.eq(out_count), flags.eq(overflow)]
                    reply(Mux(feed == arg0, hp.STATUS_OK, hp.STATUS_BAD_ARGUMENT), KIND_RUN, 4)
            with m.State("REPLY"):
                m.d.comb += self.o_reply.valid.eq(1)
                with m.If(self.o_reply.ready):
                    m.next = "SENDING"
            with m.State("SENDING"):
                with m.If(self.reply_done):
                    m.d.comb += self.frame.ready.eq(1)
                    m.next = "WAIT"

        # the reply's payload words
        w = self.word_index
        ident = Array(Const(self.identity[f], 16) for f in hp.IDENTITY_FIELDS)
        run_words = Array([cycles[:16], cycles[16:], out_tokens, flags])
        m.d.comb += [net.count_addr.eq(w), out_r.addr.eq(arg0 + w)]
        n_out = self.network.n_out
        read_word = Mux(w < n_out, net.count_data, Mux(w == n_out, net.cycles[:16], net.cycles[16:]))
        with m.Switch(kind):
            with m.Case(KIND_IDENT):
                m.d.comb += self.word_data.eq(ident[w])
            with m.Case(KIND_RUN):
                m.d.comb += self.word_data.eq(run_words[w[:2]])
            with m.Case(KIND_READ):
                m.d.comb += self.word_data.eq(read_word)
            with m.Case(KIND_SPIKES):
                m.d.comb += self.word_data.eq(out_r.data)
        return m
