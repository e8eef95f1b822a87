"""Nothing lost, nothing silently wrong (docs/spec.md sections 4 and 6): a build folder is what snnc
compile wrote or it is refused (the manifest), files snnc did not write are never deleted, the swap
of an old build for a new one survives a fault between its renames, every input that cannot be right
is one line and exit 1, and one fuzz test per surface (build folder, flags, runtime replies, sweep
points; ONNX and NIR have theirs in test_hostile and test_nir) holds that to random cases."""
import json
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from netgen import float_mlp_model
from snnc.cli import main
from snnc.compiler import build_folder
from snnc.compiler import host_protocol as hp
from snnc.compiler.errors import SnncError
from snnc.compiler.files import read_json
from snnc.runtime import LinkError
from snnc.runtime.protocol import HostProtocol, crc16
from snnc.sim import golden

SNNC = [sys.executable, "-m", "snnc.entry"]
ROOT = Path(__file__).resolve().parents[1]  # where snnc's own source files are


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("integrity")
    float_mlp_model(root / "m.onnx", np.random.default_rng(0))
    np.save(root / "x.npy", (np.random.default_rng(1).random((4, 2, 24)) < 0.4).astype(np.uint8))
    return root


def compile_to(root, out, *flags):
    return main(["compile", str(root / "m.onnx"), "--bits", "4", "-o", str(out), *flags])


def one_line_error(capsys, code, *words):
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1 and err.startswith("snnc: error: "), err
    for w in words:
        assert w in err, (w, err)
    return err


def runs(root, build, tmp_path):
    """Each command that reads a build: simulate (golden), report, run --sim --engine golden."""
    y = str(tmp_path / "y.npy")
    return [["simulate", str(build), "--input", str(root / "x.npy"), "--output", y],
            ["report", str(build), "--no-synth"],
            ["run", str(build), "--input", str(root / "x.npy"), "--output", y, "--sim", "--engine", "golden"]]


# --- 1. the manifest ---------------------------------------------------------------------------------

def test_manifest_lists_every_file_compile_wrote(root, tmp_path):
    build = tmp_path / "b"
    assert compile_to(root, build, "--board", "arty-a7-35") == 0
    listed = read_json(build / build_folder.MANIFEST)["files"]
    on_disk = {p.relative_to(build).as_posix() for p in build.rglob("*") if p.is_file()} - {build_folder.MANIFEST}
    assert set(listed) == on_disk and {"build.json", "network.json", "network.npz", "snnc_top.v",
                                       "layer0_weights.mem", "vivado/snnc_board.v"} <= on_disk


