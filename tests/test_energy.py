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
        assert "golden model's counts of the last snnc simulate" in e["source"]
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
        # dense: sparse rows would store the 8-bit layer's 14 distinct values as 4-bit codes
        assert main(["compile", str(tmp_path / f"w{bits}.onnx"), "--weights", "dense", "--lanes", "1",  # the same design
                     "-o", str(tmp_path / f"b{bits}")]) == 0
        capsys.readouterr()
        assert main(["report", str(tmp_path / f"b{bits}"), "--json", "--no-synth"]) == 0
        assert [r["weight_bits"] for r in json.loads(capsys.readouterr().out)["layers"] if "weight_bits" in r] == [bits] * 2
        simulate(tmp_path / f"b{bits}", x, tmp_path)
        energies[bits] = report(capsys, tmp_path / f"b{bits}")
    assert energies[8]["counts"] == energies[4]["counts"]  # the same work
    assert energies[8]["breakdown"]["weight_reads"] > energies[4]["breakdown"]["weight_reads"]
    assert energies[8]["per_inference_j"] > energies[4]["per_inference_j"]


def test_an_rtl_run_supplies_its_own_counts_and_cycles(build, tmp_path, capsys):
    simulate(build, (np.random.default_rng(3).random((8, 2, 24)) < 0.3).astype(np.uint8), tmp_path, "rtl")
    e = report(capsys, build)
    assert "RTL's activity counters" in e["source"]
    assert e["counts"]["cycles"] == e["cycles_per_inference"] and "golden_per_inference_j" in e
    assert main(["report", str(build), "--no-synth"]) == 0
    assert "the golden model's counts on the same input" in capsys.readouterr().out


def digits_sized_model(path, rng, prune: float = 0.0):
    """64-128-10 with random 4-bit weights (pruned at random to `prune`), thresholds that make a
    rate-coded digit spike in both layers."""
    writer = ModelWriter((64,))
    for i, (n_in, n_out) in enumerate(((64, 128), (128, 10))):
        w = rng.integers(-7, 8, (n_out, n_in)) * (rng.random((n_out, n_in)) >= prune)
        writer.dense(w.T, scale=1 / 16, bits=4, name=f"fc{i}")
        writer.lif(beta=0.875, threshold=1.0, state_lsb=1 / 16, state_min=-2, state_max=2, name=f"lif{i}")
    onnx.save(writer.model(), path)
    return path


def digits_input(n: int, rng) -> np.ndarray:
    from sklearn.datasets import load_digits

    images = load_digits().data[:n] / 16.0
    return (rng.random((16, n, 64)) < images).astype(np.uint8)


def test_rtl_counts_and_golden_counts_agree_on_a_digits_sized_network(tmp_path, capsys):
    """The RTL's activity counters equal the golden model's counts, and the energy from each
    (static power over the measured cycles against the schedule's) agrees within 5%."""
    rng = np.random.default_rng(4)
    model = digits_sized_model(tmp_path / "d.onnx", rng)
    assert main(["compile", str(model), "--lanes", "4", "-o", str(tmp_path / "b")]) == 0
    simulate(tmp_path / "b", digits_input(6, rng), tmp_path, "rtl")
    e = report(capsys, tmp_path / "b")
    activity = json.loads((tmp_path / "b" / "activity.json").read_text())
    for rtl_layer, golden_layer in zip(activity["activity"]["layers"], activity["golden_activity"]["layers"]):
        assert rtl_layer == golden_layer  # every count: scatter and update steps, spikes in and out
    assert abs(activity["activity"]["cycles"] / activity["golden_activity"]["cycles"] - 1) < 0.03
    assert abs(e["rtl_vs_golden"]) < 0.05
    assert all(layer["output_spikes"] > 0 for layer in activity["activity"]["layers"])


def test_a_pruned_sparse_design_costs_less_than_its_dense_twin(tmp_path, capsys):
    rng = np.random.default_rng(5)
    model = digits_sized_model(tmp_path / "p.onnx", rng, prune=0.8)
    x = digits_input(8, rng)
    costs = {}
    for weights in ("dense", "sparse"):
        assert main(["compile", str(model), "--weights", weights, "--lanes", "1", "-o", str(tmp_path / weights)]) == 0
        simulate(tmp_path / weights, x, tmp_path)
        costs[weights] = report(capsys, tmp_path / weights)
    assert costs["sparse"]["counts"]["layers"][0]["scatter_steps"] < 0.4 * costs["dense"]["counts"]["layers"][0]["scatter_steps"]
    assert costs["sparse"]["breakdown"]["weight_reads"] < costs["dense"]["breakdown"]["weight_reads"]
    assert costs["sparse"]["per_inference_j"] < costs["dense"]["per_inference_j"]
