"""The command line: success paths, and every user error exits 1 with one line and leaves nothing behind."""
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import helper

from snnc.cli import main
from snnc.compiler.dialect import ModelWriter
from snnc.sim import golden
from snnc.compiler import ir_file


def small_model(path, n_in=6):
    w = ModelWriter((n_in,))
    w.dense(np.arange(n_in * 4).reshape(n_in, 4) % 5 - 2, scale=0.5, bits=4, name="fc1")
    w.lif(beta=0.5, threshold=1.0, state_lsb=0.5, state_quant="uniform", state_levels=np.arange(-4, 4) * 0.5, name="lif1")
    w.dense(np.ones((4, 3), int), scale=0.5, bits=4, name="fc2")
    w.lif(beta=1.0, threshold=1.0, state_lsb=0.5, state_min=-4, state_max=4, name="lif2")
    onnx.save(w.model(), path)
    return path


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_user_error(code, err, *words):
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("snnc: error: "), err
    assert "Traceback" not in err
    for w in words:
        assert w in lines[0], (w, lines[0])


def test_compile_simulate_report(tmp_path, capsys):
    model = small_model(tmp_path / "m.onnx")
    build = tmp_path / "build"
    code, out, _ = run_cli(capsys, "compile", model, "--bits", "4", "-o", build)
    assert code == 0 and "compiled" in out
    assert {p.name for p in build.iterdir()} >= {"network.json", "network.npz", "report.txt", "report.json"}
    x = (np.random.default_rng(0).random((8, 5, 6)) < 0.5)
    np.save(tmp_path / "x.npy", x)
    code, out, _ = run_cli(capsys, "simulate", build, "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy")
    assert code == 0
    y = np.load(tmp_path / "y.npy")
    assert y.dtype == np.uint8 and y.shape == (8, 5, 3)
    np.testing.assert_array_equal(y, golden.run(ir_file.load(build / "network"), x))
    code, out, _ = run_cli(capsys, "report", build)
    assert code == 0 and "lif1" in out and "state memory" in out and "accumulator" in out
    # recompiling into a folder snnc made is allowed
    assert run_cli(capsys, "compile", model, "-o", build)[0] == 0


def test_console_script_runs_without_traceback(tmp_path):
    exe = [sys.executable, "-m", "snnc.cli"]
    ok = subprocess.run(exe + ["--help"], capture_output=True, text=True)
    assert ok.returncode == 0 and "compile" in ok.stdout
    bad = subprocess.run(exe + ["compile", str(tmp_path / "nope.onnx")], capture_output=True, text=True)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    usage = subprocess.run(exe + ["compile"], capture_output=True, text=True)
    assert usage.returncode == 2


def edit_model(tmp_path, edit):
    model = onnx.load(small_model(tmp_path / "base.onnx"))
    edit(model)
    path = tmp_path / "edited.onnx"
    onnx.save(model, path)
    return path


def drop_threshold(model):
    node = next(n for n in model.graph.node if n.name == "lif1")
    keep = [a for a in node.attribute if a.name != "threshold"]
    del node.attribute[:]
    node.attribute.extend(keep)


def insert_relu(model):
    node = next(n for n in model.graph.node if n.name == "fc1")
    relu = helper.make_node("Relu", [node.output[0]], ["relu_out"], name="act1")
    lif = next(n for n in model.graph.node if n.name == "lif1")
    lif.input[0] = "relu_out"
    model.graph.node.insert(list(model.graph.node).index(node) + 1, relu)


def wrong_input_width(model):
    dim = model.graph.input[0].type.tensor_type.shape.dim[2]
    dim.dim_value = 9


def bad_beta(model):
    node = next(n for n in model.graph.node if n.name == "lif2")
    next(a for a in node.attribute if a.name == "beta").f = 1.5


def add_attribute(name, value):
    def edit(model):
        next(n for n in model.graph.node if n.name == "lif1").attribute.append(helper.make_attribute(name, value))
    return edit


@pytest.mark.parametrize("edit, words", [
    (drop_threshold, ["lif1", "threshold"]),
    (add_attribute("order", "norse"), ["lif1", "order must be one of snnc, snntorch", "'norse'"]),
    (add_attribute("tau_mem", 2.0), ["lif1", "unknown attribute 'tau_mem'"]),
    (insert_relu, ["act1", "Relu"]),
    (wrong_input_width, ["fc1", "9"]),
    (bad_beta, ["lif2", "beta"]),
])
def test_bad_models(tmp_path, capsys, edit, words):
    build = tmp_path / "out"
    code, _, err = run_cli(capsys, "compile", edit_model(tmp_path, edit), "-o", build)
    assert_user_error(code, err, *words)
    assert not build.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left over


def test_missing_truncated_and_non_onnx_files(tmp_path, capsys):
    build = tmp_path / "out"
    code, _, err = run_cli(capsys, "compile", tmp_path / "missing.onnx", "-o", build)
    assert_user_error(code, err, "missing.onnx", "no such file")
    data = small_model(tmp_path / "m.onnx").read_bytes()
    (tmp_path / "trunc.onnx").write_bytes(data[: len(data) // 2])
    code, _, err = run_cli(capsys, "compile", tmp_path / "trunc.onnx", "-o", build)
    assert_user_error(code, err, "trunc.onnx")
    (tmp_path / "text.onnx").write_text("this is not a model\n")
    code, _, err = run_cli(capsys, "compile", tmp_path / "text.onnx", "-o", build)
    assert_user_error(code, err, "text.onnx")
    assert not build.exists()


def test_foreign_build_dir_is_not_overwritten(tmp_path, capsys):
    build = tmp_path / "mine"
    build.mkdir()
    (build / "thesis.tex").write_text("precious")
    code, _, err = run_cli(capsys, "compile", small_model(tmp_path / "m.onnx"), "-o", build)
    assert_user_error(code, err, "snnc did not write", "thesis.tex", "--force")
    assert [p.name for p in build.iterdir()] == ["thesis.tex"]


@pytest.fixture
def build(tmp_path, capsys):
    assert run_cli(capsys, "compile", small_model(tmp_path / "m.onnx"), "-o", tmp_path / "b")[0] == 0
    return tmp_path / "b"


@pytest.mark.parametrize("array, words", [
    (np.zeros((0, 2, 6), np.uint8), ["empty"]),
    (np.full((3, 2, 6), 0.5, np.float32), ["0 or 1"]),
    (np.zeros((3, 2, 7), np.uint8), ["shape", "7"]),
    (np.zeros((3, 6), np.uint8), ["shape"]),
    (np.array(["a", "b"]), ["bool, integer or float"]),
])
def test_bad_inputs(tmp_path, capsys, build, array, words):
    np.save(tmp_path / "x.npy", array)
    code, _, err = run_cli(capsys, "simulate", build, "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy")
    assert_user_error(code, err, "--input", "x.npy", *words)
    assert not (tmp_path / "y.npy").exists()


def test_bad_input_files_and_engines(tmp_path, capsys, build):
    y = tmp_path / "y.npy"
    (tmp_path / "junk.npy").write_bytes(b"\x93NUMPY garbage")
    for args, words in [
        (["--input", tmp_path / "none.npy"], ["none.npy", "no such file"]),
        (["--input", tmp_path / "junk.npy"], ["junk.npy", "not a readable"]),
    ]:
        code, _, err = run_cli(capsys, "simulate", build, *args, "--output", y)
        assert_user_error(code, err, *words)
    code, _, err = run_cli(capsys, "simulate", tmp_path, "--input", tmp_path / "junk.npy", "--output", y)
    assert_user_error(code, err, "not an snnc build")
    assert not y.exists()
