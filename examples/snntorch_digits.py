"""Bring your own snnTorch model: train a SQUAT (state_quant) MLP on digits in snnTorch itself,
import it with snnc.frontend.from_snntorch, compile it for a board and run it on the simulated
board (docs/interop.md).

    .venv/bin/python examples/snntorch_digits.py            # ~1 min: train, import, compile, run --sim
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import snntorch as snn
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from snntorch import utils
from snntorch.functional import quant
from torch import nn

from snnc.frontend import from_snntorch, reproducible


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("-o", "--output", type=Path, default=Path("build/snntorch_digits"))
    args = ap.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    rng = reproducible(0)
    data = load_digits()
    x_tr, x_te, y_tr, y_te = train_test_split(data.data / 16.0, data.target, test_size=0.25, stratify=data.target,
                                              random_state=0)
    T = 16
    code = lambda images: torch.from_numpy((rng.random((T, *images.shape)) < images).astype(np.float32))

    # an ordinary snnTorch model: 4-bit threshold-centered state quantization (SQUAT), snnTorch's defaults
    q = lambda: quant.state_quant(num_bits=4, uniform=False, threshold=1.0)
    net = nn.Sequential(nn.Linear(64, 64), snn.Leaky(beta=0.875, init_hidden=True, state_quant=q()),
                        nn.Linear(64, 10), snn.Leaky(beta=0.875, init_hidden=True, state_quant=q(), output=True))
    opt = torch.optim.Adam(net.parameters(), lr=5e-3)
    labels = torch.from_numpy(y_tr)
    for epoch in range(args.epochs):
        spikes = code(x_tr)
        for i in range(0, len(y_tr), 64):
            utils.reset(net)
            counts = sum(net(spikes[t, i:i + 64])[0] for t in range(T))
            loss = F.cross_entropy(counts, labels[i:i + 64])
            opt.zero_grad()
            loss.backward()
            opt.step()
    x_test = code(x_te)
    path = args.output / "digits_snntorch.onnx"
    report = from_snntorch(net, x_test, path, bits=4)  # weights to 4 bits, power-of-two scales
    print(f"snnTorch model -> {path}")
    for note in report.notes:
        print(f"  note: {note}")
    print(f"golden model against snnTorch's forward on {len(y_te)} test samples, with the weights snnc stores: "
          f"{100 * report.spike_agreement:.3f}% of spikes, {100 * report.class_agreement:.2f}% of classes; with the "
          f"float model as trained: {100 * report.original_spike_agreement:.3f}% of spikes, "
          f"{100 * report.original_class_agreement:.2f}% of classes (most lost in {report.worst_layer})")

    from snnc.compiler import compile_model
    from snnc.sim import golden

    x_np = x_test.numpy().astype(np.uint8)
    accuracy = float((golden.classify(golden.run(compile_model(path), x_np)) == y_te).mean())
    print(f"test accuracy of the imported model (golden model, {len(y_te)} samples): {100 * accuracy:.2f}%")
    np.save(args.output / "x.npy", x_np[:, :10])
    snnc = [sys.executable, "-m", "snnc.cli"]
    build = args.output / "build"
    for cmd in (["compile", str(path), "--board", "arty-a7-35", "-o", str(build)],
                ["run", str(build), "--input", str(args.output / "x.npy"), "--output", str(args.output / "y.npy"), "--sim"]):
        print("$ snnc " + " ".join(cmd))
        if subprocess.run(snnc + cmd).returncode:
            return 1
    board = np.load(args.output / "y.npy")
    acc = float((golden.classify(board) == y_te[:10]).mean())
    print(f"simulated board, 10 samples: {100 * acc:.0f}% correct")
    return 0


if __name__ == "__main__":
    sys.exit(main())
