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

from snnc import boards
from snnc.compiler import ir
from snnc.compiler.errors import SnncError
from snnc.compiler.passes import Options, compile_onnx
from snnc.compiler.report import format_report, report_dict
from snnc.rtl_gen import BOARD_TOP_NAME, TOP_NAME, BoardCore, board_verilog, network_verilog
from snnc.rtl_gen.board_core import uart_divisor
from snnc.rtl_gen.host_protocol import design_hash
from snnc.rtl_gen.layer_engine import Geometry
from snnc.rtl_gen.synthesis import synthesize
from snnc.sim import golden, rtl

BUILD_MARKER = ".snnc-build"
BOARD_FILES = "vivado"
BUILD_CONFIG = "build.json"
RTL_RUN = "rtl_run.json"
IR_STEM = "network"


def build_report(net: ir.Network, lanes: int, synth: dict | None = None, run: dict | None = None,
                 board: str | None = None) -> dict:
    """The compiler's report plus the generated design: RAM bits per layer, synthesis (and the
    board's utilisation in percent of its part), cycles."""
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
    if board:
        b = boards.get_board(board)
        rep["board"] = {"name": b.name, "part": b.part, "clock_hz": b.clock_hz,
                        "utilisation": utilisation(synth["resources"], b) if synth else None}
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
    board = rep.get("board")
    if board and board["utilisation"]:
        lines += [f"  {board['name']} ({board['part']}): " + ", ".join(
            f"{k} {u['used']:g}/{u['available']} ({u['percent']:.1f}%)" for k, u in board["utilisation"].items())]
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
    board = boards.get_board(args.board) if args.board else None
    if board:
        uart_divisor(board.clock_hz, args.baud)  # a rate the board's clock cannot make fails before any work
    if args.lanes < 1:
        raise SnncError(f"--lanes must be at least 1, got {args.lanes}")
    if args.synth and not board:
        raise SnncError("--synth runs Vivado on a board build: give --board NAME")
    if args.synth and shutil.which("vivado") is None:
        raise SnncError("--synth needs Vivado: 'vivado' is not on PATH (leave --synth out to write the script only)")
    model = Path(args.model)
    opts = Options(args.bits, args.state_bits, args.state_quant and args.state_quant.replace("-", "_"), args.per_channel)
    net = compile_onnx(model, opts)
    out = Path(args.output or f"{model.stem}_build")
    verilog = network_verilog(net, args.lanes)
    config = {"lanes": args.lanes, "top": TOP_NAME, "verilog": f"{TOP_NAME}.v"}
    core = None
    if board:
        identity = design_hash(ir.fingerprint(net), args.lanes)
        core = BoardCore(net, args.lanes, board.clock_hz, args.baud, identity)
        config.update(board=board.name, part=board.part, clk_hz=board.clock_hz, baud=args.baud, identity=identity,
                      board_verilog=f"{BOARD_TOP_NAME}.v", board_files=BOARD_FILES)
    with build_dir(out) as tmp:
        ir.save(net, tmp / IR_STEM)
        (tmp / config["verilog"]).write_text(verilog)
        if board:
            (tmp / config["board_verilog"]).write_text(board_verilog(net, args.lanes, board.clock_hz, args.baud,
                                                                      config["identity"]))
            boards.write_board_build(board, core, tmp / BOARD_FILES)
            if args.synth:
                boards.run_vivado(tmp / BOARD_FILES)
        (tmp / BUILD_CONFIG).write_text(json.dumps(config, indent=1) + "\n")
        rep = build_report(net, args.lanes)
        (tmp / "report.json").write_text(json.dumps(rep, indent=1) + "\n")
        (tmp / "report.txt").write_text(format_build_report(rep))
    print(f"compiled {model} -> {out}/ ({len(net.layers)} layers, {args.lanes} lanes, "
          f"{rep['weight_memory_bits']} weight bits, {rep['state_memory_bits']} state bits, Verilog {TOP_NAME}.v)")
    if board:
        print(f"  board {board.name} ({board.part}, {board.clock_hz / 1e6:g} MHz, UART {args.baud} baud, design "
              f"{config['identity']:08x}): Vivado project in {out}/{BOARD_FILES}/ (sh build_{boards.PLATFORM_TOP}.sh)"
              + (", bitstream built" if args.synth else ""))
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


def synthesis_of(build: Path, config: dict) -> dict:
    """Yosys' estimate of the build's design (the whole board core, UART included, for a board
    build; the network otherwise), cached in BUILD_DIR/synth."""
    cache = build / "synth" / "synth.json"
    if not cache.exists():
        top = BOARD_TOP_NAME if "board" in config else TOP_NAME
        print(f"synthesizing {top} with Yosys synth_xilinx -family xc7 (cached in BUILD_DIR/synth) ...", file=sys.stderr)
        save_json_atomic(cache, synthesize(build / config.get("board_verilog", config["verilog"]), build / "synth", top))
    return json.loads(cache.read_text())


