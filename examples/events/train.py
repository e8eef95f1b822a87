"""Train a convolutional SNN on the event-camera digits (snnc.frontend.events) and export it.

The network (2 x 32 x 32 ON/OFF event frames in, 10 classes out):

    conv 3x3 2->8, pad 1 -> max pool 2 (of the currents) -> LIF            [8, 16, 16]
    conv 3x3 8->16, pad 1 -> LIF -> max pool 2 (of the spikes, an OR)      [16, 8, 8]
    dense 1024 -> 10 -> LIF

trained with BPTT through surrogate gradients on the output spike counts (cross-entropy, Adam,
cosine schedule), quantization-aware for the weights (uniform 4-bit, ternary or binary) and the
membrane states (4-bit threshold-centered), or in float.

    python examples/events/train.py --weights uniform -o build/events.onnx
    snnc compile build/events.onnx --bits 4 --board arty-a7-35 -o build/events
"""
from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from snnc.frontend import (LIF, SNN, Pool2d, PruningSchedule, QuantConv2d, QuantLinear, export_onnx, make_quantizer,
                           reproducible)
from snnc.frontend.events import EventDigits, load_event_digits
from snnc.frontend.quantizers import SigmoidSumQuantizer

INPUT_SHAPE = (2, 32, 32)


@dataclass(frozen=True)
class Config:
    """One training run.  weights: float | uniform | ternary | binary | sigmoid."""

    weights: str = "uniform"
    bits: int = 4
    state_quant: str = "threshold_centered"
    state_bits: int = 4
    timesteps: int = 15
    epochs: int = 8
    batch: int = 32
    lr: float = 3e-3
    beta: float = 0.875
    sparsity: float = 0.0  # magnitude pruning target (global), reached by 60% of the epochs
    seed: int = 0


def build(cfg: Config) -> SNN:
    q = lambda: make_quantizer(cfg.weights, cfg.bits)
    lif = lambda: LIF(beta=cfg.beta, threshold=1.0, state_quant=cfg.state_quant, state_bits=cfg.state_bits)
    return SNN(QuantConv2d(2, 8, 3, padding=1, quantizer=q()), Pool2d("max", 2), lif(),
               QuantConv2d(8, 16, 3, padding=1, quantizer=q()), lif(), Pool2d("max", 2),
               torch.nn.Flatten(start_dim=2), QuantLinear(16 * 8 * 8, 10, quantizer=q()), lif())


@torch.no_grad()
def accuracy(model: SNN, spikes: np.ndarray, labels: np.ndarray) -> float:
    """Test accuracy (argmax of spike counts, ties to the lowest class, as the golden model's classify)."""
    model.eval()
    counts = torch.cat([model(torch.from_numpy(spikes[:, i:i + 128]).float()).sum(0)
                        for i in range(0, spikes.shape[1], 128)]).numpy()
    return float((counts.argmax(1) == labels).mean())


def train(cfg: Config, data: EventDigits | None = None, progress: bool = True) -> tuple[SNN, float]:
    """Train `cfg`; returns the model (eval mode) and its test accuracy."""
    rng = reproducible(cfg.seed)
    data = data or load_event_digits(cfg.timesteps, cfg.seed)
    model = build(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.epochs)
    x, labels, n = torch.from_numpy(data.x_train).float(), torch.from_numpy(data.y_train), len(data.y_train)
    prune = PruningSchedule(cfg.sparsity, 0, int(0.6 * cfg.epochs * -(-n // cfg.batch))) if cfg.sparsity else None
    step = 0
    bar = tqdm(range(cfg.epochs), desc=f"csnn {cfg.weights}{cfg.bits} {cfg.state_quant}{cfg.state_bits}",
               disable=not progress, leave=False)
    sigmoid_quantizers = [m for m in model.modules() if isinstance(m, SigmoidSumQuantizer)]
    for epoch in bar:
        model.train()
        for qz in sigmoid_quantizers:  # the sigmoid-sum quantizer hardens towards its levels
            qz.anneal(epoch / max(1, cfg.epochs - 1))
        order, total = torch.from_numpy(rng.permutation(n)), 0.0
        for i in range(0, n, cfg.batch):
            idx = order[i:i + cfg.batch]
            if prune:
                prune.step(model, step)
            loss = F.cross_entropy(model(x[:, idx]).sum(0), labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            step += 1
        sched.step()
        bar.set_postfix(loss=f"{total / n:.3f}")
    if prune:
        prune.step(model, step)
    return model.eval(), accuracy(model, data.x_test, data.y_test)


def main() -> None:
    ap = argparse.ArgumentParser(description="Train the event-digits CSNN and export it to the snnc ONNX dialect.")
    d = Config()
    ap.add_argument("--weights", choices=("float", "uniform", "ternary", "binary", "sigmoid"), default=d.weights)
    ap.add_argument("--bits", type=int, default=d.bits, help="weight bits (uniform)")
    ap.add_argument("--state-quant", choices=("none", "uniform", "threshold_centered"), default=d.state_quant)
    ap.add_argument("--state-bits", type=int, default=d.state_bits)
    ap.add_argument("--epochs", type=int, default=d.epochs)
    ap.add_argument("--sparsity", type=float, default=d.sparsity, help="magnitude pruning target, 0..1")
    ap.add_argument("--seed", type=int, default=d.seed)
    ap.add_argument("-o", "--output", type=Path, default=Path("build/events.onnx"), help="ONNX file to write")
    args = ap.parse_args()
    cfg = Config(args.weights, args.bits, args.state_quant, args.state_bits, epochs=args.epochs, sparsity=args.sparsity,
                 seed=args.seed)
    t0 = time.time()
    model, acc = train(cfg)
    print(f"{asdict(cfg)}\ntest accuracy {100 * acc:.2f}%, trained in {time.time() - t0:.0f} s")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    export_onnx(model, args.output, cfg.timesteps, INPUT_SHAPE)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
