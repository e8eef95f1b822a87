"""Train a convolutional SNN on the event-camera digits (snnc.frontend.events) and export it.

The network (2 x 32 x 32 ON/OFF event frames in, 10 classes out):

    conv 3x3 2->8, pad 1 -> max pool 2 (of the currents) -> LIF            [8, 16, 16]
    conv 3x3 8->16, pad 1 -> LIF -> max pool 2 (of the spikes, an OR)      [16, 8, 8]
    dense 1024 -> 10 -> LIF

trained with BPTT through surrogate gradients on the output spike counts (cross-entropy, Adam,
cosine schedule), quantization-aware for the weights (uniform 4-bit, ternary, binary or the
sigmoid-sum quantizer) and the membrane states (4-bit threshold-centered), or in float.  Each
weight quantizer trains with its recipe (snnc.frontend.recipe): weights of at most 2 bits start
from the float model of the same seed, trained first (--warm-start / --no-warm-start choose).
--width multiplies the conv layers' channels (the equal-memory comparison, examples/events/memory.py).

    python examples/events/train.py --weights uniform -o build/events.onnx
    python examples/events/train.py --weights binary -o build/events-binary.onnx
    snnc compile build/events.onnx --bits 4 --board arty-a7-35 -o build/events
"""
from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from snnc.frontend import (LIF, SNN, Pool2d, QuantConv2d, QuantLinear, export_onnx, fit, float_start,
                           is_warm, make_quantizer, recipe, reproducible, warm_start)
from snnc.frontend.events import EventDigits, load_event_digits

INPUT_SHAPE = (2, 32, 32)


@dataclass(frozen=True)
class Config:
    """One training run.  weights: float | uniform | ternary | binary | sigmoid (bits 1: binary)."""

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
    warm_start: bool | None = None  # start from the float model; None: the quantizer's recipe
    width: int = 1  # the conv layers' channels: 8 * width and 16 * width
    edge_bits: int = 0  # the first and last layers' weights uniform at this many bits; 0: as the others


def build(cfg: Config) -> SNN:
    q = lambda edge=False: make_quantizer("uniform", cfg.edge_bits) if edge and cfg.edge_bits else \
        make_quantizer(cfg.weights, cfg.bits)
    lif = lambda: LIF(beta=cfg.beta, threshold=1.0, state_quant=cfg.state_quant, state_bits=cfg.state_bits)
    c1, c2 = 8 * cfg.width, 16 * cfg.width
    return SNN(QuantConv2d(2, c1, 3, padding=1, quantizer=q(edge=True)), Pool2d("max", 2), lif(),
               QuantConv2d(c1, c2, 3, padding=1, quantizer=q()), lif(), Pool2d("max", 2),
               torch.nn.Flatten(start_dim=2), QuantLinear(c2 * 8 * 8, 10, quantizer=q(edge=True)), lif())


@torch.no_grad()
def accuracy(model: SNN, spikes: np.ndarray, labels: np.ndarray) -> float:
    """Test accuracy (argmax of spike counts, ties to the lowest class, as the golden model's classify)."""
    model.eval()
    counts = torch.cat([model(torch.from_numpy(spikes[:, i:i + 128]).float()).sum(0)
                        for i in range(0, spikes.shape[1], 128)]).numpy()
    return float((counts.argmax(1) == labels).mean())


def train(cfg: Config, data: EventDigits | None = None, progress: bool = True,
          float_model: SNN | None = None) -> tuple[SNN, float]:
    """Train `cfg` with its quantizer's recipe (snnc.frontend.recipe; cfg.warm_start overrides it);
    returns the model (eval mode) and its test accuracy.  A warm start begins from `float_model`,
    else from float_twin(cfg)'s model, trained here once per process."""
    data = data or load_event_digits(cfg.timesteps, cfg.seed)
    start = float_start(cfg, (data.x_train, data.y_train), lambda c: train(c, data, progress)[0], float_model)
    rng = reproducible(cfg.seed)
    model = build(cfg)
    if start is not None:
        warm_start(model, start)
    x, labels = torch.from_numpy(data.x_train).float(), torch.from_numpy(data.y_train)
    fit(model, lambda _: x, labels, epochs=cfg.epochs, batch=cfg.batch, lr=cfg.lr, rng=rng, sparsity=cfg.sparsity,
        progress=progress, desc=f"csnn {cfg.weights}{cfg.bits} {cfg.state_quant}{cfg.state_bits}")
    return model, accuracy(model, data.x_test, data.y_test)


def weight_memory(model: SNN, cfg: Config) -> str:
    """The model's weight memory, and what --edge-bits costs in it."""
    text = f"weight memory {model.weight_bits():,} bits"
    if cfg.edge_bits:
        text += f" ({model.weight_bits() - build(replace(cfg, edge_bits=0)).weight_bits():+,} for --edge-bits {cfg.edge_bits})"
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description="Train the event-digits CSNN and export it to the snnc ONNX dialect.")
    d = Config()
    ap.add_argument("--weights", choices=("float", "uniform", "ternary", "binary", "sigmoid"), default=d.weights)
    ap.add_argument("--bits", type=int, default=d.bits, help="weight bits (uniform; sigmoid: 1 is binary)")
    ap.add_argument("--state-quant", choices=("none", "uniform", "threshold_centered"), default=d.state_quant)
    ap.add_argument("--state-bits", type=int, default=d.state_bits)
    ap.add_argument("--epochs", type=int, default=d.epochs)
    ap.add_argument("--sparsity", type=float, default=d.sparsity, help="magnitude pruning target, 0..1")
    ap.add_argument("--width", type=int, default=d.width, help="channel multiplier of the conv layers (8w, 16w)")
    ap.add_argument("--edge-bits", type=int, default=d.edge_bits,
                    help="the first and last layers' weights uniform at this many bits (the weight memory this "
                         "costs is printed); 0: as the other layers")
    ap.add_argument("--seed", type=int, default=d.seed)
    ap.add_argument("--warm-start", action=argparse.BooleanOptionalAction, default=None,
                    help="start from the float model of the same seed (trained first); default: the quantizer's "
                         "recipe, which warm-starts weights of at most 2 bits (docs/frontend.md)")
    ap.add_argument("-o", "--output", type=Path, default=Path("build/events.onnx"), help="ONNX file to write")
    args = ap.parse_args()
    cfg = Config(args.weights, args.bits, args.state_quant, args.state_bits, epochs=args.epochs, sparsity=args.sparsity,
                 seed=args.seed, warm_start=args.warm_start, width=args.width, edge_bits=args.edge_bits)
    print(f"{'from the float model' if is_warm(cfg) else 'from scratch'}: "
          + (recipe(cfg.weights, cfg.bits).reason if args.warm_start is None else "as --warm-start says"))
    t0 = time.time()
    model, acc = train(cfg)
    print(f"{asdict(cfg)}\ntest accuracy {100 * acc:.2f}%, trained in {time.time() - t0:.0f} s")
    print(weight_memory(model, cfg))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    export_onnx(model, args.output, cfg.timesteps, INPUT_SHAPE)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
