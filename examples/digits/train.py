"""Train a quantized SNN on scikit-learn's digits (8x8, 10 classes) and export it to ONNX.

The 1,797 images are split 75/25 (stratified, fixed), pixels (0..16) are rate coded into T
Bernoulli spike trains (probability pixel/16 per timestep; the training set is re-sampled every
epoch, the test set once from the seed), and the network is trained with a cross-entropy loss on
the output spike counts, Adam and BPTT through surrogate gradients.

Default: 64-128-10, 4-bit uniform weights, 4-bit threshold-centered states, T=16, seed 0:

    python examples/digits/train.py -o build/digits.onnx
    snnc compile build/digits.onnx --bits 4 -o build/digits
"""
from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from snnc.frontend import (LIF, SNN, QuantConv2d, QuantLinear, export_onnx, fit, float_start, is_warm,
                           make_quantizer, recipe, reproducible, sparsity, warm_start)


@dataclass(frozen=True)
class Config:
    """One training run.  weights: float | uniform | ternary | binary | sigmoid (bits 1: binary)."""

    arch: str = "mlp"  # mlp: 64-128-10; conv: conv3x3(8) -> 10
    weights: str = "uniform"
    bits: int = 4
    state_quant: str = "threshold_centered"
    state_bits: int = 4
    timesteps: int = 16
    epochs: int = 40
    batch: int = 64
    lr: float = 2e-3
    beta: float = 0.875
    sparsity: float = 0.0  # magnitude pruning target (global), reached by 60% of the epochs
    seed: int = 0
    warm_start: bool | None = None  # start from the float model; None: the quantizer's recipe


@dataclass
class Digits:
    x_train: np.ndarray  # images [N, 64] in [0, 1]
    y_train: np.ndarray
    x_test: np.ndarray   # spikes [T, N, 64] uint8, sampled once from the seed
    y_test: np.ndarray


def load(timesteps: int, seed: int) -> Digits:
    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    x_tr, x_te, y_tr, y_te = train_test_split(x, data.target, test_size=0.25, stratify=data.target, random_state=0)
    return Digits(x_tr, y_tr, rate_code(x_te, timesteps, np.random.default_rng(seed + 1000)), y_te)


def rate_code(images: np.ndarray, timesteps: int, rng: np.random.Generator) -> np.ndarray:
    """Bernoulli spikes [T, N, 64] (uint8) with probability = intensity per timestep."""
    return (rng.random((timesteps, *images.shape)) < images).astype(np.uint8)


def build(cfg: Config) -> SNN:
    def q():
        return make_quantizer(cfg.weights, cfg.bits)

    def lif():
        return LIF(beta=cfg.beta, threshold=1.0, state_quant=cfg.state_quant, state_bits=cfg.state_bits)

    if cfg.arch == "mlp":
        return SNN(QuantLinear(64, 128, quantizer=q()), lif(), QuantLinear(128, 10, quantizer=q()), lif())
    if cfg.arch == "conv":
        return SNN(QuantConv2d(1, 8, 3, padding=1, quantizer=q()), lif(), torch.nn.Flatten(start_dim=2),
                   QuantLinear(8 * 8 * 8, 10, quantizer=q()), lif())
    raise ValueError(f"unknown arch '{cfg.arch}' (mlp, conv)")


def as_input(spikes: np.ndarray, arch: str) -> torch.Tensor:
    x = torch.from_numpy(spikes).float()
    return x.view(*x.shape[:2], 1, 8, 8) if arch == "conv" else x


def input_shape(arch: str) -> tuple[int, ...]:
    return (1, 8, 8) if arch == "conv" else (64,)


@torch.no_grad()
def accuracy(model: SNN, spikes: np.ndarray, labels: np.ndarray, arch: str) -> float:
    """Test accuracy (argmax of spike counts, ties to the lowest class, as the compiler's classify)."""
    model.eval()
    counts = model(as_input(spikes, arch)).sum(0).numpy()
    return float((counts.argmax(1) == labels).mean())