MEM_DAMAGE = {"cut in half": lambda b: b[: len(b) // 2], "zz": lambda b: b.replace(b"0", b"z"),
              "ffffffff": lambda b: b"ffffffff\n" * b.count(b"\n"), "zeroed": lambda b: b"0" * (len(b) - 1) + b"\n"}


@pytest.mark.parametrize("how", sorted(MEM_DAMAGE))
def test_a_damaged_weight_image_is_refused_by_every_run(root, tmp_path, capsys, how):
    build = tmp_path / "b"
    assert compile_to(root, build) == 0
    mem = build / "layer0_weights.mem"
    mem.write_bytes(MEM_DAMAGE[how](mem.read_bytes()))
    for argv in [*runs(root, build, tmp_path), ["simulate", str(build), "--input", str(root / "x.npy"), "--output",
                                                str(tmp_path / "y.npy"), "--engine", "rtl"]]:
        one_line_error(capsys, main(argv), "layer0_weights.mem", "changed since snnc compile wrote it")
    assert not (tmp_path / "y.npy").exists()


def test_an_in_range_edit_of_the_ir_is_refused(root, tmp_path, capsys):
    build = tmp_path / "b"
    assert compile_to(root, build) == 0
    doc = json.loads((build / "network.json").read_text())
    lif = next(layer for layer in doc["layers"] if layer["kind"] == "LIF")
    lif["theta"] += 1  # a valid network, but not the one compiled
    (build / "network.json").write_text(json.dumps(doc, indent=1))
    for argv in runs(root, build, tmp_path):
        one_line_error(capsys, main(argv), "network.json", "changed since snnc compile wrote it")


@pytest.mark.parametrize("name", ["snnc_top.v", "network.npz", "build.json", "manifest.json"])
def test_missing_files_are_refused(root, tmp_path, capsys, name):
    build = tmp_path / "b"
    assert compile_to(root, build) == 0
    (build / name).unlink()
    for argv in runs(root, build, tmp_path):
        one_line_error(capsys, main(argv), name if name != "manifest.json" else "no manifest.json")


def test_a_truncated_verilog_file_is_refused_for_rtl_and_report(root, tmp_path, capsys):
    build = tmp_path / "b"
    assert compile_to(root, build) == 0
    (build / "snnc_top.v").write_text((build / "snnc_top.v").read_text()[:1000])
    for argv in (["report", str(build)], ["simulate", str(build), "--input", str(root / "x.npy"), "--output",
                                           str(tmp_path / "y.npy"), "--engine", "rtl"]):
        one_line_error(capsys, main(argv), "snnc_top.v")


@pytest.mark.parametrize("name", ["network.npz", "network.json", "build.json", "manifest.json", "activity.json",
                                  "rtl_run.json"])
@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_non_files_in_a_build_are_refused_at_once(root, tmp_path, name, kind):
    build = tmp_path / "b"
    assert compile_to(root, build) == 0
    (build / name).unlink(missing_ok=True)
    os.mkfifo(build / name) if kind == "fifo" else (build / name).mkdir()
    for argv in runs(root, build, tmp_path)[1:2] + runs(root, build, tmp_path)[:1]:
        done = subprocess.run([*SNNC, *argv], capture_output=True, text=True, timeout=60)  # a hang fails here
        if name in ("activity.json", "rtl_run.json") and argv[0] == "simulate":
            continue  # a golden run reads neither
        assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert name in done.stderr and ("not a regular file" in done.stderr or "missing" in done.stderr)


@pytest.mark.parametrize("name", ["sim", "synth"])
def test_a_file_in_place_of_a_record_folder_is_one_line(root, tmp_path, capsys, name):
    build = tmp_path / "b"
    assert compile_to(root, build) == 0
    (build / name).write_text("not a folder")
    argv = ["report", str(build)] if name == "synth" else \
        ["simulate", str(build), "--input", str(root / "x.npy"), "--output", str(tmp_path / "y.npy"), "--engine", "rtl"]
    one_line_error(capsys, main(argv), f"{name}: not a folder")


def test_deeply_nested_json_is_one_line(root, tmp_path, capsys):
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(SnncError, match="not readable JSON"):
        read_json(tmp_path / "deep.json")
    build = tmp_path / "b"
    assert compile_to(root, build) == 0
    (build / "activity.json").write_text("{\"engine\": " + "[" * 100_000 + "]" * 100_000 + "}")
    one_line_error(capsys, main(["report", str(build), "--no-synth"]), "activity.json")


def test_activity_with_zero_counts_is_one_line(root, tmp_path, capsys):
    build = tmp_path / "b"
    assert compile_to(root, build) == 0
    assert main(runs(root, build, tmp_path)[0]) == 0
    doc = json.loads((build / "activity.json").read_text())
    doc["activity"].update(timesteps=0, cycles=0)
    (build / "activity.json").write_text(json.dumps(doc))
    one_line_error(capsys, main(["report", str(build), "--no-synth"]), "activity.json")


# --- 2. never delete what snnc did not write ------------------------------------------------------------

def test_a_users_files_in_a_build_are_refused_then_kept_with_force(root, tmp_path, capsys):
    build = tmp_path / "b"
    assert compile_to(root, build) == 0
    (build / "notes.txt").write_text("my notes")
    (build / "results").mkdir()
    (build / "results" / "run1.npy").write_bytes(b"data")
    (build / "m.onnx").write_bytes((root / "m.onnx").read_bytes())
    before = (build / "manifest.json").read_bytes()
    one_line_error(capsys, compile_to(root, build, "--bits", "3"), "snnc did not write", "--force")
    assert (build / "manifest.json").read_bytes() == before  # the old build untouched
    capsys.readouterr()
    # the model inside the folder, compiled into it with --force
    assert main(["compile", str(build / "m.onnx"), "--bits", "3", "-o", str(build), "--force"]) == 0
    assert (build / "notes.txt").read_text() == "my notes" and (build / "results" / "run1.npy").read_bytes() == b"data"
    assert (build / "manifest.json").read_bytes() != before and main(runs(root, build, tmp_path)[0]) == 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_build_of_snnc_before_manifests_is_replaced_whole(root, tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    for name in (".snnc-build", "build.json", "network.json", "snnc_top.v"):
        (old / name).write_text("from an earlier snnc\n")
    assert compile_to(root, old) == 0 and not (old / ".snnc-build").exists() and build_folder.load(old)


def test_a_users_folder_is_built_into_with_force_and_clashes_are_refused(root, tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    assert compile_to(root, mine, "--force") == 0
    assert (mine / "thesis.tex").read_text() == "precious" and build_folder.load(mine)
    other = tmp_path / "other"
    other.mkdir()
    (other / "build.json").write_text("{\"mine\": 1}")  # a name the build writes too
    one_line_error(capsys, compile_to(root, other, "--force"), "build.json", "move it away")
    assert (other / "build.json").read_text() == "{\"mine\": 1}" and len(list(other.iterdir())) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "other"]  # no temporary left


@pytest.mark.parametrize("failing", [1, 2, 3])
def test_a_fault_between_the_renames_puts_the_old_build_back(root, tmp_path, capsys, monkeypatch, failing):
    """Fault injection: the failing-th rename of the swap raises (1: a kept file moved in, 2: the old
    build moved aside, 3: the new build moved in); the old build and the user's file are as before."""
    build = tmp_path / "b"
    assert compile_to(root, build) == 0
    (build / "notes.txt").write_text("keep me")
    before = {p.name: p.read_bytes() for p in build.iterdir()}
    calls, rename = [], os.rename

    def faulty(src, dst):
        calls.append(src)
        if len(calls) == failing:
            raise KeyboardInterrupt if failing == 3 else OSError(5, "Input/output error")
        rename(src, dst)

    monkeypatch.setattr(build_folder.os, "rename", faulty)
    code = compile_to(root, build, "--bits", "3", "--force")
    assert code == (130 if failing == 3 else 1)
    monkeypatch.undo()
    capsys.readouterr()
    assert {p.name: p.read_bytes() for p in build.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]  # no temporary left behind
    assert main(runs(root, build, tmp_path)[0]) == 0


def test_a_failed_undo_never_deletes_the_users_files(root, tmp_path, capsys, monkeypatch):
    """The swap fails moving the old build aside, and the undo fails too: the user's file, already
    moved into the new build, stays there and the one-line error says where."""
    build = tmp_path / "b"
    assert compile_to(root, build) == 0
    (build / "notes.txt").write_text("keep me")
    calls, rename = [], os.rename

    def faulty(src, dst):
        calls.append(src)
        if len(calls) in (2, 3):
            raise OSError(5, "Input/output error")
        rename(src, dst)

    monkeypatch.setattr(build_folder.os, "rename", faulty)
    err = one_line_error(capsys, compile_to(root, build, "--bits", "3", "--force"), "notes.txt", "could not be put back")
    monkeypatch.undo()
    kept = [p for p in tmp_path.glob(".snnc-new-*/notes.txt")]
    assert len(kept) == 1 and kept[0].read_text() == "keep me" and str(kept[0].parent) in err


SWAP_INTERRUPTED = """
import os, signal, sys, threading
from snnc.cli import main

signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C's handler even if SIGINT was ignored before

model, build = sys.argv[1:]
assert main(["compile", model, "--bits", "4", "-o", build]) == 0
rename, sent = os.rename, []

def interrupting(src, dst):  # SIGINT to this thread as the first rename of the swap begins
    if not sent:
        sent.append(signal.pthread_kill(threading.get_ident(), signal.SIGINT))
    rename(src, dst)

os.rename = interrupting
sys.exit(main(["compile", model, "--bits", "3", "-o", build]))
"""


def test_a_signal_during_the_swap_waits_for_it(root, tmp_path):
    """SIGINT delivered between the renames arrives after them: the new build is whole in place.  In a
    process of its own, with Ctrl-C's handler: a test run started in the background (make test &)
    ignores SIGINT, and its processes inherit that."""
    build = tmp_path / "b"
    done = subprocess.run([sys.executable, "-c", SWAP_INTERRUPTED, str(root / "m.onnx"), str(build)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 130 and done.stderr.strip() == "snnc: interrupted", done.stderr[-2000:]
    assert json.loads((build / "network.json").read_text())["layers"][0]["weight_bits"] == 3
    assert build_folder.load(build) and sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def test_output_symlinks_are_followed(root, tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert compile_to(root, tmp_path / "link") == 0 and compile_to(root, tmp_path / "link") == 0
    assert (tmp_path / "link").is_symlink() and build_folder.load(tmp_path / "real")
    (tmp_path / "dangling").symlink_to(tmp_path / "made" / "here")
    assert compile_to(root, tmp_path / "dangling") == 0
    assert (tmp_path / "dangling").is_symlink() and build_folder.load(tmp_path / "made" / "here")


def test_impossible_output_names_are_one_line(root, tmp_path, capsys, monkeypatch):
    one_line_error(capsys, compile_to(root, tmp_path / ("x" * 300)), "too long")
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    for where in (".", str(tmp_path)):
        one_line_error(capsys, compile_to(root, where, "--force"), "current folder")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "work").rmdir()
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    one_line_error(capsys, compile_to(root, tmp_path / "loop"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loop"]


def test_simulate_refuses_a_loop_of_links(root, tmp_path, capsys):
    build = tmp_path / "b"
    assert compile_to(root, build) == 0
    (tmp_path / "l1").symlink_to(tmp_path / "l2")
    (tmp_path / "l2").symlink_to(tmp_path / "l1")
    one_line_error(capsys, main(["simulate", str(build), "--input", str(root / "x.npy"), "--output",
                                 str(tmp_path / "l1")]), "symbolic links")
    assert (tmp_path / "l1").is_symlink() and (tmp_path / "l2").is_symlink()


def test_an_output_name_of_250_bytes_is_written(root, tmp_path, capsys):
    build, out = tmp_path / "b", tmp_path / ("y" * 250)
    assert compile_to(root, build) == 0
    assert main(["simulate", str(build), "--input", str(root / "x.npy"), "--output", str(out)]) == 0
    assert np.load(out).shape == (4, 2, 5) and sorted(p.name for p in tmp_path.iterdir()) == ["b", out.name]


def test_simulate_writes_through_a_named_pipe(root, tmp_path, capsys):
    build = tmp_path / "b"
    assert compile_to(root, build) == 0
    os.mkfifo(tmp_path / "pipe")
    reader = subprocess.Popen(["cat", str(tmp_path / "pipe")], stdout=subprocess.PIPE)
    assert main(["simulate", str(build), "--input", str(root / "x.npy"), "--output", str(tmp_path / "pipe")]) == 0
    received = reader.communicate(timeout=30)[0]
    (tmp_path / "got.npy").write_bytes(received)
    assert np.load(tmp_path / "got.npy").shape == (4, 2, 5)


# --- 3, 6. one line for each bad input; flags mean what they say ------------------------------------------

@pytest.mark.parametrize("flags, words", [
    (["--spike-rate", "0.1"], ["--spike-rate", "--lanes auto"]),
    (["--sample", "x.npy"], ["--sample", "--lanes auto"]),
    (["--lanes", "4", "--spike-rate", "nan"], ["--lanes auto"]),
    (["--board", ""], ["unknown board ''"]),
    (["--baud", "9600"], ["--baud", "--board"]),
    (["--dt", "1e-3"], ["--dt"]),
])
def test_flags_without_their_partner_are_refused(root, tmp_path, capsys, flags, words):
    one_line_error(capsys, compile_to(root, tmp_path / "b", *flags), *words)
    assert not (tmp_path / "b").exists()


def test_golden_refuses_what_the_rtl_cannot_count(root, tmp_path, capsys):
    build = tmp_path / "b"
    assert compile_to(root, build) == 0
    np.save(tmp_path / "long.npy", np.zeros((1 << 16, 1, 24), np.uint8))
    one_line_error(capsys, main(["simulate", str(build), "--input", str(tmp_path / "long.npy"), "--output",
                                 str(tmp_path / "y.npy")]), "65536 timesteps", "65535")


def test_complex_spikes_are_refused():
    with pytest.raises(SnncError, match="complex"):
        golden.check_spikes(np.ones((2, 1, 3), np.complex64), (3,))


def test_a_conv_build_takes_flat_or_shaped_inputs():
    x = (np.random.default_rng(0).random((4, 2, 18)) < 0.5).astype(np.uint8)
    np.testing.assert_array_equal(golden.check_spikes(x, (2, 3, 3)), x.reshape(4, 2, 2, 3, 3))
    with pytest.raises(SnncError, match=r"\[T, B, 2, 3, 3\] or \[T, B, 18\]"):
        golden.check_spikes(x[..., :17], (2, 3, 3))


def test_invalid_utf8_in_an_op_type_is_one_line(root, tmp_path, capsys):
    raw = (root / "m.onnx").read_bytes()
    for needle in (b"MatMul", b"Scan"):
        at = raw.find(needle)
        (tmp_path / "bad.onnx").write_bytes(raw[:at] + b"\xff\xfe" + raw[at + 2:])
        one_line_error(capsys, main(["compile", str(tmp_path / "bad.onnx"), "-o", str(tmp_path / "b")]), "UTF-8")
        assert not (tmp_path / "b").exists()


def test_ctrl_c_in_the_first_second_is_one_line(root, tmp_path):
    reached = 0  # runs whose Ctrl-C came once snnc's own code ran
    for i, delay in enumerate((0.05, 0.15, 0.3, 0.5, 0.8)):
        proc = subprocess.Popen([*SNNC, "compile", str(root / "m.onnx"), "-o", str(tmp_path / f"b{i}")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as a terminal's
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        err = proc.communicate(timeout=60)[1]
        own = [line for line in err.splitlines()  # frames of snnc's source, not of a .venv inside the checkout
               if line.strip().startswith(f'File "{ROOT}') and f"{ROOT / '.venv'}" not in line]
        if ("Traceback" in err or "Fatal Python error" in err) and not own:
            continue  # the signal came during Python's own start-up, before a line of snnc ran: none can catch it
        assert proc.returncode in (0, 130, -signal.SIGINT), (delay, err)
        assert "Traceback" not in err and "Warning" not in err and len(err.strip().splitlines()) <= 1, (delay, err)
        assert proc.returncode != 130 or err.strip() == "snnc: interrupted"
        reached += 1
    assert reached >= 2 and all(not p.name.startswith(".") for p in tmp_path.iterdir())


# --- 7. fuzz: build folders, flags, runtime replies -------------------------------------------------------

def test_fuzzed_build_folders_are_refused_or_exact(root, tmp_path, capsys):
    """Random edits (bytes flipped, cut, appended) of random files of a build: every run is a one-line
    error, or the file was one no run reads and the output equals the golden model's."""
    build = tmp_path / "b"
    assert compile_to(root, build) == 0
    want = golden.run(build_folder.load(build)[0], np.load(root / "x.npy"))
    pristine = {p: p.read_bytes() for p in build.rglob("*") if p.is_file()}
    rng = random.Random(0)
    for case in range(40):
        path = rng.choice(sorted(pristine))
        data = bytearray(pristine[path])
        edit = rng.choice(["flip", "cut", "append"])
        if edit == "flip":
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        elif edit == "cut":
            del data[rng.randrange(len(data)):]
        else:
            data += b"\n0\n"
        path.write_bytes(bytes(data))
        capsys.readouterr()
        code = main(runs(root, build, tmp_path)[0])
        if code == 0:
            assert np.array_equal(np.load(tmp_path / "y.npy").reshape(want.shape), want), (case, path.name, edit)
        else:
            one_line_error(capsys, code, path.name)
        path.write_bytes(pristine[path])


def test_fuzzed_flags_end_as_a_design_or_one_line(root, tmp_path, capsys):
    values = ["0", "-1", "1", "4", "nan", "inf", "1e400", "", "auto", "x", "64:2,5:1", "0.1", str(root / "x.npy")]
    flags = ["--bits", "--state-bits", "--lanes", "--board", "--baud", "--max-luts", "--max-latency-us",
             "--spike-rate", "--sample", "--accumulators", "--weights", "--dt", "--state-quant"]
    rng = random.Random(1)
    for case in range(30):
        argv = ["compile", str(root / "m.onnx"), "-o", str(tmp_path / "b")]
        for flag in rng.sample(flags, rng.randint(1, 3)):
            argv += [flag, rng.choice(values)]
        code = exit_status(argv)
        out, err = capsys.readouterr()
        assert code in (0, 1, 2), (argv, code)
        if code == 1:
            assert len(err.strip().splitlines()) == 1 and err.startswith("snnc: error: "), (argv, err)
        if code == 2:
            assert "Traceback" not in err and "error:" in err.strip().splitlines()[-1], (argv, err)
        assert sorted(p.name for p in tmp_path.iterdir()) == (["b"] if code == 0 else []), argv  # nothing else written
        if code == 0:
            build_folder.load(tmp_path / "b")
            shutil.rmtree(tmp_path / "b")


def exit_status(argv: list[str]) -> int:
    """`main`'s status, or argparse's (it exits with 2 on a usage error)."""
    try:
        return main(argv)
    except SystemExit as e:
        return e.code


class ScriptedLink:
    """A link whose board answers each request with the next scripted bytes."""
    latency_s = 0.0

    def __init__(self, replies):
        self.replies, self.pending = list(replies), b""

    def write(self, data):
        self.pending += self.replies.pop(0) if self.replies else b""

    def read(self, n, timeout_s):
        data, self.pending = self.pending[:n], self.pending[n:]
        return data

    def close(self):
        pass


def reply(status: int, words) -> bytes:
    body = struct.pack("<BH", status, 2 * len(words)) + struct.pack(f"<{len(words)}H", *words)
    return bytes([hp.SYNC_REPLY]) + body + struct.pack("<H", crc16(body))


def test_a_valid_reply_of_the_wrong_length_is_a_link_error():
    for words in ([1, 2, 3], [1, 2, 3, 4, 5], []):
        with pytest.raises(LinkError, match="words, expected 4"):
            HostProtocol(ScriptedLink([reply(hp.STATUS_OK, words)]), 3_000_000, retries=0).transact(hp.CMD_RUN, [1, 2], 4)
    assert HostProtocol(ScriptedLink([reply(hp.STATUS_OK, [1, 2, 3, 4])]), 3_000_000).transact(hp.CMD_RUN, [], 4) == \
        [1, 2, 3, 4]


def test_fuzzed_replies_are_words_or_link_errors():
    rng = random.Random(2)
    for case in range(300):
        n = rng.randint(0, 6)
        good = reply(rng.choice([hp.STATUS_OK, hp.STATUS_OK, hp.STATUS_BAD_COMMAND]), [rng.randrange(1 << 16)
                                                                                     for _ in range(rng.randint(0, 8))])
        data = bytearray(good if rng.random() < 0.7 else bytes(rng.randrange(256) for _ in range(rng.randint(0, 30))))
        for _ in range(rng.randint(0, 2)):
            if data:
                data[rng.randrange(len(data))] = rng.randrange(256)
        proto = HostProtocol(ScriptedLink([bytes(data)] * 2), 3_000_000, retries=1)
        try:
            words = proto.transact(hp.CMD_READ, [], n)
        except LinkError:
            continue
        assert len(words) == n and all(0 <= w < 1 << 16 for w in words), case


def test_fuzzed_boards_are_answers_or_link_errors(root, tmp_path):
    """A board that answers IDENT as this design (magic, version, hash) with random buffers, then
    every command with a frame of random words (valid CRC): Device.run returns spikes of the right
    shape or raises SnncError (LinkError), never another exception and never a hang."""
    from snnc.runtime import Device

    build = tmp_path / "b"
    assert compile_to(root, build, "--board", "arty-a7-35") == 0
    net, settings = build_folder.load(build)
    x = np.load(root / "x.npy")
    rng = random.Random(4)
    ident = lambda: [hp.MAGIC, hp.PROTOCOL_VERSION, settings.identity & 0xFFFF, settings.identity >> 16, 24, 5,
                     rng.choice([0, 1, 7, 4096]), rng.choice([0, 1, 4096]), rng.choice([0, 3, 5, 512]), 1]
    for case in range(60):
        replies = [reply(hp.STATUS_OK, ident())] + [
            reply(rng.choice([hp.STATUS_OK] * 4 + [hp.STATUS_BAD_ARGUMENT]),
                  [rng.randrange(1 << 16) if rng.random() < 0.5 else rng.randrange(8) for _ in range(rng.randint(0, 8))])
            for _ in range(40)]
        try:
            with Device(net, settings, ScriptedLink(replies)) as device:
                out, _ = device.run(x)
        except SnncError:
            continue
        assert out.shape == (4, 2, 5) and out.dtype == np.uint8, case


# --- sweep points -------------------------------------------------------------------------------------

def numpy_rows(point):
    """An evaluate() as users write one: numpy scalars in its rows; an object where the point says so."""
    if point.get("bad"):
        return [{"accuracy": object()}]
    return [{"accuracy": np.float32(point["x"]) / 4, "cycles": np.int64(7), "lanes": np.arange(2)}]


def test_sweep_points_convert_numpy_and_refuse_what_json_cannot_hold(tmp_path):
    from snnc.sweep import plain_json, point_key, run

    assert plain_json({"a": np.int64(3), "b": [np.float32(0.5)]}, "p") == {"a": 3, "b": [0.5]}
    for bad in ([None], [{"x": float("nan")}], [{"x": object()}], "not a list"):
        with pytest.raises(SnncError):
            run(bad, numpy_rows, tmp_path / "store", workers=1, progress=False)
    (tmp_path / "store").mkdir(exist_ok=True)
    (tmp_path / "store" / f"{point_key({'x': 9})}.json").mkdir()
    with pytest.raises(SnncError, match="not a regular file"):
        run([{"x": 9}], numpy_rows, tmp_path / "store", workers=1, progress=False)
    points = [{"x": np.int64(i)} for i in range(3)] + [{"x": 3, "bad": True}]
    with pytest.raises(SnncError, match=r"accuracy.*not a JSON value.*1 of 4 points not stored"):
        run(points, numpy_rows, tmp_path / "store", workers=1, progress=False)
    stored = {p.name for p in (tmp_path / "store").glob("*.json") if p.is_file()}
    assert stored == {f"{point_key({'x': i})}.json" for i in range(3)}  # each finished point kept
    rows = run(points[:3], numpy_rows, tmp_path / "store", workers=1, progress=False)  # read back, no work
    assert [r["accuracy"] for r in rows] == [0.0, 0.25, 0.5] and rows[0]["lanes"] == [0, 1]
