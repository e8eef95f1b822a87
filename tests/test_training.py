"""Training recipes (snnc.frontend.training): which quantizers start from the float model, that the
warm start copies exactly the float weights into the quantized model, that it is refused when the
architectures differ, and that a warm-started run is the same whether its float model was trained
in the run or taken from a sweep's earlier run of the same seed."""
from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from netgen import event_digits_subset, example_module
from snnc.frontend import LIF, SNN, QuantLinear, float_start, float_twin, make_quantizer, recipe, training, warm_start

_events = example_module("events", "train.py")
_digits = example_module("digits", "train.py")


@pytest.mark.parametrize("weights, bits, warm", [("float", 4, False), ("uniform", 8, False), ("uniform", 4, False),
                                                  ("uniform", 3, False), ("sigmoid", 4, False), ("uniform", 2, True),
                                                  ("sigmoid", 2, True), ("ternary", 2, True), ("binary", 1, True),
                                                  ("sigmoid", 1, True)])
def test_recipe_warm_starts_weights_of_at_most_two_bits(weights, bits, warm):
    r = recipe(weights, bits)
    assert r.warm_start is warm and r.reason


def _mlp(kind: str, bits: int, hidden: int = 12) -> SNN:
    return SNN(QuantLinear(6, hidden, bias=True, quantizer=make_quantizer(kind, bits)), LIF(),
               QuantLinear(hidden, 3, quantizer=make_quantizer(kind, bits)), LIF(state_quant="threshold_centered"))


def test_warm_start_copies_the_float_weights_and_biases():
    torch.manual_seed(0)
    float_model, binary = _mlp("float", 4), _mlp("binary", 1)
    warm_start(binary, float_model)
    for (name, w), (_, w_float) in zip(binary.named_parameters(), float_model.named_parameters()):
        assert torch.equal(w, w_float), name
    layer = binary.synapses()[0]
    _, codes, _ = layer.quantizer(layer.weight)  # the binary codes are the float weights' signs
    assert torch.equal(codes, torch.where(float_model.synapses()[0].weight >= 0, 1.0, -1.0))


def test_warm_start_from_another_architecture_is_refused():
    with pytest.raises(ValueError, match=r"warm start: the float model does not match \(0\.weight, 0\.bias"):
        warm_start(_mlp("binary", 1), _mlp("float", 4, hidden=13))
    with pytest.raises(ValueError, match="does not match"):
        warm_start(_mlp("binary", 1), SNN(nn.Identity(), LIF()))


def test_the_float_model_is_trained_once_per_config_and_training_data():
    trained = []
    train_float = lambda c: trained.append(c) or _mlp("float", 4)
    binary = _events.Config(weights="binary", bits=1, seed=7)
    x, y = np.zeros((2, 3), np.uint8), np.arange(3)
    first = float_start(binary, (x, y), train_float)
    assert float_start(replace(binary, weights="ternary", bits=2), (x, y), train_float) is first  # one seed, one model
    assert float_start(binary, (x + 1, y), train_float) is not first  # other data, another model
    assert float_start(replace(binary, seed=8), (x, y), train_float) is not first
    assert trained == [float_twin(binary), float_twin(binary), float_twin(replace(binary, seed=8))]
    assert trained[0].weights == "float" and trained[0].state_quant == "none" and trained[0].bits == _events.Config.bits
    assert float_start(replace(binary, warm_start=False), (x, y), train_float) is None
    assert float_start(_events.Config(weights="float"), (x, y), train_float) is None  # the float model itself
    assert float_start(_events.Config(), (x, y), train_float) is None  # W4: from scratch


def test_edge_bits_put_the_first_and_last_layers_at_more_bits_and_count_their_cost():
    cfg = _events.Config(weights="binary", bits=1, edge_bits=4)
    model = _events.build(cfg)
    first, middle, last = model.synapses()
    assert (first.quantizer.bits, middle.quantizer.bits, last.quantizer.bits) == (4, 1, 4)
    assert model.weight_bits() == 4 * 2 * 8 * 9 + 8 * 16 * 9 + 4 * 1024 * 10
    assert "(+31,152 for --edge-bits 4)" in _events.weight_memory(model, cfg)
    assert float_twin(cfg) == float_twin(replace(cfg, edge_bits=0))  # one float model for both
    assert _events.build(float_twin(cfg)).weight_bits() == 32 * (2 * 8 * 9 + 8 * 16 * 9 + 1024 * 10)


def _state_hash(model) -> str:
    return hashlib.sha256(b"".join(v.detach().contiguous().numpy().tobytes() for v in model.state_dict().values())).hexdigest()


@pytest.mark.parametrize("module", [_events, _digits], ids=["events", "digits"])
def test_a_warm_start_is_the_same_run_with_its_float_model_cached_or_given(module):
    small = module.Config(weights="binary", bits=1, epochs=1, seed=5, **({"batch": 16} if module is _events else {}))
    data = event_digits_subset(96, 32, 5, small.timesteps) if module is _events else module.load(small.timesteps, 5)
    training._FLOAT_MODELS.clear()
    trained_here, _ = module.train(small, data, progress=False)  # trains the float model first
    float_model, _ = module.train(float_twin(small), data, progress=False)
    given, _ = module.train(small, data, progress=False, float_model=float_model)
    cached, _ = module.train(small, data, progress=False)
    cold, _ = module.train(replace(small, warm_start=False), data, progress=False)
    assert _state_hash(trained_here) == _state_hash(given) == _state_hash(cached) != _state_hash(cold)

