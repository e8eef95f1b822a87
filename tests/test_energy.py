"""Energy per inference (snnc.energy) in `snnc report --json` (docs/spec.md section 4): the key,
its parts and sourced coefficients, and monotone where it must be."""
import json

import numpy as np
import onnx
import pytest

from netgen import float_mlp_model
from snnc.cli import main
from snnc.compiler.dialect import ModelWriter


def report(capsys, build):
    capsys.readouterr()
    assert main(["report", str(build), "--json", "--no-synth"]) == 0
    return json.loads(capsys.readouterr().out)["energy"]


def simulate(build, x, tmp_path, engine="golden"):
    np.save(tmp_path / "x.npy", x)
    assert main(["simulate", str(build), "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy"),
                 "--engine", engine]) == 0


@pytest.fixture
def build(tmp_path):
    model = float_mlp_model(tmp_path / "m.onnx", np.random.default_rng(0))
    assert main(["compile", str(model), "--bits", "4", "-o", str(tmp_path / "b")]) == 0
    return tmp_path / "b"


def test_report_carries_energy_with_sourced_coefficients(build, capsys):
    e = report(capsys, build)
    assert isinstance(e["per_inference_j"], float) and 0 < e["per_inference_j"] < 1e-3
    assert abs(sum(e["breakdown"].values()) - e["per_inference_j"]) < 1e-15
    assert e["assumptions"] and all(a["source"] and a["value"] > 0 for a in e["assumptions"].values())
    assert "default rate" in e["source"]


def test_more_input_spikes_cost_more(build, tmp_path, capsys):
    rng = np.random.default_rng(1)
    costs = []
    for rate in (0.1, 0.3, 0.6):
        simulate(build, (rng.random((16, 4, 24)) < rate).astype(np.uint8), tmp_path)
        e = report(capsys, build)
        assert "snnc simulate (golden)" in e["source"]
        costs.append((e["per_inference_j"], e["breakdown"]["weight_reads"]))
    assert costs[0] < costs[1] < costs[2]


def test_wider_weights_cost_more(tmp_path, capsys):
    rng = np.random.default_rng(2)
    w1, w2 = rng.integers(-7, 8, (24, 20)), rng.integers(-7, 8, (20, 5))
    x = (rng.random((16, 4, 24)) < 0.3).astype(np.uint8)
    energies = {}
    for bits, k in ((4, 1), (8, 16)):  # the same real weights: 4-bit codes, or 8-bit codes 16x finer
        writer = ModelWriter((24,))
        writer.dense(w1 * k, scale=0.25 / k, bits=bits, name="fc1")
        writer.lif(beta=0.5, threshold=1.0, state_lsb=1 / 64, state_min=-4, state_max=4, name="lif1")
        writer.dense(w2 * k, scale=0.25 / k, bits=bits, name="fc2")
        writer.lif(beta=0.5, threshold=1.0, state_lsb=1 / 64, state_min=-4, state_max=4, name="lif2")
        onnx.save(writer.model(), tmp_path / f"w{bits}.onnx")
        assert main(["compile", str(tmp_path / f"w{bits}.onnx"), "-o", str(tmp_path / f"b{bits}")]) == 0
        capsys.readouterr()
        assert main(["report", str(tmp_path / f"b{bits}"), "--json", "--no-synth"]) == 0
        assert [r["weight_bits"] for r in json.loads(capsys.readouterr().out)["layers"] if "weight_bits" in r] == [bits] * 2
        simulate(tmp_path / f"b{bits}", x, tmp_path)
        energies[bits] = report(capsys, tmp_path / f"b{bits}")
    assert energies[8]["counts"] == energies[4]["counts"]  # the same work
    assert energies[8]["breakdown"]["weight_reads"] > energies[4]["breakdown"]["weight_reads"]
    assert energies[8]["per_inference_j"] > energies[4]["per_inference_j"]


def test_an_rtl_run_supplies_the_measured_cycles(build, tmp_path, capsys):
    simulate(build, (np.random.default_rng(3).random((8, 2, 24)) < 0.3).astype(np.uint8), tmp_path, "rtl")
    e = report(capsys, build)
    assert "(rtl)" in e["source"] and e["cycles_from"] == "RTL measurement"
