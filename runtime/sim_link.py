"""SimLink: the byte link of a simulated board: a build's BoardCore Verilog in Verilator (or
Icarus) through cocotb, the UART lines included (`snnc.sim.uart_bench` serves them).

The simulator runs in a thread; the link talks to its bench over a local socket, in lockstep:
simulated time passes only while the host waits for bytes, and timeouts are in the board's time.
`FaultyLink` wraps any link and drops or corrupts chosen bytes, for the robustness tests.
"""
from __future__ import annotations

import os
import socket
import struct
import tempfile
import threading
from pathlib import Path

from snnc.compiler import files
from snnc.compiler.errors import SnncError
from snnc.compiler.contracts import BOARD_TOP
from snnc.sim import rtl
from snnc.sim.uart_bench import PERIOD_NS

WALL_TIMEOUT_S = 1800  # a safety net only: a dead simulator closes the socket at once


class SimLink:
    latency_s = 0.0

    def __init__(self, verilog: str, clk_hz: float, divisor: int, simulator: str = "verilator",
                 work_dir: Path | None = None, memories: dict[str, str] | None = None, trace: Path | None = None,
                 progress=None):
        """trace: write the run's waveform there when the link closes (FST or VCD by its extension);
        progress: a bar factory for the simulator's build (rtl.shown)."""
        self.clk_hz, self.trace = clk_hz, trace
        fmt = rtl.trace_format(trace)
        work_dir = Path(work_dir or Path(tempfile.gettempdir()) / "snnc_rtl").resolve()  # the simulator runs elsewhere
        # optimised C++: the UART makes these runs long (hundreds of cycles per bit)
        build_dir = rtl.build(verilog, simulator, work_dir, top=BOARD_TOP, optimize=True, memories=memories, trace=fmt,
                              progress=progress)
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(300)
        self._tmp = tempfile.TemporaryDirectory(dir=build_dir)
        env = {"SNNC_LINK_PORT": str(listener.getsockname()[1]), "SNNC_UART_DIVISOR": str(divisor)}
        os.environ.update(rtl.verilator_env())
        self.log = Path(self._tmp.name) / "sim.log"
        self._recorded = Path(self._tmp.name) / f"trace.{fmt}"
        waves = rtl.trace_run_options(simulator, self._recorded) if fmt else {}

        def simulate():
            try:
                rtl.runner(simulator, fmt).test(hdl_toplevel=BOARD_TOP, hdl_toplevel_lang="verilog",
                                                test_module="snnc.sim.uart_bench", build_dir=build_dir,
                                                test_dir=self._tmp.name, extra_env=env, log_file=self.log,
                                                results_xml=str(Path(self._tmp.name) / "results.xml"), **waves)
            except BaseException:  # the host sees the closed socket and reports the log
                pass

        self._thread = threading.Thread(target=simulate, daemon=True)
        self._thread.start()
        try:
            self._sock, _ = listener.accept()
        except OSError:
            raise SnncError(f"the simulated board did not start; log: {self._log_tail()}") from None
        finally:
            listener.close()
        self._sock.settimeout(WALL_TIMEOUT_S)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _log_tail(self) -> str:
        return self.log.read_text()[-2000:] if self.log.exists() else "(no log)"

    def _send(self, msg: bytes) -> None:
        self._sock.sendall(struct.pack("<I", len(msg)) + msg)

    def write(self, data: bytes) -> None:
        self._send(b"W" + bytes(data))

    def read(self, n: int, timeout_s: float) -> bytes:
        self._send(b"R" + struct.pack("<IQ", n, int(timeout_s * self.clk_hz) * PERIOD_NS * 1000))
        try:
            head = self._recv(4)
            return self._recv(struct.unpack("<I", head)[0])
        except (ConnectionError, socket.timeout):
            raise SnncError(f"the simulated board stopped; log: {self._log_tail()}") from None

    def _recv(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self._sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError
            data += chunk
        return data

    def close(self) -> None:
        try:
            self._send(b"Q")
        except OSError:
            pass
        self._sock.close()
        self._thread.join(timeout=60)
        try:
            if self.trace is not None:  # complete once the simulator has ended
                if not self._recorded.exists():
                    raise SnncError(f"--trace {self.trace}: the simulator wrote no waveform; log: {self._log_tail()}")
                files.copy_to(self._recorded, Path(self.trace))
        finally:
            self._tmp.cleanup()


class FaultyLink:
    """Wraps a link; `drop` and `flip` map the index of a byte written (host -> board) or read
    (board -> host, prefixed "r") to the fault injected on it: the byte vanishes, or its bit 0 flips."""

    def __init__(self, link, drop_writes=(), flip_writes=(), flip_reads=(), silent=False):
        self.link, self.latency_s = link, link.latency_s
        self.drop_writes, self.flip_writes, self.flip_reads = set(drop_writes), set(flip_writes), set(flip_reads)
        self.silent = silent  # the board never hears anything: a cut cable
        self.written = self.read_count = 0

    def write(self, data: bytes) -> None:
        out = bytearray()
        for b in data:
            i, self.written = self.written, self.written + 1
            if i in self.drop_writes:
                continue
            out.append(b ^ 1 if i in self.flip_writes else b)
        if not self.silent:
            self.link.write(bytes(out))

    def read(self, n: int, timeout_s: float) -> bytes:
        data = bytearray(self.link.read(n, timeout_s))
        for k in range(len(data)):
            if self.read_count + k in self.flip_reads:
                data[k] ^= 1
        self.read_count += len(data)
        return bytes(data)

    def close(self) -> None:
        self.link.close()
