"""Wall time of `snnc compile` + `snnc simulate --engine rtl` on a 784-256-10 model (INT4 weights,
4-bit threshold-centered states) for 16 samples at T = 16, on this machine.  Target: < 300 s.

Usage: python benchmarks/rtl_end_to_end.py [--lanes 16]
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


def model(path: Path, rng: np.random.Generator) -> None:
    w = ModelWriter((784,))
    for i, (n_in, n_out) in enumerate(((784, 256), (256, 10))):
        theta = 16.0
        lv = levels.integerize_levels(levels.threshold_centered_levels(4, theta), 0.25) * 0.25
        w.dense(rng.integers(-7, 8, (n_in, n_out)), scale=0.25, bits=4, name=f"fc{i}")
        w.lif(beta=0.9375, threshold=theta, state_lsb=0.25, state_quant="threshold_centered", state_levels=lv,
              name=f"lif{i}")
    onnx.save(w.model(), path)


def timed(cmd: list[str]) -> float:
    t0 = time.time()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.time() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lanes", type=int, default=16)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    snnc = [sys.executable, "-m", "snnc.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model(tmp / "m784.onnx", rng)
        np.save(tmp / "x.npy", (rng.random((16, 16, 784)) < 0.15).astype(np.uint8))
        t_compile = timed(snnc + ["compile", str(tmp / "m784.onnx"), "--lanes", str(args.lanes), "-o", str(tmp / "b")])
        t_sim = timed(snnc + ["simulate", str(tmp / "b"), "--input", str(tmp / "x.npy"), "--output",
                              str(tmp / "y.npy"), "--engine", "rtl"])
        subprocess.run(snnc + ["simulate", str(tmp / "b"), "--input", str(tmp / "x.npy"), "--output",
                               str(tmp / "g.npy")], check=True, stdout=subprocess.DEVNULL)
        agree = np.array_equal(np.load(tmp / "y.npy"), np.load(tmp / "g.npy"))
    total = t_compile + t_sim
    print(f"784-256-10, {args.lanes} lanes, 16 samples x T=16: compile {t_compile:.1f} s, RTL simulate "
          f"{t_sim:.1f} s, total {total:.1f} s ({total / 300:.2f} of the 300 s target); RTL == golden: {agree}")


if __name__ == "__main__":
    main()
