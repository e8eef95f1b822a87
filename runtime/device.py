"""Device: run a compiled network on a board, on the simulated board, or in the golden model.

One API over three backends:
  Device.serial(build, port)      the board, programmed with the build's bitstream, over pyserial
  Device.simulated(build)         the build's BoardCore (network, UART, protocol) in Verilator
  Device.golden(build)            the golden model (no link; for speed)
`infer(sample)` runs one sample [T, *input_shape]; `run(spikes)` runs [T, B, ...] and returns the
output spikes [T, B, N_out] (uint8), or a readout's membranes (golden.output_array), as `snnc simulate` does.  On a link the device first checks
the board's identity word against the build, and checks every answer for consistency (the spike
counts the board counted equal the spikes it returned, every timestep closed), so a wrong answer
is an error, never a result.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from snnc.compiler import build_folder, ir
from snnc.compiler import host_protocol as hp
from snnc.compiler.errors import SnncError
from snnc.compiler.engine_model import cycle_budget
from snnc.compiler.geometry import check_timesteps
from snnc.sim import golden

from .protocol import HostProtocol, Link, LinkError


@dataclass(frozen=True)
class Inference:
    """output: spikes uint8 [T, N_out], or a readout's membranes [T, N] (LSB units); counts: the spike
    counts int64 [N_out] (None for a readout); cycles from start to done (None in golden)."""

    output: np.ndarray
    counts: np.ndarray | None
    cycles: int | None


def input_tokens(net: ir.Network, sample: np.ndarray) -> np.ndarray:
    """One sample's spikes [T, ...] -> the host link's u16 input tokens (host_protocol.link_tokens)."""
    return hp.link_tokens(net.input_shape, "the network input").encode(sample).astype(np.uint16)


class Device:
    def __init__(self, net: ir.Network, settings: build_folder.BuildSettings, link: Link | None):
        self.net, self.settings, self.link = net, settings, link
        self.n_out = int(net.lifs[-1].size)
        self.protocol = None
        if link is not None:
            if settings.board is None:
                raise SnncError("this build has no board: compile it with --board NAME to run it over a link")
            self.protocol = HostProtocol(link, settings.baud)
            self.identity = self._check_identity()

    @classmethod
    def golden(cls, build: Path) -> "Device":
        return cls(*build_folder.load(build), None)

    @classmethod
    def simulated(cls, build: Path, simulator: str = "verilator", wrap=None, trace: Path | None = None,
                  progress=None) -> "Device":
        """The build's BoardCore in simulation; `wrap(link)` may put a FaultyLink around it; trace:
        its waveform is written there when the device closes (FST or VCD by the extension); progress:
        a bar factory for the simulator's build (sim.rtl.shown)."""
        from .sim_link import SimLink

        net, settings = build_folder.load(build)
        if settings.board is None:
            raise SnncError(f"{build}: no board in this build; compile with --board NAME to simulate the board")
        link = SimLink((Path(build) / settings.board_verilog).read_text(), settings.clk_hz,
                       hp.uart_divisor(settings.clk_hz, settings.baud), simulator, build_folder.record_folder(build, build_folder.SIM_DIR),
                       build_folder.memory_images(build, settings), trace, progress)
        try:
            return cls(net, settings, wrap(link) if wrap else link)
        except BaseException:
            link.close()
            raise

    @classmethod
    def serial(cls, build: Path, port: str) -> "Device":
        from .serial_link import SerialLink

        net, settings = build_folder.load(build)
        if settings.board is None:
            raise SnncError(f"{build}: no board in this build; compile with --board NAME")
        link = SerialLink(port, settings.baud)
        try:
            return cls(net, settings, link)
        except BaseException:
            link.close()
            raise

    def close(self) -> None:
        if self.link is not None:
            self.link.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _check_identity(self) -> dict:
        words = self.protocol.transact(hp.CMD_IDENT, reply_words=len(hp.IDENTITY_FIELDS))
        ident = dict(zip(hp.IDENTITY_FIELDS, words))
        if ident["magic"] != hp.MAGIC or ident["version"] != hp.PROTOCOL_VERSION:
            raise LinkError(f"the device is not an snnc board of protocol {hp.PROTOCOL_VERSION} "
                            f"(magic {ident['magic']:#06x}, version {ident['version']})")
        board_hash = hp.join_words([ident["hash_lo"], ident["hash_hi"]])
        if board_hash != self.settings.identity:
            raise LinkError(f"the board runs another network (design {board_hash:08x}, this build is "
                            f"{self.settings.identity:08x}): program it with this build's bitstream")
        # a board of this design reports its buffers; a reply that cannot be one is not believed
        if min(ident["in_depth"], ident["out_depth"]) < 1 or ident["max_payload"] < 4 or ident["max_payload"] % 2:
            raise LinkError(f"IDENT: impossible buffers (input {ident['in_depth']}, output {ident['out_depth']} tokens, "
                            f"frames of {ident['max_payload']} bytes)")
        return ident

    def infer(self, sample: np.ndarray) -> Inference:
        """Run one sample of spikes [T, *input_shape] (0/1)."""
        x = golden.check_spikes(np.asarray(sample)[:, None], self.net.input_shape)[:, 0]
        if self.protocol is None:
            out = golden.output_array(self.net, golden.run(self.net, x[:, None]))[:, 0]
            return Inference(out, None if self.net.lifs[-1].readout else out.sum(axis=0, dtype=np.int64), None)
        return self._infer_on_board(x)

    def _infer_on_board(self, x: np.ndarray) -> Inference:
        p, ident, n_steps = self.protocol, self.identity, x.shape[0]
        check_timesteps(n_steps)
        tokens = input_tokens(self.net, x)
        if len(tokens) > ident["in_depth"]:
            raise SnncError(f"the sample has {len(tokens)} input tokens (spikes + timesteps), the board's "
                            f"input buffer holds {ident['in_depth']}: use fewer timesteps or a larger buffer")
        chunk = ident["max_payload"] // 2 - 1
        for start in range(0, len(tokens), chunk):
            p.transact(hp.CMD_LOAD, [start, *tokens[start:start + chunk]])
        budget_s = cycle_budget(self.net, self.settings.layers, len(tokens), n_steps) / self.settings.clk_hz
        *cycle_words, n_tokens_out, flags = p.transact(hp.CMD_RUN, [len(tokens), n_steps], hp.RUN_REPLY_WORDS, budget_s)
        cycles = hp.join_words(cycle_words)
        if flags & hp.FLAG_OUTPUT_OVERFLOW:
            raise LinkError(f"the output spikes overflowed the board's buffer of {ident['out_depth']} tokens")
        read = p.transact(hp.CMD_READ, reply_words=self.n_out + len(cycle_words))
        counts = np.array(read[:self.n_out], np.int64)
        if hp.join_words(read[self.n_out:]) != cycles:
            raise LinkError(f"READ: cycle count {hp.join_words(read[self.n_out:])} differs from RUN's {cycles}")
        out_tokens = []
        step = ident["max_payload"] // 2
        for start in range(0, n_tokens_out, step):
            count = min(step, n_tokens_out - start)
            out_tokens += p.transact(hp.CMD_READ_SPIKES, [start, count], count)
        try:
            out = hp.output_link_tokens(self.net.lifs[-1]).decode(out_tokens, n_steps)
        except SnncError as e:
            raise LinkError(f"READ_SPIKES: {e}") from None
        if self.net.lifs[-1].readout:  # the board counts no spikes of a readout
            return Inference(golden.output_array(self.net, out[:, None])[:, 0], None, cycles)
        spikes = out
        if not np.array_equal(spikes.sum(axis=0), counts):
            raise LinkError(f"the board's output is inconsistent: spike counts {spikes.sum(axis=0).tolist()} "
                            f"against counters {counts.tolist()}")
        return Inference(spikes, counts, cycles)

    def run(self, spikes: np.ndarray, progress=None) -> tuple[np.ndarray, list[int | None]]:
        """Spikes [T, B, *input_shape] -> (output spikes uint8 [T, B, N_out] or a readout's membranes
        (golden.output_array), cycles per sample).
        `progress`: a callable wrapping the sample range (tqdm) or None."""
        x = golden.check_spikes(spikes, self.net.input_shape)
        if self.protocol is None:
            return golden.output_array(self.net, golden.run(self.net, x)), [None] * x.shape[1]
        samples = range(x.shape[1])
        results = [self.infer(x[:, b]) for b in (progress(samples) if progress else samples)]
        return np.stack([r.output for r in results], axis=1), [r.cycles for r in results]


