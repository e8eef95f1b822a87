"""Unstructured magnitude pruning with a sparsity schedule.

Pruning writes 0/1 masks into each synapse's `weight_mask` buffer: the smallest-magnitude weights
(over all synapses for scope 'global', within each synapse for 'layer') are masked.  The mask is
applied before weight quantization in every forward pass, so pruned weights stay exactly zero
through fine-tuning and in the exported integer weights.  `PruningSchedule` is the cubic schedule
of Zhu & Gupta ("To prune, or not to prune", 2017): sparsity rises quickly, then flattens out so
the network can recover.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .layers import QuantSynapse

SCOPES = ("global", "layer")


def _smallest_mask(magnitude: torch.Tensor, n_prune: int) -> torch.Tensor:
    """1 everywhere except at the n_prune smallest entries (ties broken by position)."""
    mask = torch.ones(magnitude.numel(), dtype=magnitude.dtype, device=magnitude.device)
    if n_prune > 0:
        mask[torch.argsort(magnitude.flatten(), stable=True)[:n_prune]] = 0
    return mask.view_as(magnitude)


@torch.no_grad()
def magnitude_prune(model: torch.nn.Module, sparsity: float, scope: str = "global") -> None:
    """Set every synapse's mask so that `sparsity` (0..1) of its weights are zero.

    Weights already pruned count as the smallest, so masks only grow along a schedule.
    """
    if not 0 <= sparsity < 1:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    if scope not in SCOPES:
        raise ValueError(f"scope must be 'global' or 'layer', got '{scope}'")
    synapses = [m for m in model.modules() if isinstance(m, QuantSynapse)]
    magnitudes = [(m.weight * m.weight_mask).abs() for m in synapses]
    if scope == "layer":
        for m, mag in zip(synapses, magnitudes):
            m.weight_mask.copy_(_smallest_mask(mag, round(sparsity * mag.numel())))
        return
    flat = torch.cat([mag.flatten() for mag in magnitudes])
    mask = _smallest_mask(flat, round(sparsity * flat.numel()))
    for m, part in zip(synapses, torch.split(mask, [mag.numel() for mag in magnitudes])):
        m.weight_mask.copy_(part.view_as(m.weight))


def sparsity(model: torch.nn.Module) -> float:
    """Fraction of synapse weights that are masked out."""
    masks = [m.weight_mask for m in model.modules() if isinstance(m, QuantSynapse)]
    total = sum(m.numel() for m in masks)
    return float(sum((m == 0).sum() for m in masks)) / total if total else 0.0


@dataclass(frozen=True)
class PruningSchedule:
    """Sparsity at a step: `final * (1 - (1 - progress)**3)`, progress from `start` to `end` steps."""

    final: float
    start: int
    end: int
    scope: str = "global"

    def sparsity_at(self, step: int) -> float:
        if step < self.start:
            return 0.0
        progress = min(1.0, (step - self.start) / max(1, self.end - self.start))
        return self.final * (1 - (1 - progress) ** 3)

    def step(self, model: torch.nn.Module, step: int) -> None:
        """Apply the schedule's sparsity for `step` (a no-op before `start`)."""
        if step >= self.start:
            magnitude_prune(model, self.sparsity_at(step), self.scope)
