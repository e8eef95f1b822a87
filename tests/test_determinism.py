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

from netgen import example_module
from snnc.frontend import reproducible
from snnc.frontend.events import EventDigits, bin_frames, digit_events

_train = example_module("events", "train.py")
SUBSET = 96  # training samples: a run of a few seconds that still takes several optimizer steps


def _data(seed: int) -> EventDigits:
    """The first SUBSET + 32 bundled digits as event frames (load_event_digits' generator, seeded)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    frames = bin_frames(digit_events(digits.data[:SUBSET + 32] / 16.0, seed=seed), _train.Config.timesteps)
    return EventDigits(frames[:, :SUBSET], digits.target[:SUBSET], frames[:, SUBSET:], digits.target[SUBSET:SUBSET + 32])


def _run(seed: int, weights: str) -> str:
    """The sha256 of the trained CSNN's state (every parameter and buffer, in order) after one epoch
    on SUBSET training samples."""
    model, _ = _train.train(_train.Config(weights=weights, epochs=1, batch=16, seed=seed), _data(seed), progress=False)
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
