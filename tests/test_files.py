"""Files as users name them (docs/spec.md section 4): outputs through symlinks and into special
files, one-line errors for impossible places, the umask, builds replaced with no moment where
neither old nor new is whole, Ctrl-C, and damaged build folders."""
import json
import os
import stat
import subprocess
import sys

import numpy as np
import pytest

from netgen import float_mlp_model
from snnc import build as build_lib
from snnc.cli import main

SNNC = [sys.executable, "-m", "snnc.cli"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("files")
    model = float_mlp_model(root / "m.onnx", np.random.default_rng(0))
    assert main(["compile", str(model), "--bits", "4", "-o", str(root / "b")]) == 0
    np.save(root / "x.npy", (np.random.default_rng(1).random((4, 2, 24)) < 0.4).astype(np.uint8))
    return root


def one_line_error(capsys, code, *words):
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1 and err.startswith("snnc: error: "), err
    for w in words:
        assert w in err, (w, err)


def simulate(root, output):
    return main(["simulate", str(root / "b"), "--input", str(root / "x.npy"), "--output", str(output)])


def test_output_follows_symlinks_and_writes_special_files(built, tmp_path, capsys):
    assert simulate(built, "/dev/null") == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)  # still the device, not a regular file
    (tmp_path / "real").mkdir()
    link = tmp_path / "out.npy"
    link.symlink_to(tmp_path / "real" / "y.npy")
    assert simulate(built, link) == 0 and simulate(built, link) == 0  # created, then replaced through the link
    assert link.is_symlink() and np.load(tmp_path / "real" / "y.npy").shape == (4, 2, 5)
    capsys.readouterr()


@pytest.mark.parametrize("where, words", [("missing/y.npy", ["does not exist"]), (".", ["is a folder"])])
def test_impossible_outputs_are_one_line_errors(built, tmp_path, capsys, where, words):
    one_line_error(capsys, simulate(built, tmp_path / where), *words)
    assert [p.name for p in tmp_path.iterdir()] == []


def test_unwritable_build_folder(built, capsys):
    code = main(["compile", str(built / "m.onnx"), "-o", "/proc/snnc_cannot_write_here"])
    one_line_error(capsys, code, "/proc/snnc_cannot_write_here")


def test_files_follow_the_umask(built, tmp_path, capsys):
    old = os.umask(0o027)
    try:
        assert main(["compile", str(built / "m.onnx"), "--bits", "4", "-o", str(tmp_path / "b")]) == 0
        assert simulate(built, tmp_path / "y.npy") == 0
    finally:
        os.umask(old)
    mode = lambda p: stat.S_IMODE(os.stat(p).st_mode)
    assert mode(tmp_path / "b") == 0o750 and mode(tmp_path / "y.npy") == 0o640
    assert {mode(p) for p in (tmp_path / "b").iterdir() if p.is_file()} == {0o640}
    capsys.readouterr()


def test_concurrent_compiles_to_one_folder_leave_one_whole_build(built, tmp_path):
    out = tmp_path / "shared"
    procs = [subprocess.Popen([*SNNC, "compile", str(built / "m.onnx"), "--bits", str(bits), "-o", str(out)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for bits in (4, 3, 4, 2)]
    errors = [p.communicate()[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    assert subprocess.run([*SNNC, "report", str(out), "--no-synth"], capture_output=True).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shared"]  # no temporary left behind


def test_ctrl_c_exits_130_and_leaves_nothing(built, tmp_path, capsys, monkeypatch):
    def interrupted(cfg, b):
        raise KeyboardInterrupt
    monkeypatch.setattr(build_lib, "BUILD_STEPS", (*build_lib.BUILD_STEPS, interrupted))
    monkeypatch.setattr(build_lib.build, "__defaults__", (build_lib.BUILD_STEPS,))
    assert main(["compile", str(built / "m.onnx"), "-o", str(tmp_path / "b")]) == 130
    assert capsys.readouterr().err.strip() == "snnc: interrupted"
    assert list(tmp_path.iterdir()) == []


def damage(build, name, how):
    path = build / name
    if how == "truncate":
        path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    elif how == "garbage":
        path.write_bytes(b"\x00\xff garbage \x93")
    else:  # a field set to a JSON value
        field, value = how
        doc = json.loads(path.read_text())
        target = doc["layers"][int(field[0])] if isinstance(field, tuple) else doc
        target[field[1] if isinstance(field, tuple) else field] = value
        path.write_text(json.dumps(doc))


DAMAGE = [("build.json", "truncate"), ("build.json", "garbage"), ("build.json", ((0, "lanes"), 0)),
          ("build.json", ("layers", None)), ("build.json", ((0, "lanes"), 99)), ("build.json", ((0, "weights"), "csr")), ("build.json", ("verilog", "../../etc/passwd")),
          ("build.json", ((0, "banks"), 3)), ("build.json", ("layers", [])), ("build.json", ("memory_files", [7])),
          ("network.json", "truncate"), ("network.json", "garbage"), ("network.npz", "truncate"),
          ("network.npz", "garbage"), ("network.json", ("version", 99)), ("network.json", ("input_shape", [0])),
          ("network.json", ("input_shape", None)), ("network.json", ("layers", [])),
          ("network.json", ((0, "weight_bits"), 0)), ("network.json", ((0, "weight_bits"), 2 ** 70)),
          ("network.json", ((0, "current_bits"), 3)), ("network.json", ((0, "accumulator_bits"), None)),
          ("network.json", ((1, "theta"), -5)), ("network.json", ((1, "theta"), 2 ** 50)),
          ("network.json", ((1, "leak_f"), 10 ** 6)), ("network.json", ((1, "membrane_bits"), 99)),
          ("network.json", ((1, "state_bits"), 1)), ("network.json", ((1, "lsb"), "x")),
          ("network.json", ((1, "reset"), "sometimes")), ("network.json", ((1, "shape"), [3])),
          ("network.json", ((1, "kind"), "Pool")), ("network.json", ((1, "extra"), 1)),
          ("rtl_run.json", "garbage"), ("rtl_run.json", ("samples", -1)), ("rtl_run.json", ("cycles_per_inference", "x")),
          ("activity.json", "garbage")]


@pytest.mark.parametrize("name, how", DAMAGE, ids=[f"{n}-{h if isinstance(h, str) else h[0]}" for n, h in DAMAGE])
def test_damaged_build_folders_are_one_line_errors(built, tmp_path, capsys, name, how):
    build = tmp_path / "b"
    assert main(["compile", str(built / "m.onnx"), "--bits", "4", "-o", str(build)]) == 0
    (build / "rtl_run.json").write_text(json.dumps({"simulator": "verilator", "timesteps": 4, "samples": 2,
                                                     "cycles_per_inference": [10, 12], "busy_cycles": {}}))
    assert main(["report", str(build), "--no-synth"]) == 0
    capsys.readouterr()
    damage(build, name, how)
    for argv in (["report", str(build), "--no-synth"],
                 ["simulate", str(build), "--input", str(built / "x.npy"), "--output", str(tmp_path / "y.npy")]):
        code = main(argv)
        if name in ("rtl_run.json", "activity.json") and argv[0] == "simulate":
            assert code == 0  # a golden run does not read the RTL run's record, and writes a new activity
            capsys.readouterr()
        else:
            one_line_error(capsys, code)
