"""Shared test helpers: the helper modules beside this file (netgen: random dialect networks and
small models; rtl_cases: the co-simulation cases) import as top-level modules, and fixtures that
need torch live here so that test modules never import each other."""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def three_way():
    """three_way(model, x, path, input_shape=None): export an snnc.frontend SNN, run it in torch
    (eval), onnxruntime and the golden model, assert all three equal, return torch's spikes."""
    import onnxruntime as ort
    import torch

    from snnc.compiler import compile_model
    from snnc.frontend import export_onnx
    from snnc.sim import golden

    def run(model, x: np.ndarray, path, input_shape=None) -> np.ndarray:
        model.eval()
        with torch.no_grad():
            want = model(torch.from_numpy(x.astype(np.float32))).numpy()
        export_onnx(model, path, x.shape[0], input_shape, check=False)
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got_ort = sess.run(None, {"spikes": x.astype(np.float32)})[0]
        got_golden = golden.run(compile_model(path), x.astype(np.uint8))
        np.testing.assert_array_equal(got_ort, want)
        np.testing.assert_array_equal(got_golden, want.astype(np.uint8))
        return want

    return run


def pytest_terminal_summary(terminalreporter):
    """One line saying how the Icarus Verilog co-simulations went (their names): CI's log shows
    them passing where .ci/run could install Icarus, and skipped, with the reason, where not."""
    runs = [r for kind in ("passed", "failed", "skipped") for r in terminalreporter.stats.get(kind, [])
            if "icarus" in r.nodeid and r.when in ("call", "setup") and not (kind == "passed" and r.when == "setup")]
    if runs:
        outcome = lambda kind: [r.nodeid.split("::")[-1] for r in runs if r.outcome == kind]
        terminalreporter.write_line("Icarus Verilog co-simulations: " + "; ".join(
            f"{len(outcome(kind))} {kind} ({', '.join(outcome(kind))})" for kind in ("passed", "failed", "skipped")
            if outcome(kind)))
