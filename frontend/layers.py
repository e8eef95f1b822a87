"""Quantized synapses over [T, B, ...] and the `SNN` container that chains them with LIFs.

A synapse keeps float weights (what the optimiser updates), a pruning mask (a buffer of 0/1,
applied before quantization, so pruned weights stay zero through fine-tuning) and an optional
weight quantizer.  With a quantizer, the forward pass uses `q * scale` with a power-of-two scale,
and the bias is rounded to the same step, so every current lies on the grid `scale`.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .lif import LIF
from .quantizers import WeightQuantizer, straight_through


class QuantSynapse(nn.Module):
    """Shared by QuantLinear and QuantConv2d: mask, quantizer, quantized weight and bias."""

    weight: nn.Parameter
    bias: nn.Parameter | None

    def _init_quant(self, quantizer: WeightQuantizer | None) -> None:
        self.register_buffer("weight_mask", torch.ones_like(self.weight))
        self.quantizer = quantizer
        self.current_lsb: float | None = None

    def quantized_weight(self) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None, float | None]:
        """(weight used, bias used, integer codes or None, scale or None); codes are masked."""
        w = self.weight * self.weight_mask
        if self.quantizer is None:
            return w, self.bias, None, None
        w_q, q, scale = self.quantizer(w)
        q = q * self.weight_mask
        w_q = w_q * self.weight_mask
        b = None if self.bias is None else straight_through(self.bias, torch.round(self.bias.detach() / scale) * scale)
        return w_q, b, q, scale

    def _weights_for_forward(self):
        w, b, _, scale = self.quantized_weight()
        self.current_lsb = scale
        return w, b


class QuantLinear(QuantSynapse):
    """Dense synapse: [T, B, in_features] -> [T, B, out_features]; weight [out, in] as nn.Linear.

    recurrent: the LIF after it also takes its own spikes of the step before (docs/spec.md section
    2): the weight is [out, in + out], one tensor with one quantizer and scale; the forward pass
    gives the input's currents and leaves the last `out` columns in `recurrent_weight` for the LIF,
    which adds them to each step's current (SNN.forward hands them over)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = False,
                 quantizer: WeightQuantizer | None = None, recurrent: bool = False):
        super().__init__()
        ref = nn.Linear(in_features + (out_features if recurrent else 0), out_features, bias=bias)
        self.in_features, self.out_features, self.recurrent = in_features, out_features, recurrent
        self.weight = ref.weight
        self.bias = ref.bias
        self.recurrent_weight: torch.Tensor | None = None
        self._init_quant(quantizer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w, b = self._weights_for_forward()
        if self.recurrent:
            self.recurrent_weight = w[:, self.in_features:]
        return F.linear(x, w[:, :self.in_features], b)


class QuantConv2d(QuantSynapse):
    """2-D convolution: [T, B, C, H, W] -> [T, B, C_out, H', W'] (T and B folded around F.conv2d)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, bias: bool = False, quantizer: WeightQuantizer | None = None):
        super().__init__()
        ref = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=bias)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.weight = ref.weight
        self.bias = ref.bias
        self._init_quant(quantizer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w, b = self._weights_for_forward()
        t, n = x.shape[:2]
        y = F.conv2d(x.flatten(0, 1), w, b, self.stride, self.padding)
        return y.unflatten(0, (t, n))


class Pool2d(nn.Module):
    """Max ('max') or average ('avg') pooling over [T, B, C, H, W], window = stride = kernel, no
    padding (docs/spec.md section 2): of a QuantConv2d's currents (before its LIF) or of a LIF's
    spikes (before the next synapse).  An average divides by kernel**2, which stays exact on a
    power-of-two grid when kernel**2 is a power of two (kernel 2 or 4)."""

    def __init__(self, kind: str, kernel: int):
        super().__init__()
        if kind not in ("max", "avg") or kernel < 1:
            raise ValueError(f"Pool2d: kind must be 'max' or 'avg' and kernel >= 1, got {kind!r}, {kernel}")
        self.kind, self.kernel = kind, kernel

    @property
    def divisor(self) -> int:
        """What the pool divides its window's sum by (1 for max)."""
        return self.kernel ** 2 if self.kind == "avg" else 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pool = F.max_pool2d if self.kind == "max" else F.avg_pool2d
        return pool(x.flatten(0, 1), self.kernel).unflatten(0, x.shape[:2])

    def extra_repr(self) -> str:
        return f"{self.kind}, kernel={self.kernel}"


FLOAT_WEIGHT_BITS = 32  # a float32 weight


class SNN(nn.Sequential):
    """A chain of synapses (QuantLinear, QuantConv2d), `Pool2d`, `nn.Flatten(start_dim=2)` and LIFs.

    Input spikes [T, B, *features], output the last LIF's spikes [T, B, N_out].  Each LIF learns
    its grid from the synapse before it (the weight step, divided by every average pool on the
    way: one between the synapse and the LIF, or one before the synapse), so quantized currents are
    on the grid.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lsb, divisor, currents = None, 1, False  # divisor: an average of spikes the next synapse takes
        own = None  # a recurrent QuantLinear's weights of its LIF's own spikes
        for layer in self:
            if isinstance(layer, LIF):
                layer.current_lsb, layer.recurrent_weight, own = lsb, own, None
            x = layer(x)
            if isinstance(layer, QuantLinear) and layer.recurrent:
                own = layer.recurrent_weight
            if isinstance(layer, QuantSynapse):
                lsb = None if layer.current_lsb is None else layer.current_lsb / divisor
                divisor, currents = 1, True
            elif isinstance(layer, Pool2d) and currents:
                lsb = None if lsb is None else lsb / layer.divisor
            elif isinstance(layer, Pool2d):
                divisor *= layer.divisor
            elif isinstance(layer, LIF):
                currents = False
        return x

    def synapses(self) -> list[QuantSynapse]:
        return [m for m in self if isinstance(m, QuantSynapse)]

    def weight_bits(self) -> int:
        """Bits of weight memory the synapses' codes take, stored dense: each weight at its
        quantizer's bits (binary 1, ternary 2), a float weight at FLOAT_WEIGHT_BITS."""
        return sum(s.weight.numel() * (s.quantizer.bits if s.quantizer is not None else FLOAT_WEIGHT_BITS)
                   for s in self.synapses())

    def lifs(self) -> list[LIF]:
        return [m for m in self if isinstance(m, LIF)]
