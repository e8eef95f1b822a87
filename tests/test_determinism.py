"""Same seed, same numbers (snnc.frontend.reproducible): training the event CSNN twice gives the same
weights bit for bit, whatever thread count the caller left PyTorch at and in a process of its own;
another seed gives other weights.  (PyTorch's float sums depend on its thread count: without
`reproducible` a demo on 2 threads and a sweep on 1 trained different weights from one seed.)"""
from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from netgen import event_digits_subset, example_module
from snnc.frontend import reproducible

_train = example_module("events", "train.py")
SUBSET = 96  # training samples: a run of a few seconds that still takes several optimizer steps


def _run(seed: int, weights: str) -> str:
    """The sha256 of the trained CSNN's state (every parameter and buffer, in order) after one epoch
    on SUBSET training samples."""
    data = event_digits_subset(SUBSET, 32, seed, _train.Config.timesteps)
    model, _ = _train.train(_train.Config(weights=weights, epochs=1, batch=16, seed=seed), data, progress=False)
    state = model.state_dict()
    return hashlib.sha256(b"".join(k.encode() + v.detach().contiguous().numpy().tobytes()
                                   for k, v in state.items())).hexdigest()


def test_training_twice_gives_the_same_weights_bit_for_bit():
    torch.set_num_threads(2)
    first = _run(0, "uniform")
    torch.set_num_threads(1)  # what a caller leaves behind does not matter: training sets its own
    assert _run(0, "uniform") == first
    assert _run(1, "uniform") != first
    # a fresh interpreter, as a fresh clone's demo starts, with the sigmoid-sum quantizer's annealing too
    here = Path(__file__).parent
    script = (f"import sys; sys.path.insert(0, {str(here)!r}); import torch; torch.set_num_threads(2); "
              f"import test_determinism as t; print(t._run(0, 'uniform')); print(t._run(0, 'sigmoid'))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert out == [first, _run(0, "sigmoid")]


def test_reproducible_seeds_torch_and_the_data_order():
    a = (reproducible(3).permutation(10), torch.rand(4))
    b = (reproducible(3).permutation(10), torch.rand(4))
    assert np.array_equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert torch.get_num_threads() == 1 and torch.are_deterministic_algorithms_enabled()
