"""Random dialect networks for property tests: integer weights, power-of-two scales, every value on
each LIF's grid, so onnxruntime's float run equals the integer semantics exactly; and the example
scripts as modules (example_module)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx

from snnc.compiler import levels as codec
from snnc.compiler.contracts import RESET_MODES, STATE_QUANT_MODES
from snnc.compiler.dialect import ModelWriter
from snnc.compiler.scales import weight_range

RESETS, STATE_MODES = RESET_MODES, STATE_QUANT_MODES
WEIGHT_BITS = (1, 2, 4, 8)
STATE_BITS = (2, 3, 4, 8)


@dataclass(frozen=True)
class LayerSpec:
    n_out: int
    weight_bits: int
    state_mode: str
    state_bits: int
    reset: str
    conv: bool = False
    order: str = "snnc"
    output: str = "spikes"  # "membrane": a readout (the last layer, not conv)
    synaptic: bool = False  # a synaptic current (alpha) before the membrane
    recurrent: bool = False  # its own spikes of the step before feed it (dense, spiking layers only)


def lif_params(rng: np.random.Generator, spec: LayerSpec) -> dict:
    """LIF attributes in real units on a random power-of-two grid."""
    lsb = 2.0 ** -int(rng.integers(0, 7))
    theta = int(rng.integers(2, 40))
    f = int(rng.integers(0, 5))
    beta = int(rng.integers(0, (1 << f) + 1)) / (1 << f)
    attrs = dict(beta=beta, reset=spec.reset, state_lsb=lsb, state_quant=spec.state_mode, order=spec.order)
    if spec.synaptic:
        attrs["alpha"] = int(rng.integers(0, (1 << f) + 1)) / (1 << f)
    if spec.state_mode == "none":
        half = 1 << (spec.state_bits - 1)
        attrs.update(state_min=-half * lsb, state_max=(half - 1) * lsb)
        theta = min(theta, half - 1)
    else:
        build = codec.uniform_levels if spec.state_mode == "uniform" else codec.threshold_centered_levels
        upper = float(rng.choice([0.2, 0.5, 1.0]))
        attrs["state_levels"] = codec.integerize_levels(build(spec.state_bits, theta, upper_limit=upper), 1.0) * lsb
    attrs["threshold"] = theta * lsb
    return attrs


def random_model(rng: np.random.Generator, in_features: int, specs: list[LayerSpec]) -> onnx.ModelProto:
    """A chain of synapse + LIF layers; a conv spec must come first (its input is [C, H, W])."""
    if specs[0].conv:
        c, h = int(rng.integers(1, 3)), int(rng.integers(3, 7))
        writer = ModelWriter((c, h, h))
    else:
        writer = ModelWriter((in_features,))
    for spec in specs:
        attrs = lif_params(rng, spec)
        lsb, theta_units = attrs["state_lsb"], attrs["threshold"] / attrs["state_lsb"]
        lo, hi = weight_range(spec.weight_bits)
        # Weight step: a power of two times the grid, sized so a few spikes can reach the threshold.
        step = max(0, int(np.log2(max(theta_units / (hi * 2), 1))) + int(rng.integers(-1, 2)))
        bias_units = rng.integers(-theta_units // 4, theta_units // 4 + 1, spec.n_out) if rng.random() < 0.5 else None
        if spec.conv:
            k = int(rng.integers(1, 4))
            shape = (spec.n_out, writer.shape[0], k, k)
        else:
            shape = (int(np.prod(writer.shape)), spec.n_out)
        q = rng.integers(lo, hi + 1, shape)
        if spec.weight_bits == 1:
            q = np.where(rng.random(shape) < 0.5, -1, 1)
        scale = lsb * 2.0 ** step
        if rng.random() < 0.25:  # per-output-channel scales, still powers of two above the grid
            scale = lsb * 2.0 ** (step + rng.integers(0, 2, spec.n_out))
        bias = None if bias_units is None else bias_units * lsb
        if spec.conv:
            pad = int(rng.integers(0, k))
            stride = int(rng.integers(1, 3))
            writer.conv2d(q, scale, spec.weight_bits, bias, stride=stride, padding=pad)
            writer.lif(**attrs)
            writer.flatten()
        else:
            writer.dense(q, scale, spec.weight_bits, bias, per_axis=np.ndim(scale) > 0)
            own = None
            if spec.recurrent and spec.output == "spikes":  # on the feed-forward weights' scale and width
                own = rng.integers(lo, hi + 1, (spec.n_out, spec.n_out))
                if spec.weight_bits == 1:
                    own = np.where(rng.random(own.shape) < 0.5, -1, 1)
            writer.lif(**attrs, output=spec.output, recurrent=own, recurrent_scale=scale, recurrent_bits=spec.weight_bits)
    return writer.model()


def random_spikes(rng: np.random.Generator, model: onnx.ModelProto, t_steps: int, batch: int) -> np.ndarray:
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim[2:]]
    return (rng.random((t_steps, batch, *dims)) < rng.uniform(0.1, 0.7)).astype(np.float32)


def float_mlp_model(path, rng):
    """A float 24-20-5 MLP (subtract then zero reset) written to `path`: the small model of the
    CLI, board and runtime tests; snnc compile quantizes it."""
    w = ModelWriter((24,))
    w.dense(rng.normal(0, 0.4, (24, 20)), bits=None, name="fc1")
    w.lif(beta=0.875, threshold=1.0, name="lif1")
    w.dense(rng.normal(0, 0.6, (20, 5)), bits=None, name="fc2")
    w.lif(beta=0.75, threshold=1.0, reset="zero", name="lif2")
    onnx.save(w.model(), path)
    return path


def random_pool_model(rng: np.random.Generator, kind: str, on: str, k: int) -> onnx.ModelProto:
    """conv -> [pool of currents] -> LIF -> [pool of spikes] -> conv -> LIF -> flatten -> dense -> LIF,
    with one `kind` ('max' or 'avg') pool of window k `on` 'currents' or 'spikes' in each conv block
    (the second block pools the other way), random weights, grids, leaks and level sets.  Sizes
    leave remainder rows and columns past the last whole window."""
    c, h = int(rng.integers(1, 3)), int(rng.integers(4 * k - 1, 4 * k + 3))
    writer = ModelWriter((c, h, h))
    blocks = (on, "spikes" if on == "currents" else "currents")
    for block, (n_out, where) in enumerate(zip((int(rng.integers(2, 5)), int(rng.integers(2, 4))), blocks)):
        spec = LayerSpec(n_out, int(rng.choice(WEIGHT_BITS)), str(rng.choice(STATE_MODES)),
                         int(rng.choice(STATE_BITS)), str(rng.choice(RESETS)), conv=True)
        attrs = lif_params(rng, spec)
        lo, hi = weight_range(spec.weight_bits)
        kernel = int(rng.integers(1, min(4, min(writer.shape[1:]) + 1)))  # never larger than the input
        shape = (n_out, writer.shape[0], kernel, kernel)
        q = rng.integers(lo, hi + 1, shape) if spec.weight_bits > 1 else np.where(rng.random(shape) < 0.5, -1, 1)
        theta_units = attrs["threshold"] / attrs["state_lsb"]
        # a declared grid at or above the weight step (an average then refines it below)
        step = int(rng.integers(0, 3)) + max(0, int(np.log2(max(theta_units / (hi * 3), 1))))
        pad = int(rng.integers(0, kernel)) if writer.shape[1] - kernel + 2 >= 2 * k * k else 0
        writer.conv2d(q, attrs["state_lsb"] * 2.0 ** step, spec.weight_bits, stride=1, padding=pad)
        if where == "currents" and min(writer.shape[1:]) >= k:
            writer.pool(kind, k)
        writer.lif(**attrs)
        if where == "spikes" and min(writer.shape[1:]) >= k and block == 0:
            writer.pool(kind, k)
    writer.flatten()
    spec = LayerSpec(int(rng.integers(2, 6)), 4, "none", 8, "subtract")
    attrs = lif_params(rng, spec)
    q = rng.integers(-7, 8, (int(np.prod(writer.shape)), spec.n_out))
    writer.dense(q, attrs["state_lsb"] * 2.0 ** int(rng.integers(0, 2)), 4)
    writer.lif(**attrs)
    return writer.model()


def prune(weight: np.ndarray, keep: float, rng: np.random.Generator | None, by_magnitude: bool) -> np.ndarray:
    """`weight` with about `keep` of its entries left: at random, or the largest magnitudes (as
    torch.nn.utils.prune.l1_unstructured; ties at the threshold stay; no rng needed)."""
    if by_magnitude:
        return weight * (np.abs(weight) >= np.quantile(np.abs(weight), 1 - keep))
    return weight * (rng.random(weight.shape) < keep)


def example_module(*parts: str):
    """An example script as a module, loaded from its file (the examples are no package):
    example_module("digits", "train.py")."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).parents[1].joinpath("examples", *parts)
    spec = importlib.util.spec_from_file_location(f"example_{path.parent.name}_{path.stem}", path)
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)  # dataclasses look it up
    spec.loader.exec_module(module)
    return module


def event_digits_subset(n_train: int, n_test: int, seed: int, timesteps: int):
    """The first n_train + n_test bundled digits as event frames (load_event_digits' generator,
    seeded): an EventDigits for training runs of a few seconds."""
    from sklearn.datasets import load_digits

    from snnc.frontend.events import EventDigits, bin_frames, digit_events

    digits = load_digits()
    n = n_train + n_test
    frames = bin_frames(digit_events(digits.data[:n] / 16.0, seed=seed), timesteps)
    return EventDigits(frames[:, :n_train], digits.target[:n_train], frames[:, n_train:], digits.target[n_train:n])