def train(cfg: Config, data: Digits | None = None, progress: bool = True,
          float_model: SNN | None = None) -> tuple[SNN, float]:
    """Train `cfg` with its quantizer's recipe (snnc.frontend.recipe; cfg.warm_start overrides it);
    returns the model (eval mode) and its test accuracy.  A warm start begins from `float_model`,
    else from float_twin(cfg)'s model, trained here once per process."""
    data = data or load(cfg.timesteps, cfg.seed)
    start = float_start(cfg, (data.x_train, data.y_train), lambda c: train(c, data, progress)[0], float_model)
    rng = reproducible(cfg.seed)
    model = build(cfg)
    if start is not None:
        warm_start(model, start)
    fit(model, lambda r: as_input(rate_code(data.x_train, cfg.timesteps, r), cfg.arch),
        torch.from_numpy(data.y_train).long(), epochs=cfg.epochs, batch=cfg.batch, lr=cfg.lr, rng=rng,
        sparsity=cfg.sparsity, progress=progress,
        desc=f"{cfg.arch} {cfg.weights}{cfg.bits} {cfg.state_quant}{cfg.state_bits}")
    return model, accuracy(model, data.x_test, data.y_test, cfg.arch)


def main() -> None:
    ap = argparse.ArgumentParser(description="Train a quantized SNN on digits and export it to the snnc ONNX dialect.")
    d = Config()
    ap.add_argument("--arch", choices=("mlp", "conv"), default=d.arch)
    ap.add_argument("--weights", choices=("float", "uniform", "ternary", "binary", "sigmoid"), default=d.weights)
    ap.add_argument("--bits", type=int, default=d.bits, help="weight bits (uniform; sigmoid: 1 is binary)")
    ap.add_argument("--state-quant", choices=("none", "uniform", "threshold_centered"), default=d.state_quant)
    ap.add_argument("--state-bits", type=int, default=d.state_bits)
    ap.add_argument("--timesteps", type=int, default=d.timesteps)
    ap.add_argument("--epochs", type=int, default=d.epochs)
    ap.add_argument("--sparsity", type=float, default=d.sparsity, help="magnitude pruning target, 0..1")
    ap.add_argument("--seed", type=int, default=d.seed)
    ap.add_argument("--warm-start", action=argparse.BooleanOptionalAction, default=None,
                    help="start from the float model of the same seed (trained first); default: the quantizer's "
                         "recipe, which warm-starts weights of at most 2 bits (docs/frontend.md)")
    ap.add_argument("-o", "--output", type=Path, default=Path("build/digits.onnx"), help="ONNX file to write")
    ap.add_argument("--test-spikes", type=Path, help="also save the test spikes [T, N, 64] and labels (.npy, .labels.npy)")
    args = ap.parse_args()
    cfg = Config(args.arch, args.weights, args.bits, args.state_quant, args.state_bits, args.timesteps, args.epochs,
                 sparsity=args.sparsity, seed=args.seed, warm_start=args.warm_start)
    print(f"{'from the float model' if is_warm(cfg) else 'from scratch'}: "
          + (recipe(cfg.weights, cfg.bits).reason if args.warm_start is None else "as --warm-start says"))
    t0 = time.time()
    data = load(cfg.timesteps, cfg.seed)
    model, acc = train(cfg, data)
    print(f"{asdict(cfg)}")
    print(f"test accuracy {100 * acc:.2f}% ({len(data.y_test)} samples), sparsity {100 * sparsity(model):.1f}%, "
          f"trained in {time.time() - t0:.0f} s")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    export_onnx(model, args.output, cfg.timesteps, input_shape(cfg.arch))
    print(f"wrote {args.output}")
    if args.test_spikes:
        spikes = data.x_test.reshape(cfg.timesteps, -1, *input_shape(cfg.arch))
        np.save(args.test_spikes, spikes)
        np.save(args.test_spikes.with_suffix(".labels.npy"), data.y_test)
        print(f"wrote {args.test_spikes}")


if __name__ == "__main__":
    main()
