"""The `snnc` command line (SPEC section 4).

Exit status: 0 on success, 1 on a user error (one line on stderr, no traceback), 2 on a usage error.
A BUILD_DIR is written in a temporary folder beside it and moved into place only when complete, and
an existing non-empty folder that snnc did not create is never overwritten.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from snnc.compiler import ir
from snnc.compiler.errors import SnncError
from snnc.compiler.passes import Options, compile_onnx
from snnc.compiler.report import format_report, report_dict
from snnc.sim import golden

BUILD_MARKER = ".snnc-build"
IR_STEM = "network"


@contextlib.contextmanager
def build_dir(path: Path):
    """Yield a fresh temporary folder that replaces `path` if the block succeeds."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise SnncError(f"{path}: exists and is not a folder")
    if path.is_dir() and any(path.iterdir()) and not (path / BUILD_MARKER).exists():
        raise SnncError(f"{path}: folder is not empty and was not created by snnc; choose another -o")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield tmp
        (tmp / BUILD_MARKER).write_text("written by snnc compile\n")
        if path.exists():
            shutil.rmtree(path)
        tmp.rename(path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load_build(build: Path) -> ir.Network:
    if not (Path(build) / f"{IR_STEM}.json").is_file():
        raise SnncError(f"{build}: not an snnc build folder (no {IR_STEM}.json); run snnc compile first")
    return ir.load(Path(build) / IR_STEM)


def load_spikes(path: Path) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise SnncError(f"{path}: no such file")
    try:
        return np.load(path, allow_pickle=False)
    except Exception as e:  # numpy raises ValueError, OSError, EOFError ... for a bad file
        raise SnncError(f"{path}: not a readable .npy array ({type(e).__name__})") from None


def save_atomic(path: Path, array: np.ndarray) -> None:
    """Write a .npy file so that a failure leaves no partial file behind."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent if str(path.parent) else ".")
    try:
        with os.fdopen(fd, "wb") as f:
            np.save(f, array)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cmd_compile(args: argparse.Namespace) -> None:
    if args.board or args.lanes:
        raise SnncError("--board and --lanes need the RTL generator, which is not part of this build yet")
    model = Path(args.model)
    opts = Options(args.bits, args.state_bits, args.state_quant and args.state_quant.replace("-", "_"), args.per_channel)
    net = compile_onnx(model, opts)
    out = Path(args.output or f"{model.stem}_build")
    rep = report_dict(net)
    text = format_report(rep)
    with build_dir(out) as tmp:
        ir.save(net, tmp / IR_STEM)
        (tmp / "report.json").write_text(json.dumps(rep, indent=1) + "\n")
        (tmp / "report.txt").write_text(text)
    print(f"compiled {model} -> {out}/ ({len(net.layers)} layers, "
          f"{rep['weight_memory_bits']} weight bits, {rep['state_memory_bits']} state bits)")
    for note in net.notes:
        print(f"  note: {note}")


def cmd_simulate(args: argparse.Namespace) -> None:
    if args.engine == "rtl":
        raise SnncError("--engine rtl needs the RTL generator, which is not part of this build yet; use --engine golden")
    net = load_build(Path(args.build_dir))
    spikes = load_spikes(Path(args.input))
    out = golden.run(net, spikes)
    out = out.reshape(*out.shape[:2], -1)  # SPEC: [T, B, N_out], also after a conv output layer
    save_atomic(Path(args.output), out)
    counts = out.sum(axis=0)
    print(f"simulated {spikes.shape[1]} samples x {spikes.shape[0]} timesteps (golden) -> {args.output}; "
          f"{int(counts.sum())} output spikes, classes {golden.classify(out).tolist()[:16]}"
          f"{' ...' if spikes.shape[1] > 16 else ''}")


def cmd_report(args: argparse.Namespace) -> None:
    net = load_build(Path(args.build_dir))
    rep = report_dict(net)
    print(json.dumps(rep, indent=1) if args.json else format_report(rep), end="" if not args.json else "\n")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="snnc", description="Compile quantized spiking neural networks (ONNX, snnc "
                                "dialect) into bit-exact fixed-point designs for Artix-7 FPGAs.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    c = sub.add_parser("compile", help="ONNX model -> BUILD_DIR (fixed-point IR + report)",
                       description="Import an snnc-dialect ONNX model, quantize what is not yet integer, put every "
                       "LIF on its integer grid, size every register, and write BUILD_DIR.")
    c.add_argument("model", metavar="MODEL.onnx")
    c.add_argument("--bits", type=int, metavar="N", help="weight width (1 = binary, 2 = ternary, ... 8); weights "
                   "at N bits or fewer stay exact, wider or float ones are quantized (default: keep, floats to 8)")
    c.add_argument("--state-bits", type=int, metavar="N", help="state width for LIFs without levels (default 4; "
                   "with --state-quant none: the clamped register width, default 16)")
    c.add_argument("--state-quant", choices=["none", "uniform", "threshold-centered"],
                   help="state quantization for LIFs that carry no levels (default: the model's state_quant)")
    c.add_argument("--per-channel", action="store_true", help="quantize weights with one scale per output channel")
    c.add_argument("--board", metavar="NAME", help="target board (needs the RTL generator)")
    c.add_argument("--lanes", type=int, metavar="P", help="parallel lanes per layer (needs the RTL generator)")
    c.add_argument("-o", "--output", metavar="BUILD_DIR", help="output folder (default: MODEL_build)")
    c.set_defaults(func=cmd_compile)

    s = sub.add_parser("simulate", help="run a build on spikes from a .npy file",
                       description="Run the compiled network on input spikes [T, B, features] (.npy of bool, "
                       "uint8 or float 0/1) and write the output layer's spikes [T, B, N_out] as uint8 .npy.")
    s.add_argument("build_dir", metavar="BUILD_DIR")
    s.add_argument("--input", required=True, metavar="X.npy")
    s.add_argument("--output", required=True, metavar="Y.npy")
    s.add_argument("--engine", choices=["golden", "rtl"], default="golden", help="golden model or RTL co-simulation")
    s.add_argument("--simulator", choices=["verilator", "icarus"], default="verilator", help="RTL simulator")
    s.set_defaults(func=cmd_simulate)

    r = sub.add_parser("report", help="print a build's report", description="Print the report of BUILD_DIR: "
                       "per-layer weight/accumulator/membrane/state widths, memories and the compiler's notes.")
    r.add_argument("build_dir", metavar="BUILD_DIR")
    r.add_argument("--json", action="store_true", help="print the report as JSON")
    r.set_defaults(func=cmd_report)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except SnncError as e:
        print(f"snnc: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
