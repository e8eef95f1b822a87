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
from snnc.rtl_gen import TOP_NAME, network_verilog
from snnc.rtl_gen.layer_engine import Geometry
from snnc.rtl_gen.synthesis import synthesize
from snnc.sim import golden, rtl

BUILD_MARKER = ".snnc-build"
BUILD_CONFIG = "build.json"
RTL_RUN = "rtl_run.json"
IR_STEM = "network"


def build_report(net: ir.Network, lanes: int, synth: dict | None = None, run: dict | None = None) -> dict:
    """The compiler's report plus the generated design: RAM bits per layer, synthesis, cycles."""
    rep = report_dict(net)
    design = []
    for lif in net.lifs:
        geo = Geometry(net.synapse_of(lif), lanes)
        syn = net.synapse_of(lif)
        design.append({"layer": lif.name, "lanes": geo.lanes, "groups": geo.groups,
                       "state_bits_per_neuron": lif.state_bits, "accumulator_bits": geo.acc_bits,
                       "ram_bits": geo.memory_bits(syn.weight_bits, lif.state_bits)})
    rep["design"] = {"top": TOP_NAME, "lanes": lanes, "layers": design,
                     "ram_bits": {k: sum(d["ram_bits"][k] for d in design) for k in ("weight", "accumulator", "state")}}
    rep["synthesis"] = synth
    if run:
        cyc = run["cycles_per_inference"]
        rep["simulation"] = {**run, "mean_cycles_per_inference": float(np.mean(cyc)),
                             "mean_cycles_per_timestep": float(np.mean(cyc)) / run["timesteps"]}
    return rep


def format_build_report(rep: dict) -> str:
    lines = [format_report(rep).rstrip("\n"), "", f"generated design ({rep['design']['top']}, "
             f"{rep['design']['lanes']} lanes):"]
    for d in rep["design"]["layers"]:
        r = d["ram_bits"]
        lines.append(f"  {d['layer']:<18} {d['groups']} groups x {d['lanes']} lanes, state "
                     f"{d['state_bits_per_neuron']} bits/neuron, RAM bits: weights {r['weight']}, "
                     f"accumulators {r['accumulator']} ({d['accumulator_bits']} b), states {r['state']}")
    total = rep["design"]["ram_bits"]
    lines.append(f"  total RAM bits: weights {total['weight']}, accumulators {total['accumulator']}, "
                 f"states {total['state']}")
    synth = rep.get("synthesis")
    if synth:
        res = synth["resources"]
        lines += ["", f"Artix-7 estimate ({synth['tool']} synth_xilinx -family xc7):",
                  "  " + "  ".join(f"{k} {v}" for k, v in res.items()),
                  f"  longest combinational path: {synth['lut_levels']} LUT levels"]
    sim = rep.get("simulation")
    if sim:
        lines += ["", f"cycles ({sim['simulator']}, {sim['samples']} samples x {sim['timesteps']} timesteps): "
                  f"{sim['mean_cycles_per_inference']:.0f} per inference, {sim['mean_cycles_per_timestep']:.1f} per timestep"]
    return "\n".join(lines) + "\n"


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


def load_build(build: Path) -> tuple[ir.Network, dict]:
    """The IR and the build settings (lanes, Verilog file) of a BUILD_DIR."""
    build = Path(build)
    if not (build / f"{IR_STEM}.json").is_file() or not (build / BUILD_CONFIG).is_file():
        raise SnncError(f"{build}: not an snnc build folder (no {IR_STEM}.json); run snnc compile first")
    return ir.load(build / IR_STEM), json.loads((build / BUILD_CONFIG).read_text())


def load_spikes(path: Path) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise SnncError(f"{path}: no such file")
    try:
        return np.load(path, allow_pickle=False)
    except Exception as e:  # numpy raises ValueError, OSError, EOFError ... for a bad file
        raise SnncError(f"{path}: not a readable .npy array ({type(e).__name__})") from None