def utilisation(resources: dict, board: boards.Board) -> dict:
    """Percent of the board's part: LUTs (logic and LUTRAM), FFs, block RAM (36 Kb units), DSPs."""
    part = board.resources
    used = {"LUT": resources["LUT"] + resources.get("LUTRAM", 0), "FF": resources["FF"],
            "BRAM36": resources["BRAM36"] + resources["BRAM18"] / 2, "DSP": resources["DSP48"]}
    return {k: {"used": used[k], "available": part[k], "percent": round(100 * used[k] / part[k], 2)} for k in used}


def cmd_report(args: argparse.Namespace) -> None:
    build = Path(args.build_dir)
    net, config = load_build(build)
    synth = None if args.no_synth else synthesis_of(build, config)
    run = json.loads((build / RTL_RUN).read_text()) if (build / RTL_RUN).exists() else None
    rep = build_report(net, config["lanes"], synth, run, config.get("board"))
    print(json.dumps(rep, indent=1) if args.json else format_build_report(rep), end="\n" if args.json else "")


def cmd_run(args: argparse.Namespace) -> None:
    from snnc.runtime import Device

    build = Path(args.build_dir)
    load_build(build)
    spikes = load_spikes(Path(args.input))
    if args.port:
        device = Device.serial(build, args.port)
    elif args.engine == "golden":
        device = Device.golden(build)
    else:
        device = Device.simulated(build, args.simulator)
    with device:
        out, cycles = device.run(spikes, progress=progress_bar("samples"))
    save_atomic(Path(args.output), out)
    where = args.port or ("simulated board" if args.engine == "rtl" else "golden model")
    measured = [c for c in cycles if c is not None]
    cyc = f", {np.mean(measured):.0f} cycles per inference" if measured else ""
    print(f"ran {out.shape[1]} samples x {out.shape[0]} timesteps on the {where} -> {args.output}; "
          f"{int(out.sum())} output spikes{cyc}, classes {golden.classify(out).tolist()[:16]}"
          f"{' ...' if out.shape[1] > 16 else ''}")


def progress_bar(unit: str):
    """tqdm over a range when tqdm is installed (the [train] extra) and stderr is a terminal."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return lambda it: tqdm(it, unit=unit, disable=not sys.stderr.isatty())


def cmd_boards(args: argparse.Namespace) -> None:
    rows = [("name", "part", "clock", "UART rx/tx", "LEDs", "reset", "board")]
    for b in boards.BOARDS.values():
        res, rx, tx = b.uart
        leds = b.leds()
        rows.append((b.name, b.part, f"{b.clock_hz / 1e6:g} MHz", f"{b.pins(res, 0, rx)[0]}/{b.pins(res, 0, tx)[0]}",
                     f"{len(leds)} ({' '.join(leds[:4])}{' ...' if len(leds) > 4 else ''})", b.reset_pin() or "-",
                     b.title))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())


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
    c.add_argument("--board", metavar="NAME", help="target board (see snnc boards): adds the board core (UART, host "
                   "protocol) and the Vivado project (Verilog, XDC, build script) in BUILD_DIR/vivado")
    c.add_argument("--baud", type=int, default=115200, metavar="RATE", help="UART baud rate of a board build "
                   "(default 115200, up to 3000000 on a 100 MHz board)")
    c.add_argument("--synth", action="store_true", help="with --board and vivado on PATH: build the bitstream")
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

    u = sub.add_parser("run", help="run a board build on the board or the simulated board",
                       description="Send input spikes [T, B, features] (.npy) to a board build over its UART, one "
                       "sample at a time (load, run T timesteps, read spikes, counts and cycles), and write the "
                       "output spikes [T, B, N_out] as uint8 .npy.  --port talks to a board programmed with the "
                       "build's bitstream; --sim runs the same board core (UART included) in Verilator, or the "
                       "golden model with --engine golden.  The board's identity word must match the build.")
    u.add_argument("build_dir", metavar="BUILD_DIR")
    u.add_argument("--input", required=True, metavar="X.npy")
    u.add_argument("--output", required=True, metavar="Y.npy")
    where = u.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", metavar="DEVICE", help="serial port of the board (/dev/ttyUSB1, COM4, ...)")
    where.add_argument("--sim", action="store_true", help="the simulated board")
    u.add_argument("--engine", choices=["rtl", "golden"], default="rtl", help="with --sim: the board core in RTL "
                   "simulation (default) or the golden model")
    u.add_argument("--simulator", choices=["verilator", "icarus"], default="verilator", help="RTL simulator for --sim")
    u.set_defaults(func=cmd_run)

    b = sub.add_parser("boards", help="list the supported boards", description="List the Artix-7 boards snnc "
                       "builds for: name (for --board), part, clock, UART pins (FPGA rx/tx), LEDs and reset.")
    b.set_defaults(func=cmd_boards)
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
