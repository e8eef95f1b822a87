"""The large model of issue 13 end to end: conv 2x100x100 -> 8x3x3 (76,832 LIF neurons), then dense
76,832 -> 10 (768,320 4-bit weights), 4-bit threshold-centered states.  Measures `snnc compile`
(wall time, Verilog size), the Verilator build plus a 2-sample, 4-timestep RTL run against the
golden model, and the board fit: refused on arty-a7-35 with a one-line reason, built for
nexys-a7-100.  Prints each figure beside its target and the figure measured before (main at
d563139: 140 s compile, 34 MB of Verilog, a Verilator build unfinished after 10 minutes, and no
board check).

Usage: python benchmarks/large_model.py [--work DIR]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx

from snnc.compiler import levels
from snnc.compiler.dialect import ModelWriter

SNNC = [sys.executable, "-m", "snnc.cli"]


def model(path: Path, rng: np.random.Generator) -> None:
    w = ModelWriter((2, 100, 100), name="large")
    w.conv2d(rng.integers(-7, 8, (8, 2, 3, 3)), scale=0.25, bits=4, name="conv1")
    w.lif(beta=0.875, threshold=2.0, state_lsb=0.25, state_quant="threshold_centered",
          state_levels=levels.integerize_levels(levels.threshold_centered_levels(4, 2.0), 0.25) * 0.25, name="lif1")
    w.flatten(name="flat")
    w.dense(rng.integers(-7, 8, (8 * 98 * 98, 10)), scale=0.25, bits=4, name="fc2")
    w.lif(beta=0.875, threshold=8.0, state_lsb=0.25, state_quant="threshold_centered",
          state_levels=levels.integerize_levels(levels.threshold_centered_levels(4, 8.0), 0.25) * 0.25, name="lif2")
    onnx.save(w.model(), path)


def timed(args: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.time()
    done = subprocess.run(args, capture_output=True, text=True)
    return time.time() - t0, done


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path, help="folder for the builds (default: a temporary one)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(0)
        model(work / "large.onnx", rng)
        np.save(work / "x.npy", (rng.random((4, 2, 2, 100, 100)) < 0.05).astype(np.uint8))
        rows = []
        seconds, done = timed([*SNNC, "compile", str(work / "large.onnx"), "-o", str(work / "b")])
        assert done.returncode == 0, done.stderr
        size = (work / "b" / "snnc_top.v").stat().st_size
        rows += [("compile (s)", f"{seconds:.1f}", "< 20", "140"), ("Verilog (MB)", f"{size / 1e6:.2f}", "< 2", "34")]
        seconds, done = timed([*SNNC, "simulate", str(work / "b"), "--input", str(work / "x.npy"),
                               "--output", str(work / "rtl.npy"), "--engine", "rtl"])
        assert done.returncode == 0, done.stderr
        subprocess.run([*SNNC, "simulate", str(work / "b"), "--input", str(work / "x.npy"),
                        "--output", str(work / "golden.npy")], check=True, capture_output=True)
        equal = np.array_equal(np.load(work / "rtl.npy"), np.load(work / "golden.npy"))
        rows += [("Verilator build + 2x4 RTL run (s)", f"{seconds:.1f}", "< 600", "> 600 (build unfinished)"),
                 ("RTL == golden", str(equal), "True", "-")]
        seconds, done = timed([*SNNC, "compile", str(work / "large.onnx"), "--board", "arty-a7-35", "-o", str(work / "arty")])
        rows.append(("arty-a7-35", f"exit {done.returncode}: {done.stderr.strip()}", "exit 1, one line", "exit 0"))
        seconds, done = timed([*SNNC, "compile", str(work / "large.onnx"), "--board", "nexys-a7-100", "-o",
                               str(work / "nexys")])
        rows.append(("nexys-a7-100 compile (s)", f"exit {done.returncode}, {seconds:.1f}", "fits, < 20", "-"))
    width = max(len(r[0]) for r in rows)
    print(f"{'':<{width}}  {'now':<40}  {'target':<18}  before")
    for name, now, target, before in rows:
        print(f"{name:<{width}}  {now:<40}  {target:<18}  {before}")


if __name__ == "__main__":
    main()
