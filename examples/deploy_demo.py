"""What `make demo` and `make demo-events` share: from a trained float and a QAT model to one table.

`run(...)` exports the QAT model, runs `snnc compile --bits 4 --board ...` through the build
library, the golden model on the whole test split (checking the PyTorch model's spikes against
it), the board core in Verilator through the runtime's simulated UART link on the first samples,
the network in Verilator on the same samples for its activity counters (energy from the RTL's
counts against the golden model's), Yosys on the board core, and prints and writes the table.  The demos differ only in their data,
their network and how they train it.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tqdm import tqdm

from snnc.boards import get_board
from snnc.build import BuildConfig, build, load_report, simulate_build, synthesis
from snnc.compiler.errors import SnncError
from snnc.frontend import SNN, export_onnx
from snnc.runtime import Device
from snnc.sim import golden


def arguments(doc: str, rtl_samples: int, epochs: int, output: str) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--board", default="arty-a7-35")
    ap.add_argument("--baud", type=int, default=3_000_000, help="UART rate (the simulation runs every bit)")
    ap.add_argument("--lanes", type=int, default=4)
    ap.add_argument("--rtl-samples", type=int, default=rtl_samples)
    ap.add_argument("--epochs", type=int, default=epochs)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--output", type=Path, default=Path(output))
    args = ap.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    return args


def run(args: argparse.Namespace, title: str, name: str, float_acc: float, model: SNN, qat_acc: float,
        x: np.ndarray, y: np.ndarray, input_shape: tuple[int, ...], as_input: Callable[[np.ndarray], torch.Tensor],
        started: float) -> int:
    """Steps 2-5 of a demo; x: test spikes [T, N, *features] uint8, y: labels.  0 when the RTL and
    PyTorch agree with the golden model spike for spike, else 1."""
    timesteps = x.shape[0]
    onnx_path, build_dir = args.output / f"{name}.onnx", args.output / f"{name}_{args.board}"
    print(f"[2/5] export {onnx_path}, snnc compile --bits 4 --board {args.board}")
    export_onnx(model, onnx_path, timesteps, input_shape)
    try:
        result = build(BuildConfig(onnx_path, build_dir, bits=4, lanes=args.lanes, board=args.board, baud=args.baud))
    except SnncError as e:
        print(f"snnc: error: {e}", file=sys.stderr)
        return 1
    net, settings = result.net, result.settings

    print("[3/5] golden model on the whole test split")
    ref = golden.run(net, x)
    golden_acc = float((golden.classify(ref) == y).mean())
    with torch.no_grad():
        torch_spikes = np.concatenate([model(as_input(x[:, i:i + 128])).numpy() for i in range(0, x.shape[1], 128)],
                                      axis=1).astype(np.uint8)
    torch_exact = np.array_equal(torch_spikes, ref.reshape(torch_spikes.shape))

    n = min(args.rtl_samples, x.shape[1])
    print(f"[4/5] the board core in Verilator over its UART ({args.baud} baud), {n} samples")
    with Device.simulated(build_dir) as device:
        out, cycles = device.run(x[:, :n], progress=lambda r: tqdm(r, unit="sample", leave=False))
    rtl_acc = float((golden.classify(out) == y[:n]).mean())
    agreement = 100.0 * np.mean([np.array_equal(out[:, b], ref[:, b].reshape(out[:, b].shape)) for b in range(n)])
    # the network in Verilator on the same samples, for its activity counters: the energy they give
    # against the golden model's counts (docs/energy.md)
    net_out = simulate_build(build_dir, x[:, :n], "rtl")
    agreement = min(agreement, 100.0 if np.array_equal(net_out, out.reshape(net_out.shape)) else 0.0)
    energy = load_report(build_dir, synth=False)["energy"]

    print("[5/5] Yosys synth_xilinx of the board core")
    board = get_board(args.board)
    util = board.utilisation(synthesis(build_dir, settings)["resources"])
    n_out = int(np.prod(net.output_shape))
    rows = [
        ("float model (PyTorch), test split", f"{100 * float_acc:.2f}%"),
        ("QAT W4 / S4 threshold-centered (PyTorch)", f"{100 * qat_acc:.2f}%"),
        (f"golden model, {len(y)} test samples", f"{100 * golden_acc:.2f}%  (PyTorch spikes identical: {torch_exact})"),
        (f"RTL board core over UART, {n} samples", f"{100 * rtl_acc:.2f}%  (golden on the same: "
                                                    f"{100 * float((golden.classify(ref[:, :n]) == y[:n]).mean()):.2f}%)"),
        ("spike-exact agreement RTL == golden", f"{agreement:.1f}% of samples ({n * timesteps * n_out} output bits)"),
        (f"cycles per inference (T={timesteps})", f"{np.mean(cycles):.0f} mean, {min(cycles)}..{max(cycles)}; "
                                                  f"{np.mean(cycles) / board.clock_hz * 1e6:.1f} us at "
                                                  f"{board.clock_hz / 1e6:g} MHz"),
        (f"energy per inference, {n} samples", f"{energy['per_inference_j'] * 1e6:.3f} uJ from the RTL's counters, "
                                               f"{energy['golden_per_inference_j'] * 1e6:.3f} uJ from the golden "
                                               f"model's ({100 * energy['rtl_vs_golden']:+.2f}%); dynamic "
                                               f"{(energy['per_inference_j'] - energy['breakdown']['static']) * 1e9:.1f} nJ"),
    ] + [(f"{k} on {board.part}", f"{u['used']:g} / {u['available']} ({u['percent']:.2f}%)") for k, u in util.items()]
    write_table(f"{title} on {board.title}, {args.lanes} lanes, design {settings.identity:08x}", rows,
                args.output / "demo.txt", started)
    return 0 if agreement == 100.0 and torch_exact else 1


def write_table(title: str, rows: list[tuple[str, str]], path: Path, started: float) -> None:
    """Print a demo's table (a title, then label and value rows) and write it to `path`."""
    width = max(len(r[0]) for r in rows)
    table = "\n".join([title, "-" * (width + 40)] + [f"{k.ljust(width)}  {v}" for k, v in rows])
    print("\n" + table)
    path.write_text(table + "\n")
    print(f"\n(table in {path}; {time.time() - started:.0f} s in all)")
