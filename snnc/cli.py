"""The `snnc` command line (docs/spec.md section 4): parses arguments, calls the build library
(`snnc.build`), prints, and maps errors to exit codes: 0 on success, 1 on a user error (one line on
stderr, no traceback), 2 on a usage error, 130 when interrupted (snnc.interrupt)."""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from snnc.compiler import build_folder, files
from snnc.compiler.errors import SnncError
from snnc.compiler.layer_impl import lanes_text, parse_lanes
from snnc.compiler.host_protocol import DEFAULT_BAUD
from snnc.interrupt import interrupted
from snnc.progress import progress_bar, progress_meter
from snnc.sim import golden


def _summary(build: Path, out: np.ndarray, classify_by: str) -> str:
    """What the output holds and its classes: spikes, or a readout's membranes and their scale."""
    net, _ = build_folder.load(build)
    classes = golden.classify(out, classify_by).tolist()
    lif = net.lifs[-1]
    what = f"membranes of readout '{lif.name}' ({out.dtype}, x {lif.lsb:g} each; classes by the {classify_by} membrane)" \
        if lif.readout else f"{int(out.sum())} output spikes"
    return f"{what}, classes {classes[:16]}{' ...' if len(classes) > 16 else ''}"


def cmd_compile(args: argparse.Namespace) -> None:
    from snnc.build import BuildConfig, build

    model = Path(args.model)
    cfg = BuildConfig(model, Path(args.output or f"{model.stem}_build"), args.bits, args.state_bits,
                      args.state_quant and args.state_quant.replace("-", "_"), args.per_channel, args.lanes,
                      args.board, args.baud, args.synth, args.accumulators, args.max_luts, args.max_latency_us,
                      args.spike_rate, args.sample and Path(args.sample), args.weights, args.dt, args.force)
    result = build(cfg)
    s, rep = result.settings, result.report
    print(f"compiled {model} -> {cfg.output}/ ({len(result.net.layers)} layers, lanes {lanes_text(s.layers)}, "
          f"{rep['design']['ram_bits']['weight']} weight RAM bits, {rep['state_memory_bits']} state bits, Verilog {s.verilog})")
    if s.board:
        print(f"  board {s.board} ({s.part}, {s.clk_hz / 1e6:g} MHz, UART {s.baud} baud, design {s.identity:08x}): "
              f"Vivado project in {cfg.output}/{s.board_files}/" + (", bitstream built" if cfg.synth else ""))
    for note in result.net.notes:
        print(f"  note: {note}")


def _input_spikes(build: Path, path: Path) -> np.ndarray:
    """The --input file's spikes, checked against the build's input shape (errors name the file)."""
    net, _ = build_folder.load(build)
    return golden.check_spikes(files.load_array(path), net.input_shape, f"--input {path}")


def cmd_simulate(args: argparse.Namespace) -> None:
    from snnc.build import simulate_build

    spikes = _input_spikes(Path(args.build_dir), Path(args.input))
    out = simulate_build(Path(args.build_dir), spikes, args.engine, args.simulator,
                         None if args.trace is None else Path(args.trace), _steps(args.trace_steps),
                         progress_meter("sample"))
    files.save_array(Path(args.output), out)
    run = build_folder.load_rtl_run(Path(args.build_dir)) if args.engine == "rtl" else None
    cycles = f", {int(np.mean(run['cycles_per_inference']))} cycles per inference" if run else ""
    print(f"simulated {spikes.shape[1]} samples x {spikes.shape[0]} timesteps ({args.engine}) -> {args.output}; "
          f"{_summary(Path(args.build_dir), out, args.classify_by)}{cycles}")


def cmd_report(args: argparse.Namespace) -> None:
    from snnc.build import load_report
    from snnc.report import format_build_report

    if args.clock_mhz is not None and not (math.isfinite(args.clock_mhz) and args.clock_mhz > 0):
        raise SnncError(f"--clock-mhz must be a frequency above 0, got {args.clock_mhz:g}")
    rep = load_report(Path(args.build_dir), synth=not args.no_synth, log=lambda msg: print(msg, file=sys.stderr),
                      clock_hz=None if args.clock_mhz is None else args.clock_mhz * 1e6)
    print(json.dumps(rep, indent=1) if args.json else format_build_report(rep), end="\n" if args.json else "")


def cmd_run(args: argparse.Namespace) -> None:
    from snnc.runtime import Device

    build = Path(args.build_dir)
    if args.trace is not None and not (args.sim and args.engine == "rtl"):
        raise SnncError("--trace records the simulated board's waveform: it goes with --sim (and --engine rtl)")
    spikes = _input_spikes(build, Path(args.input))
    device = Device.serial(build, args.port) if args.port else \
        Device.golden(build) if args.engine == "golden" else \
        Device.simulated(build, args.simulator, trace=None if args.trace is None else Path(args.trace),
                         progress=progress_meter("sample"))
    with device:
        out, cycles = device.run(spikes, progress=progress_bar("samples"))
    files.save_array(Path(args.output), out)
    where = args.port or ("simulated board" if args.engine == "rtl" else "golden model")
    measured = [c for c in cycles if c is not None]
    cyc = f", {np.mean(measured):.0f} cycles per inference" if measured else ""
    print(f"ran {out.shape[1]} samples x {out.shape[0]} timesteps on the {where} -> {args.output}; "
          f"{_summary(build, out, args.classify_by)}{cyc}")


