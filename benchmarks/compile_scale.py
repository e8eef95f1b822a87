"""How `snnc compile` grows with the model: N_in-N_hidden-10 MLPs of random 8-bit weights (no
zeros worth a sparse format) from 0.1M to 16M weights, and one past the limit, compiled at 4 lanes
and with `--lanes auto --max-luts 15000 --spike-rate 0.1`, each in its own process: wall time and
peak resident memory (the child's ru_maxrss).  Beside them, issue 25's targets for the
4.2M-weight 1024-4096-10 model (60 s, 2 GB) and what main measured before the fix (fixed lanes:
unfinished after 400 s at 4.4 GB; auto: MemoryError after 322 s at 5.9 GB).  A model past the
compiler's size limit (docs/spec.md, "Sizes") is refused at once: the row shows the refusal's time.

Usage: python benchmarks/compile_scale.py [--work DIR] [--largest N]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx

from snnc.compiler.dialect import ModelWriter

SNNC = [sys.executable, "-m", "snnc.cli"]
# 0.1M .. 16.1M weights, then 17.2M: past contracts.MAX_WEIGHTS (2**24), refused at once
SIZES = [(256, 384), (512, 1024), (1024, 1024), (1024, 4096), (2048, 7808), (4096, 4200)]
SETTINGS = {"lanes 4": ["--lanes", "4"], "lanes auto": ["--lanes", "auto", "--max-luts", "15000", "--spike-rate", "0.1"]}
BEFORE = {("lanes 4", 4_235_264): "> 400 s, 4.4 GB (unfinished)", ("lanes auto", 4_235_264): "322 s, 5.9 GB (MemoryError)"}


def model(path: Path, n_in: int, hidden: int, rng: np.random.Generator) -> int:
    """An n_in-hidden-10 MLP of 8-bit weights in [-127, 127] (zero only by chance); its weight count."""
    w = ModelWriter((n_in,), name=f"mlp{n_in}x{hidden}")
    w.dense(rng.integers(-127, 128, (n_in, hidden), dtype=np.int8), scale=2 ** -7, bits=8, name="fc1")
    w.lif(beta=0.875, threshold=1.0, state_lsb=2 ** -7, state_min=-4, state_max=4, name="lif1")
    w.dense(rng.integers(-127, 128, (hidden, 10), dtype=np.int8), scale=2 ** -7, bits=8, name="fc2")
    w.lif(beta=0.875, threshold=1.0, state_lsb=2 ** -7, state_min=-4, state_max=4, name="lif2")
    onnx.save(w.model(), path)
    return n_in * hidden + hidden * 10


def measured(args: list[str]) -> tuple[float, float, int, str]:
    """(seconds, peak resident GB, exit status, last line of stderr) of one command."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    err = proc.stderr.read().strip().splitlines()
    return seconds, usage.ru_maxrss / 2 ** 20, os.waitstatus_to_exitcode(status), err[-1] if err else ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path, help="folder for the models and builds (default: a temporary one)")
    ap.add_argument("--largest", type=int, default=len(SIZES), help="measure only the first N sizes")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(0)
        print(f"{'weights':>11}  {'setting':<10}  {'seconds':>8}  {'peak GB':>7}  {'s / M weights':>13}  outcome; before")
        for n_in, hidden in SIZES[:args.largest]:
            path = work / f"mlp{n_in}x{hidden}.onnx"
            weights = model(path, n_in, hidden, rng)
            for name, flags in SETTINGS.items():
                out = work / f"b{n_in}x{hidden}{name[-4:].strip()}"
                seconds, gb, code, err = measured([*SNNC, "compile", str(path), "-o", str(out), *flags])
                outcome = "compiled" if code == 0 else f"exit {code}: {err[:90]}"
                before = BEFORE.get((name, weights), "")
                target = " (target: 60 s, 2 GB)" if weights == 4_235_264 else ""
                print(f"{weights:>11,}  {name:<10}  {seconds:>8.1f}  {gb:>7.2f}  {seconds / weights * 1e6:>13.2f}  "
                      f"{outcome}{target}{'; before: ' + before if before else ''}", flush=True)
                subprocess.run(["rm", "-rf", str(out)])


if __name__ == "__main__":
    main()
