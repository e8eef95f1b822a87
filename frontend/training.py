"""How the examples train: one loop (BPTT on the output spike counts, Adam, cosine schedule, optional
magnitude pruning, the sigmoid-sum quantizer's annealing) and a recipe per weight quantizer.

The recipe was chosen by measurement on the event-camera digits CSNN, 3 seeds per configuration
(docs/results.md, "Event-camera digits"; float 95.48 +- 0.69%).  Trained from random weights,
binary weights land at 81.26 +- 7.65% and ternary at 84.89 +- 6.67%; started from the float model
of the same seed, at 94.81 +- 1.06% and 96.15 +- 0.10%.  Spending the float model's epochs on twice
the quantized epochs instead gives 89.48% and 88.44%, with the spread of the runs from scratch: it
is the starting point that matters.  A sign, or a threshold at 0.7 mean|w|, taken from random
weights fixes the network's connectivity before it has learned anything.  4-bit weights from
scratch already land at 95.11%; the warm start lifts them to 96.44% but the model it gives spikes
more (the demo's design: 99,324 against 69,145 cycles per inference), so they keep training from
scratch unless `--warm-start` asks.

    start = float_start(cfg, (x_train, y_train), lambda c: train(c)[0])   # None: from scratch
    model = build(cfg)
    if start is not None:
        warm_start(model, start)                # the float weights become the latent weights
    fit(model, inputs, labels, epochs=8, batch=32, lr=3e-3, rng=rng)
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from .layers import SNN
from .pruning import PruningSchedule
from .quantizers import SigmoidSumQuantizer

PRUNED_BY = 0.6  # magnitude pruning reaches its target after this fraction of the training steps


@dataclass(frozen=True)
class Recipe:
    """How one weight quantizer trains.  warm_start: quantization-aware training starts from the
    float model trained from the same seed with the same schedule (its weights become the latent
    weights; the float model costs one more training run, cached per seed)."""

    warm_start: bool
    reason: str


WARM_BELOW_BITS = 3  # weights of at most 2 bits start from the float model


def recipe(weights: str, bits: int) -> Recipe:
    """The recipe of weight quantizer `weights` ('float', 'uniform', 'ternary', 'binary', 'sigmoid')
    at `bits` bits per weight."""
    if weights == "float":
        return Recipe(False, "the reference every quantizer is measured against")
    width = {"binary": 1, "ternary": 2}.get(weights, bits)
    if width < WARM_BELOW_BITS:
        return Recipe(True, f"{width}-bit weights from the float model of the same seed end 11 to 14 points higher, "
                            "with a seed spread of 1 point where from random weights it is 7 to 8, and twice the "
                            "epochs from random weights close only a third to a half of that (docs/results.md)")
    return Recipe(False, f"{width}-bit weights from random weights end within half a point of float; from the float "
                         "model they gain 1.3 points but spike more: the demo CSNN's design takes 44% more cycles and "
                         "energy per inference (docs/frontend.md); --warm-start chooses that")


def is_warm(cfg) -> bool:
    """Whether the training config `cfg` (a dataclass with fields weights, bits and warm_start) starts
    from the float model: cfg.warm_start, else its quantizer's recipe."""
    return recipe(cfg.weights, cfg.bits).warm_start if cfg.warm_start is None else cfg.warm_start


QUANTIZATION_FIELDS = ("bits", "state_bits", "edge_bits")  # what a float model ignores, where a config has it


def float_twin(cfg):
    """The config of the float model `cfg`'s warm start begins from: same seed, schedule and
    architecture, float weights and states, no pruning; the fields a float model ignores
    (QUANTIZATION_FIELDS) at their defaults, so the runs of one seed share one float model.
    cfg: a frozen dataclass with fields weights, state_quant, sparsity, warm_start and some of
    QUANTIZATION_FIELDS."""
    defaults = type(cfg)()
    ignored = {f: getattr(defaults, f) for f in QUANTIZATION_FIELDS if hasattr(cfg, f)}
    return replace(cfg, weights="float", state_quant="none", sparsity=0.0, warm_start=False, **ignored)


_FLOAT_MODELS: dict[tuple, SNN] = {}  # per process, by float config and training data


def float_start(cfg, train_data: tuple[np.ndarray, ...], train_float: Callable[[object], SNN],
                float_model: SNN | None = None) -> SNN | None:
    """The float model `cfg` starts from, or None when its recipe trains from scratch: `float_model`
    if given, else train_float(float_twin(cfg)), trained once per process for the same config and
    the same `train_data` arrays (a sweep's runs of one seed share it)."""
    if not is_warm(cfg):
        return None
    if float_model is None:
        key = (float_twin(cfg), hashlib.sha256(b"".join(np.ascontiguousarray(a).tobytes() for a in train_data)).hexdigest())
        if key not in _FLOAT_MODELS:
            _FLOAT_MODELS[key] = train_float(key[0])
        float_model = _FLOAT_MODELS[key]
    return float_model


def warm_start(model: SNN, float_model: SNN) -> None:
    """Copy `float_model`'s synapse weights and biases into `model` (same architecture, any weight
    quantizers): the latent weights quantization-aware training starts from."""
    source = float_model.state_dict()
    target = model.state_dict()
    missing = [k for k in target if k.endswith(("weight", "bias")) and k not in source]
    mismatched = [k for k in target if k in source and source[k].shape != target[k].shape]
    if missing or mismatched:
        raise ValueError(f"warm start: the float model does not match ({', '.join(missing + mismatched)})")
    model.load_state_dict({k: v for k, v in source.items() if k in target}, strict=False)


def fit(model: SNN, inputs: Callable[[np.random.Generator], torch.Tensor], labels: torch.Tensor, *, epochs: int,
        batch: int, lr: float, rng: np.random.Generator, sparsity: float = 0.0, progress: bool = True,
        desc: str = "training") -> SNN:
    """Train `model` in place and return it in eval mode.

    inputs(rng): the training set's spikes [T, N, ...] (float) for one epoch, drawn from `rng` (rate
    codes) or fixed (event frames); labels: [N] class indices.  The loss is the cross-entropy of the
    output spike counts; Adam at `lr` with a cosine schedule over `epochs`; each epoch visits the
    samples in an order drawn from `rng`.  sparsity: global magnitude pruning, reached after
    PRUNED_BY of the steps and kept to the end."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    n = len(labels)
    prune = PruningSchedule(sparsity, 0, int(PRUNED_BY * epochs * -(-n // batch))) if sparsity else None
    sigmoid_quantizers = [m for m in model.modules() if isinstance(m, SigmoidSumQuantizer)]
    step = 0
    bar = tqdm(range(epochs), desc=desc, disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        for qz in sigmoid_quantizers:  # the sigmoid-sum quantizer hardens towards its levels
            qz.anneal(epoch / max(1, epochs - 1))
        x = inputs(rng)
        order, total = torch.from_numpy(rng.permutation(n)), 0.0
        for i in range(0, n, batch):
            idx = order[i:i + batch]
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
    return model.eval()
