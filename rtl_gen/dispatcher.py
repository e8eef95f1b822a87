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

The input buffer and its feed are an `InputFeed`, the output buffer an `OutputCapture` (they hold
host-link tokens and translate them to and from the network's); the dispatcher is the command
state machine and the reply's words.  `running` is high while RUN works.
"""
from __future__ import annotations

from amaranth import Array, Const, Module, Mux, Signal, Value
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from snnc.compiler import host_protocol as hp
from snnc.compiler.geometry import CYCLE_BITS

from .frame_receiver import Frame
from .input_feed import InputFeed
from .network_instance import NetworkInstance
from .network_top import NetworkTop
from .output_capture import OutputCapture
from .reply_sender import Reply

KIND_NONE, KIND_IDENT, KIND_RUN, KIND_READ, KIND_SPIKES = range(5)  # what the reply's words are
CYCLE_WORDS = CYCLE_BITS // hp.WORD_BITS  # a cycle count in the replies: its u16 words, low first


def cycle_words(cycles: Value) -> list[Value]:
    """A cycle counter as the protocol's u16 words, low word first."""
    return [cycles.word_select(i, hp.WORD_BITS) for i in range(CYCLE_WORDS)]


class Dispatcher(wiring.Component):
    def __init__(self, network: NetworkTop | NetworkInstance, identity: dict[str, int], in_depth: int, out_depth: int):
        self.network, self.identity = network, identity
        self.in_depth, self.out_depth = in_depth, out_depth
        super().__init__({
            "frame": In(stream.Signature(Frame)),
            "stage_addr": Out(range(hp.MAX_PAYLOAD // 2)), "stage_data": In(hp.WORD_BITS),
            "o_reply": Out(stream.Signature(Reply)), "reply_done": In(1),
            "word_index": In(hp.WORD_BITS), "word_data": Out(hp.WORD_BITS),
            "running": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        net = self.network
        m.submodules.network = net
        m.submodules.feed = feed = InputFeed(hp.link_tokens(net.net.input_shape, "the network input"),
                                             len(net.i_spikes.payload.addr), self.in_depth)
        m.submodules.capture = capture = OutputCapture(hp.output_link_tokens(net.net.lifs[-1]),
                                                       len(net.o_spikes.payload.addr), self.out_depth)
        wiring.connect(m, feed.o_spikes, net.i_spikes)
        wiring.connect(m, net.o_spikes, capture.i_spikes)

        arg0, arg1 = Signal(hp.WORD_BITS), Signal(hp.WORD_BITS)  # the command's first two payload words
        k = Signal(range(max(self.in_depth, hp.MAX_PAYLOAD) + 1))  # LOAD: the word being copied
        status, kind, n_words = Signal(8), Signal(3), Signal(hp.WORD_BITS)
        run_words = [Signal(hp.WORD_BITS, name=f"run_word{i}") for i in range(hp.RUN_REPLY_WORDS)]
        m.d.comb += [self.o_reply.payload.status.eq(status), self.o_reply.payload.n_words.eq(n_words),
                     feed.n_tokens.eq(arg0), feed.n_steps.eq(arg1)]

        def reply(code, what=KIND_NONE, words=0):
            m.d.sync += [status.eq(code), kind.eq(what), n_words.eq(words)]
            m.next = "REPLY"

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
                m.d.sync += [arg1.eq(self.stage_data), k.eq(0)]
                self._dispatch(m, reply, arg0, self.stage_data)
            self._load(m, reply, feed, arg0, k)
            self._run(m, reply, feed, capture, arg1, run_words)
            with m.State("REPLY"):
                m.d.comb += self.o_reply.valid.eq(1)
                with m.If(self.o_reply.ready):
                    m.next = "SENDING"
            with m.State("SENDING"):
                with m.If(self.reply_done):
                    m.d.comb += self.frame.ready.eq(1)
                    m.next = "WAIT"
        self._reply_words(m, kind, capture, arg0, run_words)
        return m

    def _dispatch(self, m: Module, reply, arg0: Value, arg1: Value) -> None:
        """In DISPATCH: check the command's length and arguments, then reply or go to its states."""
        length = self.frame.payload.length
        commands = {  # command: (its arguments are valid, the state it goes on to or its reply's kind and words)
            hp.CMD_IDENT: (length == 0, (KIND_IDENT, len(hp.IDENTITY_FIELDS))),
            hp.CMD_LOAD: ((length >= 2) & (arg0 + (length >> 1) - 1 <= self.in_depth), "COPY_READ"),
            hp.CMD_RUN: ((length == 4) & (arg0 <= self.in_depth) & (arg1 != 0), "RUN_START"),
            hp.CMD_READ: (length == 0, (KIND_READ, self.network.n_out + CYCLE_WORDS)),
            hp.CMD_READ_SPIKES: ((length == 4) & (arg0 + arg1 <= self.out_depth), (KIND_SPIKES, arg1)),
        }
        with m.Switch(self.frame.payload.cmd):
            for cmd, (valid, then) in commands.items():
                with m.Case(cmd):
                    with m.If(valid):
                        if isinstance(then, str):
                            m.next = then
                        else:
                            reply(hp.STATUS_OK, *then)
                    with m.Else():
                        reply(hp.STATUS_BAD_ARGUMENT)
            with m.Default():
                reply(hp.STATUS_BAD_COMMAND)

    def _load(self, m: Module, reply, feed: InputFeed, arg0: Value, k: Signal) -> None:
        """LOAD's states: staging word k+1 -> input buffer word arg0+k."""
        with m.State("COPY_READ"):
            with m.If(k == (self.frame.payload.length >> 1) - 1):
                reply(hp.STATUS_OK)
            with m.Else():
                m.d.comb += self.stage_addr.eq(k + 1)
                m.next = "COPY_WRITE"
        with m.State("COPY_WRITE"):
            m.d.comb += [feed.write_addr.eq(arg0 + k), feed.write_data.eq(self.stage_data), feed.write_en.eq(1)]
            m.d.sync += k.eq(k + 1)
            m.next = "COPY_READ"

    def _run(self, m: Module, reply, feed: InputFeed, capture: OutputCapture, n_steps: Value,
             run_words: list[Signal]) -> None:
        """RUN's states: start the network, feed it, wait until it is done and every output
        timestep is recorded; the reply is OK when the loaded tokens were used up exactly."""
        net = self.network
        with m.State("RUN_START"):
            m.d.comb += [net.start.eq(1), net.n_steps.eq(n_steps), feed.start.eq(1), capture.clear.eq(1),
                         self.running.eq(1)]
            m.next = "RUN_FEED"
        with m.State("RUN_FEED"):
            m.d.comb += [feed.active.eq(1), self.running.eq(1)]
            with m.If(feed.fed):
                m.next = "RUN_WAIT"
            with m.Elif(feed.exhausted):  # tokens ran out before the last timestep closed
                reply(hp.STATUS_BAD_ARGUMENT)
        with m.State("RUN_WAIT"):
            m.d.comb += self.running.eq(1)
            with m.If(net.done & (capture.eots == n_steps)):
                flags = Mux(capture.overflow, hp.FLAG_OUTPUT_OVERFLOW, 0)
                m.d.sync += [w.eq(v) for w, v in zip(run_words, [*cycle_words(net.cycles), capture.count, flags])]
                reply(Mux(feed.exhausted, hp.STATUS_OK, hp.STATUS_BAD_ARGUMENT), KIND_RUN, hp.RUN_REPLY_WORDS)

    def _reply_words(self, m: Module, kind: Signal, capture: OutputCapture, arg0: Value,
                     run_words: list[Signal]) -> None:
        """The reply's payload word `word_index`, for the ReplySender (one cycle of read latency
        where it comes from a memory)."""
        net, w = self.network, self.word_index
        m.d.comb += [net.count_addr.eq(w), capture.read_addr.eq(arg0 + w)]
        words = {
            KIND_IDENT: Array(Const(self.identity[f], hp.WORD_BITS) for f in hp.IDENTITY_FIELDS)[w],
            KIND_RUN: Array(run_words)[w],
            KIND_READ: Mux(w < net.n_out, net.count_data, Array(cycle_words(net.cycles))[w - net.n_out]),
            KIND_SPIKES: capture.read_data,
        }
        with m.Switch(kind):
            for what, word in words.items():
                with m.Case(what):
                    m.d.comb += self.word_data.eq(word)
