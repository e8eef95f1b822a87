"""The digits example: a trained model is spike-exact through export, onnxruntime and the golden model."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from netgen import example_module


_train = example_module("digits", "train.py")
Config, input_shape, load, train = _train.Config, _train.input_shape, _train.load, _train.train


@pytest.mark.parametrize("arch", ["mlp", "conv"])
def test_trained_digits_model_is_spike_exact_on_the_test_split(tmp_path, arch, three_way):
    cfg = Config(arch=arch, epochs=3)
    data = load(cfg.timesteps, cfg.seed)
    model, acc = train(cfg, data, progress=False)
    assert acc > 0.5  # learning happened: 10 classes, chance is 0.1
    x = data.x_test.reshape(cfg.timesteps, -1, *input_shape(arch))
    out = three_way(model, x.astype(np.float32), tmp_path / "digits.onnx", input_shape(arch))
    counts = out.sum(0)
    assert np.mean(counts.argmax(1) == data.y_test) == pytest.approx(acc)


@pytest.mark.slow
def test_default_digits_configuration_reaches_90_percent_within_2_points_of_float():
    data = load(16, 0)
    _, acc_q = train(Config(), data, progress=False)
    _, acc_f = train(replace(Config(), weights="float", state_quant="none"), data, progress=False)
    assert acc_q >= 0.90
    assert acc_q >= acc_f - 0.02