def save_json_atomic(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    os.replace(tmp, path)


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
    if args.board:
        raise SnncError("--board needs the board support, which is not part of this build yet")
    if args.lanes < 1:
        raise SnncError(f"--lanes must be at least 1, got {args.lanes}")
    model = Path(args.model)
    opts = Options(args.bits, args.state_bits, args.state_quant and args.state_quant.replace("-", "_"), args.per_channel)
    net = compile_onnx(model, opts)
    out = Path(args.output or f"{model.stem}_build")
    verilog = network_verilog(net, args.lanes)
    config = {"lanes": args.lanes, "top": TOP_NAME, "verilog": f"{TOP_NAME}.v"}
    with build_dir(out) as tmp:
        ir.save(net, tmp / IR_STEM)
        (tmp / config["verilog"]).write_text(verilog)
        (tmp / BUILD_CONFIG).write_text(json.dumps(config, indent=1) + "\n")
        rep = build_report(net, args.lanes)
        (tmp / "report.json").write_text(json.dumps(rep, indent=1) + "\n")
        (tmp / "report.txt").write_text(format_build_report(rep))
    print(f"compiled {model} -> {out}/ ({len(net.layers)} layers, {args.lanes} lanes, "
          f"{rep['weight_memory_bits']} weight bits, {rep['state_memory_bits']} state bits, Verilog {TOP_NAME}.v)")
    for note in net.notes:
        print(f"  note: {note}")


def cmd_simulate(args: argparse.Namespace) -> None:
    build = Path(args.build_dir)
    net, config = load_build(build)
    spikes = load_spikes(Path(args.input))
    if args.engine == "golden":
        out = golden.run(net, spikes)
    else:
        verilog = (build / config["verilog"]).read_text()
        result = rtl.run(net, spikes, config["lanes"], args.simulator, build / "sim", verilog)
        out = result.outputs
        save_json_atomic(build / RTL_RUN, {
            "simulator": args.simulator, "timesteps": int(spikes.shape[0]), "samples": int(spikes.shape[1]),
            "cycles_per_inference": result.cycles.tolist(),
            "busy_cycles": {name: v.tolist() for name, v in result.busy.items()}})
    out = out.reshape(*out.shape[:2], -1)  # SPEC: [T, B, N_out], also after a conv output layer
    save_atomic(Path(args.output), out)
    counts = out.sum(axis=0)
    cycles = f", {int(np.mean(result.cycles))} cycles per inference" if args.engine == "rtl" else ""
    print(f"simulated {spikes.shape[1]} samples x {spikes.shape[0]} timesteps ({args.engine}) -> {args.output}; "
          f"{int(counts.sum())} output spikes{cycles}, classes {golden.classify(out).tolist()[:16]}"
          f"{' ...' if spikes.shape[1] > 16 else ''}")


def cmd_report(args: argparse.Namespace) -> None:
    build = Path(args.build_dir)
    net, config = load_build(build)
    synth = None
    if not args.no_synth:
        cache = build / "synth" / "synth.json"
        if not cache.exists():
            print("synthesizing with Yosys synth_xilinx -family xc7 (cached in BUILD_DIR/synth) ...", file=sys.stderr)
            save_json_atomic(cache, synthesize(build / config["verilog"], build / "synth"))
        synth = json.loads(cache.read_text())
    run = json.loads((build / RTL_RUN).read_text()) if (build / RTL_RUN).exists() else None
    rep = build_report(net, config["lanes"], synth, run)
    print(json.dumps(rep, indent=1) if args.json else format_build_report(rep), end="\n" if args.json else "")


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
    c.add_argument("--board", metavar="NAME", help="target board (arrives with the board support)")
    c.add_argument("--lanes", type=int, default=1, metavar="P", help="parallel neuron lanes per layer: each input "
                   "spike costs ceil(outputs/P) cycles, each timestep's update ceil(neurons/P) (default 1)")
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
                       "per-layer widths and memories, the compiler's notes, the generated design's RAMs, an Artix-7 "
                       "resource estimate (Yosys synth_xilinx, LUT/FF/BRAM/DSP/CARRY4 and LUT levels) and, after "
                       "snnc simulate --engine rtl, the measured cycles per inference.")
    r.add_argument("build_dir", metavar="BUILD_DIR")
    r.add_argument("--json", action="store_true", help="print the report as JSON")
    r.add_argument("--no-synth", action="store_true", help="skip the Yosys synthesis estimate")
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
