"""The design-space sweep (snnc.sweep, examples/pareto.py): Pareto fronts, resumption, and the
quick mode end to end on a local Dask cluster (slow: `make test-slow`)."""
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from snnc.sweep import pareto_front, point_key

ROOT = Path(__file__).resolve().parents[1]


def test_pareto_front_keeps_the_rows_nothing_beats():
    rows = [{"accuracy": a, "energy_j": e, "name": n} for a, e, n in
            [(0.90, 5.0, "a"), (0.95, 6.0, "b"), (0.93, 7.0, "c"), (0.97, 9.0, "d"), (0.89, 2.0, "e"), (0.95, 6.0, "f")]]
    assert [r["name"] for r in pareto_front(rows, "energy_j")] == ["e", "a", "b", "d"]
    assert pareto_front([], "energy_j") == []


def test_point_keys_ignore_key_order():
    assert point_key({"a": 1, "b": [1, 4]}) == point_key({"b": [1, 4], "a": 1}) != point_key({"a": 2, "b": [1, 4]})


@pytest.mark.slow
def test_quick_sweep_finds_fronts_and_resumes(tmp_path):
    store, docs = tmp_path / "store", tmp_path / "pareto.md"
    cmd = [sys.executable, str(ROOT / "examples" / "pareto.py"), "--examples", "digits", "--quick", "--store", str(store),
           "--docs", str(docs), "--workers", "2"]
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
