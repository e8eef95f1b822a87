"""Leaky integrate-and-fire neurons over [T, B, ...] with SQUAT state quantization.

On a grid (an LSB, a power of two) the forward pass is docs/spec.md section 2 exactly, in training and in
eval mode alike:

    u = floor(beta*v / lsb)*lsb + I;  s = u >= theta;  r = u - theta*s (or u*(1-s), or u);  v = Q(r)

and a readout (output="membrane", the network's last LIF) outputs v instead of s.  With `alpha` (a
synaptic current, docs/spec.md section 2), I is c' = floor(alpha*c / lsb)*lsb + I and c = Q(c').

Training differs only in its gradients: the spike takes a surrogate gradient (fast sigmoid or
atan), the floor of the leak and the state quantizer Q pass gradients straight through, and the
reset is detached from the graph (as snnTorch does).  Eval mode runs in float64, where every value
on the grid is exact, so the trained model, its ONNX export and the compiled design agree spike for
spike.

The grid: the LIF's own `2**(floor(log2 theta) - grid_bits)`, or the synapse's weight step if that
is finer (currents must be on the grid).  beta is rounded to `beta_frac_bits` fractional bits and
theta and the levels onto the grid; the rounded values are the ones used and exported.  Without a
grid (float weights and no state quantization) the LIF is a plain float LIF.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from snnc.compiler import levels as level_sets
from snnc.compiler.contracts import ORDERS, OUTPUTS, RESET_MODES, STATE_QUANT_MODES

SURROGATES = ("fast_sigmoid", "atan")


class SpikeFunction(torch.autograd.Function):
    """Heaviside forward, surrogate derivative backward (of x = u - theta)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, surrogate: str, slope: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.surrogate, ctx.slope = surrogate, slope
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (x,) = ctx.saved_tensors
        k = ctx.slope
        if ctx.surrogate == "fast_sigmoid":  # d/dx of x / (1 + k|x|), snnTorch's default slope 25
            d = 1.0 / (k * x.abs() + 1.0) ** 2
        else:  # atan: (k/2) / (1 + (pi/2 * k * x)**2), snnTorch's alpha = 2
            d = (k / 2) / (1 + (math.pi / 2 * k * x) ** 2)
        return grad * d, None, None


