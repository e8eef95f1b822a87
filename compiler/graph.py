"""The real-valued layer graph between ONNX import and the integer IR.

The importer turns a dialect model into a `Graph`; the quantization passes rewrite it; the
integerization pass lowers it to `ir.Network`.  Values are in real units here (floats), weights
possibly already integer (`q`, with a per-output-channel `scale`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .shapes import conv_out_shape, pool_out_shape


@dataclass(frozen=True, eq=False)
class Synapse:
    """Dense (weight [out, in]) or conv2d (weight [out, in, kH, kW]) synapse.

    weight: float64 real values.  When quantized, q holds the integers (int64, fitting `bits`) and
    scale the float64 [out] per-output-channel step, with weight == q * scale.  bias: float64 [out].
    recurrent (dense only): weight is [out, in + out], its last `out` columns weighting the spikes
    of the neuron this synapse feeds, of the step before (ir.Dense.recurrent).
    """

    name: str
    kind: str
    weight: np.ndarray
    bias: np.ndarray
    in_shape: tuple[int, ...]
    q: np.ndarray | None = None
    scale: np.ndarray | None = None
    bits: int | None = None
    stride: int = 1
    padding: int = 0
    recurrent: bool = False

    @property
    def out_shape(self) -> tuple[int, ...]:
        if self.kind == "dense":
            return (self.weight.shape[0],)
        return conv_out_shape(self.weight.shape[0], self.in_shape, self.weight.shape[2:], self.stride, self.padding)


@dataclass(frozen=True, eq=False)
class Neuron:
    """A LIF population with its ONNX attributes (real units); `levels` float64 ascending or None.
    strict_threshold: fires when the membrane is strictly above `threshold` (NIR's z = v > v_thr);
    on an integer grid that is the dialect's u >= floor(threshold / LSB) + 1."""

    name: str
    shape: tuple[int, ...]
    beta: float | np.ndarray  # one leak, or one per output channel (float64 [C])
    threshold: float
    reset: str = "subtract"
    state_lsb: float | None = None
    state_quant: str = "none"
    levels: np.ndarray | None = None
    state_min: float | None = None
    state_max: float | None = None
    order: str = "snnc"
    strict_threshold: bool = False
    output: str = "spikes"  # or "membrane": a readout, the network's last neuron
    alpha: float | None = None  # the leak of a synaptic current (a second state), None: none


@dataclass(frozen=True, eq=False)
class Flatten:
    name: str
    in_shape: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class Pool:
    """A 2-D pool, window = stride = kernel, no padding: kind 'max' or 'avg' (docs/spec.md section 2)."""

    name: str
    kind: str
    kernel: int
    in_shape: tuple[int, int, int]

    @property
    def out_shape(self) -> tuple[int, int, int]:
        return pool_out_shape(self.in_shape, self.kernel)


@dataclass(frozen=True, eq=False)
class Crop:
    """Spikes [C, H, W] -> their top-left [C, *out_hw] (left by folding an average pool)."""

    name: str
    in_shape: tuple[int, int, int]
    out_hw: tuple[int, int]


@dataclass(frozen=True, eq=False)
class Graph:
    name: str
    input_shape: tuple[int, ...]
    layers: tuple[Synapse | Pool | Crop | Neuron | Flatten, ...]
    notes: tuple[str, ...] = field(default=())