def cmd_program(args: argparse.Namespace) -> None:
    import shlex

    from snnc.boards import program, program_command

    build = Path(args.build_dir)
    _, settings = build_folder.load(build)  # its manifest checked, as for simulate, report and run
    if args.dry_run:
        print(shlex.join(program_command(build, settings)))
        return
    print(f"programmed {settings.board} with {program(build, settings)}")


def cmd_boards(args: argparse.Namespace) -> None:
    from snnc.boards import board_table

    print(board_table())


def _steps(text: str | None) -> tuple[int, int] | None:
    """--trace-steps A:B as (A, B)."""
    if text is None:
        return None
    a, sep, b = text.partition(":")
    if not (sep and a.strip().isdigit() and b.strip().isdigit()):
        raise SnncError(f"--trace-steps must be A:B, timesteps A to B - 1 (for example 4:8), got '{text}'")
    return int(a), int(b)


def _trace_argument(parser) -> None:
    parser.add_argument("--trace", metavar="FILE.fst|FILE.vcd", help="with the RTL: write the run's waveform, FST or "
                        "VCD by the extension (Verilator's and Icarus' own tracers); open it in GTKWave or Surfer "
                        "(docs/rtl.md: a saved layout groups each layer's engine)")


def _compile_parser(sub) -> None:
    c = sub.add_parser("compile", help="ONNX or NIR model -> BUILD_DIR (fixed-point IR + report)",
                       description="Import an snnc-dialect ONNX model or a NIR graph (.nir), quantize what is "
                       "not yet integer, put every LIF on its integer grid, size every register, and write BUILD_DIR.")
    c.add_argument("model", metavar="MODEL.onnx|MODEL.nir")
    c.add_argument("--dt", type=float, metavar="SECONDS", help="a NIR graph's time step, if the graph does not give it "
                   "(snnTorch exports assume 1e-4, Norse 1e-3); docs/interop.md")
    c.add_argument("--bits", type=int, metavar="N", help="weight width (1 = binary, 2 = ternary, ... 8); weights "
                   "at N bits or fewer stay exact, wider or float ones are quantized (default: keep, floats to 8)")
    c.add_argument("--state-bits", type=int, metavar="N", help="state width for LIFs without levels (default 4; "
                   "with --state-quant none: the clamped register width, default 16)")
    c.add_argument("--state-quant", choices=["none", "uniform", "threshold-centered"],
                   help="state quantization for LIFs that carry no levels (default: the model's state_quant)")
    c.add_argument("--per-channel", action="store_true", help="quantize weights with one scale per output channel")
    c.add_argument("--board", metavar="NAME", help="target board (see snnc boards): adds the board core (UART, host "
                   "protocol) and the Vivado project (Verilog, XDC, build script) in BUILD_DIR/vivado")
    c.add_argument("--baud", type=int, metavar="RATE", help=f"with --board: the UART baud rate (default {DEFAULT_BAUD}, "
                   "up to 3000000 on a 100 MHz board)")
    c.add_argument("--synth", action="store_true", help="with --board and vivado on PATH: build the bitstream")
    c.add_argument("--lanes", type=parse_lanes, default=None, metavar="P[:U][,...]|auto", help="parallel lanes, for every "
                   "layer or one per layer (16,2): each input spike costs ceil(outputs/P) cycles; P:U gives the update "
                   "U <= P LIF datapaths, each timestep's update then costs ceil(neurons/U) cycles (16:2); auto: "
                   "chosen by the cost model for --max-luts or --max-latency-us at --spike-rate or --sample (default: "
                   "the fastest design at 0.1 input spikes per step in a quarter of the board's LUTs with --board, "
                   "in 3,000 LUTs without; --lanes 1 gives the smallest)")
    c.add_argument("--max-luts", type=int, metavar="N", help="with --lanes auto: the fastest design in about N LUTs")
    c.add_argument("--max-latency-us", type=float, metavar="X", help="with --lanes auto: the smallest design in X us")
    c.add_argument("--spike-rate", type=float, metavar="R", help="with --lanes auto: input spikes per input per step")
    c.add_argument("--sample", metavar="X.npy", help="with --lanes auto: typical input spikes [T, B, features]")
    c.add_argument("--accumulators", choices=["auto", "double", "single"], default="auto", help="accumulator banks "
                   "per layer: double lets a timestep's update overlap the next scatter, single halves their RAM and "
                   "adds about neurons/P cycles per timestep; auto: double unless large or the board's RAM is short")
    c.add_argument("--weights", choices=["auto", "dense", "sparse"], default="auto", help="each layer's weights: all, "
                   "or only the non-zero ones (a pruned layer's spike costs a cycle per row of them); auto: the cheaper")
    c.add_argument("-o", "--output", metavar="BUILD_DIR", help="output folder (default: MODEL_build); a symlink is "
                   "followed, an earlier build there is replaced whole")
    c.add_argument("--force", action="store_true", help="build into a folder that holds files snnc did not write; "
                   "they are kept beside the build, never deleted (without --force such a folder is refused)")
    c.set_defaults(func=cmd_compile)


