"""Reproducible training: the same seed gives the same weights, bit for bit, on any machine of this
kind, whichever script trains (a demo, a sweep, a test).

PyTorch splits its float sums (convolution and matrix-product gradients, reductions) over its
intra-op threads, so their rounding, and with it every weight after the first step, depends on how
many threads it runs: the event CSNN trained from one seed on 1 and on 2 threads ends with
different weights.  The demos ran 2 threads and the sweeps 1, so a demo and a sweep row of the same
seed disagreed.  Training therefore always runs TRAINING_THREADS threads (one: a number every
machine has, and the sweeps' workers run side by side), with PyTorch's deterministic algorithms.
"""
from __future__ import annotations

import numpy as np
import torch

TRAINING_THREADS = 1


def reproducible(seed: int) -> np.random.Generator:
    """Seed PyTorch (initial weights, dropout), fix its threads and algorithms, and return the numpy
    generator for everything else a training run draws (data order, rate codes)."""
    torch.set_num_threads(TRAINING_THREADS)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)
