"""Pruned convolutions: an event-camera CSNN (2x32x32 -> conv 8 3x3 / max pool 2 of currents ->
conv 16 3x3 / max pool 2 -> dense 10; 4-bit weights, 4-bit threshold-centered states, T = 16,
input rate 0.05) with 80% of every synapse's weights pruned (by magnitude, and at random: see
benchmarks/lanes.py), on dense weight storage and on --weights auto (sparse where cheaper), at
several lane counts: cycles per inference (Verilator, RTL == golden), weight bits and Yosys LUTs of
each, and the auto design's bits and cycles as a fraction of the dense one.  The conv layers'
spikes walk their kernel taps; with sparse weights each tap costs max(1, its entry rows) cycles
instead of ceil(C_out/P) (docs/rtl.md).

    python benchmarks/sparse_conv.py [--samples 2] [--lanes 1 4 8:2] [--prune 0.8] [--prune-by magnitude random]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx

from snnc.compiler import compile_model, levels
from snnc.compiler.dialect import ModelWriter

sys.path.insert(0, str(Path(__file__).parent))
from lanes import PRUNING, pruned_tables  # noqa: E402  the same measurement

T, RATE = 16, 0.05


def csnn(rng: np.random.Generator) -> ModelWriter:
    """The CSNN of the module docstring with random 4-bit weights, thresholds scaled to the fan-in."""
    w = ModelWriter((2, 32, 32), name="csnn")

    def lif(fan_in: int) -> None:
        theta = float(max(8, int(np.sqrt(fan_in) * 3)))
        w.lif(beta=15 / 16, threshold=theta, state_lsb=1.0, state_quant="threshold_centered",
              state_levels=levels.integerize_levels(levels.threshold_centered_levels(4, theta), 1.0).astype(float))
    w.conv2d(rng.integers(-7, 8, (8, 2, 3, 3)), 1.0, 4, padding=1)
    w.pool("max", 2)
    lif(2 * 9)
    w.conv2d(rng.integers(-7, 8, (16, 8, 3, 3)), 1.0, 4, padding=1)
    w.pool("max", 2)
    lif(8 * 9)
    w.flatten()
    w.dense(rng.integers(-7, 8, (16 * 8 * 8, 10)), 1.0, 4)
    lif(1024)
    return w


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=2)
    ap.add_argument("--lanes", nargs="*", default=["1", "4", "8:2"])
    ap.add_argument("--prune", type=float, default=0.8)
    ap.add_argument("--prune-by", nargs="*", choices=PRUNING, default=list(PRUNING))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        onnx.save(csnn(rng).model(), Path(tmp) / "csnn.onnx")
        net = compile_model(Path(tmp) / "csnn.onnx")
    x = (rng.random((T, args.samples, 2, 32, 32)) < RATE).astype(np.uint8)
    print(f"CSNN 2x32x32 -> conv8/pool -> conv16/pool -> 10, W4, S4 threshold-centered, T={T}, input rate {RATE}, "
          f"{args.samples} samples, Yosys synth_xilinx")
    pairs = [pair for by in args.prune_by for pair in pruned_tables(net, x, args.prune, args.lanes, by, args.seed + 1)]
    return 0 if all(r[6] for pair in pairs for r in pair) else 1


if __name__ == "__main__":
    sys.exit(main())