def _classify_argument(p) -> None:
    p.add_argument("--classify-by", choices=golden.CLASSIFY_MEMBRANE, default="last", help="a readout's class: the "
                   "neuron with the largest membrane at the last step, or the largest over all steps (spiking "
                   "outputs: the most spikes)")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="snnc", description="Compile quantized spiking neural networks (ONNX in the "
                                "snnc dialect, or NIR) into bit-exact fixed-point designs for Artix-7 FPGAs.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _compile_parser(sub)
    s = sub.add_parser("simulate", help="run a build on spikes from a .npy file",
                       description="Run the compiled network on input spikes [T, B, features] (.npy of bool, "
                       "uint8 or float 0/1; a conv build takes [T, B, C*H*W] or [T, B, C, H, W]) and write the output layer's spikes [T, B, N_out] as uint8 .npy, "
                       "or, when the output layer is a membrane readout, its membranes [T, B, N] as integers (int32; "
                       "real value = integer x the readout's lsb in network.json, printed here).")
    s.add_argument("build_dir", metavar="BUILD_DIR")
    s.add_argument("--input", required=True, metavar="X.npy")
    s.add_argument("--output", required=True, metavar="Y.npy")
    s.add_argument("--engine", choices=["golden", "rtl"], default="golden", help="golden model or RTL co-simulation")
    _trace_argument(s)
    s.add_argument("--trace-steps", metavar="A:B", help="with --trace FILE.vcd: keep only timesteps A to B - 1 of each "
                   "sample (every signal's value at the window's start, then its changes), so long runs stay small")
    s.add_argument("--simulator", choices=["verilator", "icarus"], default="verilator", help="RTL simulator")
    _classify_argument(s)
    s.set_defaults(func=cmd_simulate)

    r = sub.add_parser("report", help="print a build's report", description="Print the report of BUILD_DIR: "
                       "per-layer widths and memories, the compiler's notes, the generated design's RAMs, an Artix-7 "
                       "resource estimate (Yosys synth_xilinx, LUT/FF/BRAM/DSP/CARRY4 and LUT levels) and, after "
                       "snnc simulate --engine rtl, the measured cycles per inference.")
    r.add_argument("build_dir", metavar="BUILD_DIR")
    r.add_argument("--json", action="store_true", help="print the report as JSON")
    r.add_argument("--no-synth", action="store_true", help="skip the Yosys synthesis estimate (and the clock estimate)")
    r.add_argument("--clock-mhz", type=float, default=None, metavar="MHZ",
                   help="target clock: latency and energy are given at it, and a design whose estimated clock "
                        "(design.clock.estimated_mhz) falls short is warned of (default: the board's, else 100)")
    r.set_defaults(func=cmd_report)

    u = sub.add_parser("run", help="run a board build on the board or the simulated board",
                       description="Send input spikes [T, B, features] (.npy; a conv build takes [T, B, C*H*W] or "
                       "[T, B, C, H, W]) to a board build over its UART, one "
                       "sample at a time (load, run T timesteps, read spikes, counts and cycles), and write the "
                       "output spikes [T, B, N_out] as uint8 .npy (a readout's membranes as simulate writes them).  --port talks to a board programmed with the "
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
    _trace_argument(u)
    _classify_argument(u)
    u.set_defaults(func=cmd_run)

    g = sub.add_parser("program", help="load a board build's bitstream into the board (openFPGALoader)",
                       description="Load BUILD_DIR's bitstream (made by Vivado from the build's project: snnc "
                       "compile --board NAME --synth) into the board's FPGA over JTAG with openFPGALoader (on PATH, "
                       "Debian: apt install openfpgaloader, or the path in SNNC_OPENFPGALOADER), with the board's "
                       "name and cable from snnc's board registry. The design runs until power-off; then snnc run "
                       "BUILD_DIR --port DEVICE talks to it.")
    g.add_argument("build_dir", metavar="BUILD_DIR")
    g.add_argument("--dry-run", action="store_true", help="print the openFPGALoader command, run nothing")
    g.set_defaults(func=cmd_program)

    sub.add_parser("boards", help="list the supported boards", description="List the Artix-7 boards snnc builds "
                   "for: name (for --board), part, clock, UART pins (FPGA rx/tx), LEDs and reset.").set_defaults(func=cmd_boards)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except SnncError as e:
        print(f"snnc: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # every writer cleans up after itself on the way out
        return interrupted()
    return 0


if __name__ == "__main__":
    sys.exit(main())