def _ste(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return x + (y - x).detach()


class LIF(nn.Module):
    """A LIF population.  Input currents [T, B, ...], output spikes [T, B, ...] (0/1 floats).

    beta: leak in [0, 1]; threshold: > 0; reset: 'subtract' | 'zero' | 'none'; surrogate: 'fast_sigmoid'
    (slope 25) | 'atan' (alpha 2); state_quant: 'none' | 'uniform' | 'threshold_centered' with
    `state_bits` (2**state_bits levels over [-theta(1+lower_limit), theta(1+upper_limit)], SQUAT's
    `multiplier` for threshold-centered); with state_quant 'none' the state is clamped to
    +-`clamp`*theta.  grid_bits: LSBs per power of two of theta (the grid's resolution).
    order: 'snnc' or 'snntorch' (snnTorch's Leaky with reset_delay: the pending reset from the
    stored state, fire strictly above theta on the quantized state; docs/spec.md section 2).
    output: 'spikes', or 'membrane' for a readout (the network's last LIF; train a loss on its
    membranes, e.g. cross-entropy of the last or the largest over T), which returns the states v.
    alpha: the leak of a synaptic current (snnTorch's Synaptic), rounded as beta is; None: none.
    A recurrent QuantLinear before it (recurrent=True) makes it a recurrent layer: its spikes of
    the step before come back through that synapse's `recurrent_weight` (snnTorch's RLeaky).
    """

    def __init__(self, beta: float = 0.9, threshold: float = 1.0, reset: str = "subtract",
                 surrogate: str = "fast_sigmoid", slope: float | None = None, state_quant: str = "none",
                 state_bits: int = 4, lower_limit: float = 0.0, upper_limit: float = 0.2,
                 multiplier: float | None = None, clamp: float = 8.0, grid_bits: int = 8,
                 beta_frac_bits: int = 8, order: str = "snnc", output: str = "spikes",
                 alpha: float | None = None):
        super().__init__()
        if not 0 <= beta <= 1:
            raise ValueError(f"beta must be in [0, 1], got {beta}")
        if alpha is not None and not 0 <= alpha <= 1:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        if threshold <= 0:
            raise ValueError(f"threshold must be > 0, got {threshold}")
        for name, value, allowed in (("reset", reset, RESET_MODES), ("surrogate", surrogate, SURROGATES),
                                     ("state_quant", state_quant, STATE_QUANT_MODES), ("order", order, ORDERS),
                                     ("output", output, OUTPUTS)):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, got '{value}'")
        self.beta_frac_bits = beta_frac_bits
        self.beta = round(beta * 2 ** beta_frac_bits) / 2 ** beta_frac_bits
        self.alpha = None if alpha is None else round(alpha * 2 ** beta_frac_bits) / 2 ** beta_frac_bits
        self.threshold, self.reset, self.surrogate, self.order = float(threshold), reset, surrogate, order
        self.output = output
        self.slope = slope if slope is not None else (25.0 if surrogate == "fast_sigmoid" else 2.0)
        self.state_quant, self.state_bits = state_quant, state_bits
        self.lower_limit, self.upper_limit, self.multiplier = lower_limit, upper_limit, multiplier
        self.clamp, self.grid_bits = clamp, grid_bits
        self.current_lsb: float | None = None  # the weight step of the synapse feeding this LIF
        self.recurrent_weight: torch.Tensor | None = None  # [N, N] of its own spikes, from a recurrent synapse
        self._levels_cache: dict[tuple, np.ndarray] = {}

    # --- the grid and the values on it -------------------------------------------------------
    @property
    def quantized(self) -> bool:
        """True when the LIF runs on a grid (exact integer semantics)."""
        return self.current_lsb is not None or self.state_quant != "none"

    @property
    def lsb(self) -> float:
        own = 2.0 ** (math.floor(math.log2(self.threshold)) - self.grid_bits)
        return min(own, self.current_lsb) if self.current_lsb is not None else own

    @property
    def theta_q(self) -> float:
        """theta on the grid (at least one LSB)."""
        return max(1, round(self.threshold / self.lsb)) * self.lsb

    def integer_levels(self) -> np.ndarray | None:
        """The level set in LSB units (int64), or None without state quantization."""
        if self.state_quant == "none":
            return None
        lsb, theta = self.lsb, self.theta_q
        key = (lsb, theta, self.state_quant, self.state_bits, self.lower_limit, self.upper_limit, self.multiplier)
        if key not in self._levels_cache:
            if self.state_quant == "uniform":
                real = level_sets.uniform_levels(self.state_bits, theta, self.lower_limit, self.upper_limit)
            else:
                real = level_sets.threshold_centered_levels(self.state_bits, theta, self.lower_limit,
                                                            self.upper_limit, self.multiplier)
            self._levels_cache[key] = level_sets.integerize_levels(real, lsb)
        return self._levels_cache[key]

    def state_bounds(self) -> tuple[float, float]:
        """Clamp range of an unquantized state on the grid (real units)."""
        n = math.floor(self.clamp * self.theta_q / self.lsb)
        return -n * self.lsb, n * self.lsb

    # --- dynamics ---------------------------------------------------------------------------
    def _quantize_state(self, r: torch.Tensor) -> torch.Tensor:
        lv = self.integer_levels()
        if lv is None:
            lo, hi = self.state_bounds()
            return torch.clamp(r, lo, hi)
        lsb = self.lsb
        mids = torch.as_tensor(level_sets.midpoints(lv) * lsb, dtype=r.dtype, device=r.device)
        table = torch.as_tensor(lv * lsb, dtype=r.dtype, device=r.device)
        code = torch.searchsorted(mids, r.detach().contiguous(), right=False)  # #{k : M_k < r}
        return table[code]

    def forward(self, current: torch.Tensor, record: bool = False):
        """current [T, B, ...] -> spikes [T, B, ...]; with record=True also the states [T, B, ...]."""
        exact = not self.training and self.quantized
        x = current.double() if exact else current
        theta = self.theta_q if self.quantized else self.threshold
        lsb = self.lsb
        v = c = torch.zeros_like(x[0])
        spikes, states = [], []

        def leak_of(v, factor=self.beta):
            leak = factor * v
            return _ste(leak, torch.floor(leak.detach() / lsb) * lsb) if self.quantized else leak

        fire = lambda y, strict: SpikeFunction.apply(y - theta, self.surrogate, self.slope) if self.training else \
            ((y > theta) if strict else (y >= theta)).to(y.dtype)
        own = None if self.recurrent_weight is None else self.recurrent_weight.to(x.dtype)
        s = torch.zeros_like(x[0])  # the spikes of the step before (a recurrent layer's input)
        for t in range(x.shape[0]):
            drive = x[t] if own is None else x[t] + s @ own.T
            if self.alpha is not None:  # the synaptic current c' drives the membrane; Q(c') is kept
                drive = leak_of(c, self.alpha) + drive
                c = _ste(drive, self._quantize_state(drive)) if self.quantized else drive
            if self.order == "snntorch":  # the pending reset is the last step's spike, from the stored state
                p = (v.detach() > theta).to(v.dtype)
                if self.reset == "zero":
                    u = leak_of(v * (1 - p)) + drive
                else:
                    u = leak_of(v) + drive - (theta * p if self.reset == "subtract" else 0)
                v = _ste(u, self._quantize_state(u)) if self.quantized else u
                s = fire(v, strict=True)
            else:
                u = leak_of(v) + drive
                s = fire(u, strict=False)
                r = u - theta * s.detach() if self.reset == "subtract" else u * (1 - s.detach()) if self.reset == "zero" \
                    else u
                v = _ste(r, self._quantize_state(r)) if self.quantized else r
            spikes.append(s)
            states.append(v)
        out = torch.stack(spikes).to(current.dtype)
        v_out = torch.stack(states).to(current.dtype)
        if self.output == "membrane":
            out = v_out
        return (out, v_out) if record else out

    def extra_repr(self) -> str:
        sq = "none" if self.state_quant == "none" else f"{self.state_bits}-bit {self.state_quant}"
        return (f"beta={self.beta}, threshold={self.threshold}, reset={self.reset}, state={sq}, order={self.order}"
                + (f", alpha={self.alpha}" if self.alpha is not None else "")
                + (", output=membrane" if self.output == "membrane" else ""))
