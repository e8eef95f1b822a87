"""A temporal task from the bundled digits, in the spirit of the NIR paper's Braille RNN (`make demo-rows`).

Each 8x8 digit is shown one row at a time: row r's 8 pixels, rate coded, for `--steps-per-row`
steps, then the next row, so the class can only be told from rows that have passed: the network
needs memory across steps.  Three networks of the same size (8-64-10, 4-bit weights) are trained
with the same seed and recipe, each ending in a membrane readout (an integrator: LIF beta 1,
reset "none", output "membrane"; cross-entropy on the last step's membranes):

- recurrent synaptic: the hidden layer takes its own spikes of the step before through a second
  weight matrix (snnTorch's RSynaptic, the NIR paper's Braille RNN) and has a synaptic current
  (alpha 0.9375), a second state per neuron (snnTorch's Synaptic, NIR's CubaLIF);
- synaptic: the same without the recurrent weights;
- feed-forward: the same hidden LIF with neither.

The recurrent synaptic one is exported, compiled for the board (`snnc compile --bits 4 --board
arty-a7-35`), run in the golden model on the whole test split (PyTorch's membranes must equal it),
and on the board core in Verilator over its UART for the first --rtl-samples samples (the board's
membranes must equal the golden model's).  The table goes to BUILD/rows.txt.

    python examples/rows/demo.py [--epochs 40] [--rtl-samples 10]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from tqdm import tqdm

from snnc.build import BuildConfig, build
from snnc.compiler.errors import SnncError
from snnc.frontend import LIF, SNN, QuantLinear, UniformQuantizer, export_onnx, reproducible
from snnc.runtime import Device
from snnc.sim import golden

sys.path.insert(0, str(Path(__file__).parents[1]))
import deploy_demo  # noqa: E402

HIDDEN, ALPHA, BETA = 64, 0.9375, 0.875


def row_spikes(images: np.ndarray, steps_per_row: int, rng: np.random.Generator) -> np.ndarray:
    """Images [N, 64] in [0, 1] -> spikes [8 * steps_per_row, N, 8] uint8: row r's pixels, rate
    coded, at steps r * steps_per_row ..."""
    rows = np.repeat(images.reshape(-1, 8, 8).transpose(1, 0, 2), steps_per_row, axis=0)  # [T, N, 8]
    return (rng.random(rows.shape) < rows).astype(np.uint8)


KINDS = ("recurrent synaptic", "synaptic", "feed-forward")


def network(kind: str) -> SNN:
    return SNN(QuantLinear(8, HIDDEN, quantizer=UniformQuantizer(4), recurrent=kind == "recurrent synaptic"),
               LIF(beta=BETA, alpha=None if kind == "feed-forward" else ALPHA, state_quant="none"),
               QuantLinear(HIDDEN, 10, quantizer=UniformQuantizer(4)),
               LIF(beta=1.0, reset="none", output="membrane", state_quant="none"))


def train(kind: str, data, args) -> tuple[SNN, float]:
    x_train, y_train, x_test, y_test = data
    rng = reproducible(args.seed)
    model = network(kind)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.epochs)
    labels = torch.from_numpy(y_train).long()
    for _ in tqdm(range(args.epochs), desc=kind, leave=False):
        model.train()
        spikes = torch.from_numpy(row_spikes(x_train, args.steps_per_row, rng)).float()
        order = torch.from_numpy(rng.permutation(len(y_train)))
        for i in range(0, len(order), 64):
            idx = order[i:i + 64]
            loss = F.cross_entropy(model(spikes[:, idx])[-1], labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    with torch.no_grad():
        membranes = model.eval()(torch.from_numpy(x_test).float()).numpy()
    return model, float((golden.classify(membranes.astype(np.float64), "last") == y_test).mean())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--steps-per-row", type=int, default=3)
    ap.add_argument("--rtl-samples", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--board", default="arty-a7-35")
    ap.add_argument("-o", "--output", type=Path, default=Path("build/rows"))
    args = ap.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    digits = load_digits()
    x_tr, x_te, y_tr, y_te = train_test_split((digits.data / 16.0).astype(np.float32), digits.target,
                                              test_size=0.25, stratify=digits.target, random_state=0)
    x_test = row_spikes(x_te, args.steps_per_row, np.random.default_rng(args.seed + 1000))
    data = (x_tr, y_tr, x_test, y_te)
    print(f"[1/4] training 8-{HIDDEN}-10 on digits row by row (T={x_test.shape[0]}): {', '.join(KINDS)}")
    trained = {kind: train(kind, data, args) for kind in KINDS}
    model = trained[KINDS[0]][0]

    onnx_path, build_dir = args.output / "rows.onnx", args.output / f"rows_{args.board}"
    print(f"[2/4] export {onnx_path}, snnc compile --bits 4 --board {args.board}")
    export_onnx(model, onnx_path, x_test.shape[0], (8,))
    try:
        result = build(BuildConfig(onnx_path, build_dir, bits=4, lanes=4, board=args.board, baud=3_000_000))
    except SnncError as e:
        print(f"snnc: error: {e}", file=sys.stderr)
        return 1
    net = result.net
    print("[3/4] golden model on the whole test split")
    ref = golden.run(net, x_test)
    golden_acc = float((golden.classify(ref, "last") == y_te).mean())
    with torch.no_grad():
        torch_mem = model(torch.from_numpy(x_test).float()).numpy()
    torch_exact = np.array_equal(torch_mem, ref * net.lifs[-1].lsb)
    n = min(args.rtl_samples, x_test.shape[1])
    print(f"[4/4] the board core in Verilator over its UART, {n} samples")
    with Device.simulated(build_dir) as device:
        out, cycles = device.run(x_test[:, :n], progress=lambda r: tqdm(r, unit="sample", leave=False))
    board_exact = np.array_equal(out, golden.output_array(net, ref[:, :n]))
    rows = [(f"{kind} hidden layer + membrane readout (PyTorch)", f"{100 * acc:.2f}%") for kind, (_, acc) in trained.items()]
    rows += [(f"golden model ({KINDS[0]}), {len(y_te)} test samples", f"{100 * golden_acc:.2f}% (PyTorch membranes identical: "
                                                        f"{torch_exact})"),
            (f"board core over UART, {n} samples", f"membranes identical to golden: {board_exact}; "
                                                   f"{np.mean(cycles):.0f} cycles per inference")]
    deploy_demo.write_table(f"rows demo on {args.board}, design {result.settings.identity:08x}, seed {args.seed}",
                            rows, args.output / "rows.txt", t0)
    return 0 if torch_exact and board_exact else 1


if __name__ == "__main__":
    sys.exit(main())
