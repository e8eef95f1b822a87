"""Weight quantizers for quantization-aware training.

Every quantizer maps a float weight tensor to `(w_q, q, scale)`: the quantized weight the forward
pass uses (gradients reach the float weight through it), the integer codes, and the power-of-two
scale with `w_q == q * scale` exactly in eval mode.  Power-of-two scales are what the snnc ONNX
dialect needs for a bit-exact deployment (docs/spec.md section 3): the scale is a shift in hardware.
The scale search and the stored range are the compiler's own (`snnc.compiler.scales`), so a
model trained here and `snnc compile --bits` pick the same scale for the same weights.

    UniformQuantizer(bits)     symmetric narrow range [-(2**(b-1)-1), 2**(b-1)-1], straight-through
    TernaryQuantizer()         {-1, 0, +1}, threshold 0.7*mean|w| (Li & Liu, ternary weight networks)
    BinaryQuantizer()          {-1, +1} (XNOR-Net scale: mean|w|, rounded to a power of two)
    SigmoidSumQuantizer(bits)  Shymyrbay et al., "Low Precision Quantization-aware Training in Spiking
                               Neural Networks with Differentiable Quantization Function" (2023): the
                               staircase written as a sum of sigmoids whose temperature is annealed;
                               in eval mode (or at temperature inf) it is exactly the uniform staircase;
                               at 1 bit it is the binary {-1, +1} with one sigmoid step at 0.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from snnc.compiler import scales
from snnc.compiler.contracts import MAX_WEIGHT_BITS


def qmax(bits: int) -> int:
    """Largest code of a symmetric narrow-range `bits`-bit quantizer (1 for binary and ternary)."""
    return scales.weight_range(bits)[1]


def pow2_scale(w: torch.Tensor, bits: int) -> float:
    """The power-of-two scale with the least squared rounding error for `bits` (uniform staircase)."""
    return scales.pow2_scale(w.detach().double().cpu().numpy(), bits)


def nearest_pow2(x: float) -> float:
    return 2.0 ** round(math.log2(x)) if x > 0 else 1.0


def straight_through(w: torch.Tensor, w_q: torch.Tensor) -> torch.Tensor:
    """Forward w_q, backward identity (the straight-through estimator)."""
    return w + (w_q - w).detach()


class WeightQuantizer(nn.Module):
    """Base: subclasses set `bits` and implement `codes(w) -> (q, scale)` with q integer-valued."""

    bits: int

    def codes(self, w: torch.Tensor) -> tuple[torch.Tensor, float]:
        raise NotImplementedError

    def forward(self, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, float]:
        q, scale = self.codes(w)
        return straight_through(w, q * scale), q, scale


class UniformQuantizer(WeightQuantizer):
    def __init__(self, bits: int):
        super().__init__()
        if not 2 <= bits <= MAX_WEIGHT_BITS:
            raise ValueError(f"uniform weight quantization needs 2..{MAX_WEIGHT_BITS} bits, got {bits}")
        self.bits = bits

    def codes(self, w):
        scale = pow2_scale(w, self.bits)
        top = qmax(self.bits)
        return torch.clamp(torch.round(w.detach() / scale), -top, top), scale

    def extra_repr(self) -> str:
        return f"bits={self.bits}"


class TernaryQuantizer(WeightQuantizer):
    bits = 2

    def __init__(self, threshold_ratio: float = 0.7):
        super().__init__()
        self.threshold_ratio = threshold_ratio

    def codes(self, w):
        w = w.detach()
        delta = self.threshold_ratio * w.abs().mean()
        q = torch.sign(w) * (w.abs() > delta)
        kept = w.abs()[q != 0]
        return q, nearest_pow2(float(kept.mean()) if kept.numel() else 1.0)


class BinaryQuantizer(WeightQuantizer):
    bits = 1

    def codes(self, w):
        w = w.detach()
        return torch.where(w >= 0, 1.0, -1.0).to(w.dtype), nearest_pow2(float(w.abs().mean()))


class SigmoidSumQuantizer(WeightQuantizer):
    """The uniform staircase of `bits` as sum_k sigmoid(temperature * (w/s - (k + 1/2))) - qmax.

    Each sigmoid is one step between adjacent codes; as the temperature grows the sum approaches
    round-and-clamp, and its gradient is the true derivative of the smooth function (no STE).
    At 1 bit the staircase is the binary quantizer's: codes {-1, +1}, the scale mean|w| rounded to a
    power of two, and one step of height 2 at 0 (2 sigmoid(temperature * w/s) - 1).
    `anneal(fraction)` moves the temperature geometrically from `t_start` to `t_end`.  In eval mode
    the hard staircase is used, so the exported codes are what the model computed.

    hard_forward (default: at 1 bit): training too computes with the hard staircase, and only the
    gradient is the smooth function's.  A binary step of height 2 is far from its soft version at
    any temperature the gradient survives, so the soft forward trains a network that the hard
    codes then change; with the hard forward, starting at temperature 0.25 (a gradient wider than
    the weights) and ending at 200, binary weights on the event digits reach 94.89 +- 0.83% over 3
    seeds, where the soft forward from 2 reached 93.04 +- 1.27% and plain binary's straight-through
    estimator 94.81 +- 1.06% (docs/frontend.md).  Wider staircases keep the soft forward of the paper.
    """

    BINARY_T_START = 0.25  # docs/frontend.md: 0.25, 0.5, 1 and 2 measured, 3 seeds each

    def __init__(self, bits: int, t_start: float | None = None, t_end: float = 200.0,
                 hard_forward: bool | None = None):
        super().__init__()
        if not 1 <= bits <= MAX_WEIGHT_BITS:
            raise ValueError(f"sigmoid-sum weight quantization needs 1..{MAX_WEIGHT_BITS} bits, got {bits}")
        binary = bits == 1
        self.bits, self.t_end = bits, t_end
        self.t_start = t_start if t_start is not None else self.BINARY_T_START if binary else 2.0
        self.hard_forward = binary if hard_forward is None else hard_forward
        self.temperature = self.t_start

    def anneal(self, fraction: float) -> None:
        f = min(max(fraction, 0.0), 1.0)
        self.temperature = self.t_start * (self.t_end / self.t_start) ** f

    def codes(self, w):
        if self.bits == 1:
            return BinaryQuantizer().codes(w)
        scale = pow2_scale(w, self.bits)
        top = qmax(self.bits)
        return torch.clamp(torch.round(w.detach() / scale), -top, top), scale

    def forward(self, w):
        q, scale = self.codes(w)
        if not self.training:
            return q * scale, q, scale
        if self.bits == 1:  # one step from -1 to +1 at 0: the binary staircase
            soft = 2 * torch.sigmoid(self.temperature * w / scale) - 1
        else:
            top = qmax(self.bits)
            steps = torch.arange(-top, top, dtype=w.dtype, device=w.device) + 0.5
            soft = torch.sigmoid(self.temperature * (w.unsqueeze(-1) / scale - steps)).sum(-1) - top
        if self.hard_forward:  # the staircase's value, the smooth function's gradient
            return straight_through(soft * scale, q * scale), q, scale
        return soft * scale, q, scale

    def extra_repr(self) -> str:
        return f"bits={self.bits}, temperature={self.temperature:.3g}, hard_forward={self.hard_forward}"


def make_quantizer(kind: str, bits: int | None = None) -> WeightQuantizer | None:
    """By name: 'float' (None), 'uniform', 'ternary', 'binary', 'sigmoid'."""
    if kind == "float":
        return None
    if kind == "uniform":
        return UniformQuantizer(bits or 8)
    if kind == "ternary":
        return TernaryQuantizer()
    if kind == "binary":
        return BinaryQuantizer()
    if kind == "sigmoid":
        return SigmoidSumQuantizer(bits or 4)
    raise ValueError(f"unknown weight quantizer '{kind}' (float, uniform, ternary, binary, sigmoid)")
