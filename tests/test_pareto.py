"""The design-space sweep (snnc.sweep, examples/pareto.py): Pareto fronts, resumption, and the
quick mode end to end on a local Dask cluster (slow: `make test-slow`)."""
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netgen import example_module
from snnc.sweep import pareto_front, point_key, write_section

ROOT = Path(__file__).resolve().parents[1]


def test_pareto_front_keeps_the_rows_nothing_beats():
    rows = [{"accuracy": a, "energy_j": e, "name": n} for a, e, n in
            [(0.90, 5.0, "a"), (0.95, 6.0, "b"), (0.93, 7.0, "c"), (0.97, 9.0, "d"), (0.89, 2.0, "e"), (0.95, 6.0, "f")]]
    assert [r["name"] for r in pareto_front(rows, "energy_j")] == ["e", "a", "b", "d"]
    assert pareto_front([], "energy_j") == []


def test_point_keys_ignore_key_order():
    assert point_key({"a": 1, "b": [1, 4]}) == point_key({"b": [1, 4], "a": 1}) != point_key({"a": 2, "b": [1, 4]})


def test_a_sweep_rewrites_only_its_own_section_of_a_shared_file(tmp_path):
    doc = tmp_path / "results.md"
    write_section(doc, "## B", "## B\n\nfirst\n")  # a new file
    assert doc.read_text() == "## B\n\nfirst\n"
    doc.write_text("# Results\n\nintro\n\n## A\n\na\n\n## B\n\nold\n\n## B2\n\nkept\n")
    write_section(doc, "## B", "## B\n\nnew\n")  # in place; "## B2" is another section
    write_section(doc, "## C", "## C\n\nc\n")  # at the end
    assert doc.read_text() == "# Results\n\nintro\n\n## A\n\na\n\n## B\n\nnew\n\n## B2\n\nkept\n\n## C\n\nc\n"
    write_section(doc, "## C", "## C\n\nc2\n")  # the last section
    assert doc.read_text().endswith("## B2\n\nkept\n\n## C\n\nc2\n")


def test_designs_are_the_means_over_their_seeds_and_claims_weigh_the_spread():
    pareto = example_module("pareto.py")
    row = lambda w, bits, p, seed, acc: {"weights": w, "bits": bits, "state_quant": "threshold_centered", "state_bits": 4,
                                         "sparsity": p, "lanes": 1, "seed": seed, "accuracy": acc, "seconds": 1.0,
                                         "torch_accuracy": acc, "energy_j": 1e-5 * (1 + seed), "dynamic_j": 1e-6,
                                         "latency_us": 100.0, "luts": 700 + seed, "ffs": 500, "bram36": 2.0,
                                         "weight_bits": 1000 * bits, "zero_weights": p, "sparse_layers": 0, "cycles": 1}
    rows = [row("uniform", 4, 0.0, s, a) for s, a in ((1, 0.96), (0, 0.94))] + \
        [row("ternary", 2, 0.0, s, a) for s, a in ((0, 0.90), (1, 0.98))]
    designs = {pareto.label(d): d for d in pareto.over_seeds(rows)}
    w4 = designs["W4 TC4 L1"]
    assert w4["accuracy"] == pytest.approx(0.95) and w4["accuracy_std"] == pytest.approx(0.01)
    assert w4["accuracy_per_seed"] == [0.94, 0.96] and w4["seeds"] == [0, 1] and w4["luts"] == 700.5
    # ternary is 1 point below on average, within its 4-point spread: the claim holds
    assert "The data agrees" in pareto.claims(list(designs.values()))[0]
    narrow = [row("ternary", 2, 0.0, s, a) for s, a in ((0, 0.92), (1, 0.92))]
    assert "does not agree" in pareto.claims(pareto.over_seeds(rows[:2] + narrow))[0]  # 3 points, spread 1


@pytest.mark.slow
def test_quick_sweep_finds_fronts_and_resumes(tmp_path):
    store, docs = tmp_path / "store", tmp_path / "pareto.md"
    cmd = [sys.executable, str(ROOT / "examples" / "pareto.py"), "--examples", "digits", "--quick", "--seeds", "0",
           "--store", str(store), "--docs", str(docs), "--workers", "2"]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert first.returncode == 0, first.stderr[-3000:]
    points = sorted((store / "digits").glob("*.json"))
    assert len(points) == 4
    rows = [row for p in points for row in json.loads(p.read_text())["rows"]]
    assert all(0.1 < r["accuracy"] <= 1 and r["energy_j"] > 0 and r["luts"] > 0 for r in rows)  # 3 epochs
    pruned = [r for r in rows if r["sparsity"] == 0.8]
    assert all(r["zero_weights"] >= 0.75 and r["sparse_layers"] >= 1 for r in pruned)
    text = docs.read_text()
    assert "## digits" in text and "front" in text and (tmp_path / "pareto.md").exists()
    t0 = time.time()  # a second run reads every point back: no training, no synthesis
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and time.time() - t0 < 120
    assert docs.read_text().split("Regenerate")[1].split("\n", 1)[1] == text.split("Regenerate")[1].split("\n", 1)[1]


def test_bad_sweep_settings_are_one_line_errors(tmp_path):
    from snnc.compiler.errors import SnncError
    from snnc.sweep import run

    (tmp_path / "file").write_text("")
    with pytest.raises(SnncError, match="cannot hold the sweep's results"):
        run([{"a": 1}], len, tmp_path / "file" / "store")
    for workers in (0, -1, 1.5):
        with pytest.raises(SnncError, match="workers must be at least 1"):
            run([{"a": 1}], len, tmp_path / "store", workers=workers)
