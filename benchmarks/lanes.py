"""Throughput per LUT: 784-128-10 (4-bit weights, 4-bit threshold-centered states, T = 16, input
spike rate 0.13, MNIST's mean intensity) at several lane and update-unit configurations, each run
in Verilator (cycles per inference, checked RTL == golden) and synthesized by Yosys (synth_xilinx,
xc7; the network without its activity counters, as a board build has it): cycles, microseconds at 100 MHz, LUT, LUTRAM, FF, BRAM18, next to the rows measured before
update units existed and the nearest published Artix-7 design.

    python benchmarks/lanes.py [--samples 4] [--lanes 4 4:1 5:1,1:1/single 64:2,10:1 128:2,10:1]

A configuration is a --lanes spelling, optionally followed by /single: one accumulator bank per
layer (half the accumulator RAM and its bank multiplexers; the update no longer overlaps); or
auto-luts-N / auto-us-X: what `--lanes auto --max-luts N` / `--max-latency-us X` chooses (lanes,
units and banks per layer) at the benchmark's input rate.

A second table runs the same network with 80% of its weights pruned (unstructured, uniformly at
random, so the surviving weights keep their distribution; --prune sets the fraction) at the
--pruned-lanes configurations, once with dense weight storage and once with --weights auto (the
compiler's choice, sparse where it is cheaper), and prints weight RAM bits and cycles of the
auto design as a fraction of the dense one.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from dataclasses import replace

import numpy as np

from snnc import autolanes
from snnc.compiler import ir
from snnc.compiler.geometry import lanes_text, network_geometry, parse_lanes
from snnc.rtl_gen import network_verilog
from snnc.rtl_gen.synthesis import synthesize
from snnc.sim import golden, rtl

sys.path.insert(0, str(Path(__file__).parent))
from rtl import network  # noqa: E402  the same random 4-bit network as benchmarks/rtl.py

SIZES, T, RATE, CLOCK_HZ = (784, 128, 10), 16, 0.13, 100e6
BEFORE = [  # issue 15, measured on main before update units (one LIF datapath per lane)
    ("4 (before)", 52_166, 1_939, 51, 1_208, "25 / ?"), ("16 (before)", 13_092, 4_378, 131, 2_738, "27 / ?"),
    ("32 (before)", 6_583, 6_992, 220, 4_084, "27 / ?")]
SNN_FPGA = ("snn-fpga (arXiv 2507.07284), MNIST MLP", "520 us", "6,358 LUT", "40.5 BRAM36")


def measure(net, text: str, x: np.ndarray, want: np.ndarray) -> tuple:
    """(name, cycles, LUT, LUTRAM, FF, BRAM18, RTL == golden, weight RAM bits) of one configuration."""
    if text.startswith("auto-"):
        _, kind, value = text.split("-")
        target = {"max_luts": int(value)} if kind == "luts" else {"max_latency_us": float(value)}
        lanes, single, _ = autolanes.choose_lanes(net, autolanes.expected_inputs(net, T, RATE), CLOCK_HZ, **target)
        text = f"{text}: {lanes_text(lanes)}" + (f" (one bank: {', '.join(sorted(single))})" if single else "")
    else:
        lanes = parse_lanes(text.removesuffix("/single"))
        single = frozenset(lif.name for lif in net.lifs) if text.endswith("/single") else frozenset()
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        # the engines alone: without the activity counters (simulation instrumentation, which a
        # board build drops since nothing reads them)
        verilog, memories = network_verilog(net, lanes, single, activity_counters=False)
        result = rtl.run(net, x, lanes=lanes, work_dir=Path(tmp) / "rtl", verilog=verilog, memories=memories,
                         single_bank=single, activity_counters=False)
        path = Path(tmp) / "net.v"
        path.write_text(verilog)
        res = synthesize(path, Path(tmp), memories=memories)["resources"]
    exact = bool(np.array_equal(result.outputs, want.reshape(result.outputs.shape)))
    cycles = float(np.mean(result.cycles))
    weight_bits = sum(g.weight_bits for g in network_geometry(net, lanes))
    formats = "/".join("sparse" if g.sparse is not None else "dense" for g in network_geometry(net, lanes))
    print(f"  {text} ({formats}): {cycles:.0f} cycles, {res['LUT']} LUT, RTL == golden: {exact} "
          f"({time.time() - t0:.0f} s)", file=sys.stderr)
    bram = f"{res['BRAM18']} / {res['BRAM36']}"
    return (f"{text} ({formats})", cycles, res["LUT"], res["LUTRAM"], res["FF"], bram, exact, weight_bits)


def pruned(net: ir.Network, fraction: float, fmt: str, rng: np.random.Generator) -> ir.Network:
    """`net` with `fraction` of each synapse's weights set to zero (the same mask for every fmt,
    from rng's state) and its weights stored as fmt."""
    state = rng.bit_generator.state
    layers = []
    for layer in net.layers:
        if isinstance(layer, (ir.Dense, ir.Conv2d)):
            layer = replace(layer, weight=layer.weight * (rng.random(layer.weight.shape) >= fraction), weight_format=fmt)
        layers.append(layer)
    rng.bit_generator.state = state
    return ir.validate(replace(net, layers=tuple(layers)))


COLUMNS = ["lanes (P:U per layer) (weights per layer)", "cycles / inference", "us at 100 MHz", "LUT", "LUTRAM",
           "LUT+LUTRAM", "FF", "BRAM18 / BRAM36", "weight RAM bits", "RTL == golden"]


def header(columns: list[str]) -> str:
    return "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns)


def table_row(name, cycles, lut, lutram, ff, bram, exact, weight_bits="") -> str:
    return (f"| {name} | {cycles:,.0f} | {cycles / CLOCK_HZ * 1e6:.0f} | {lut:,} | {lutram:,} | {lut + lutram:,} | "
            f"{ff:,} | {bram} | {weight_bits if weight_bits == '' else f'{weight_bits:,}'} | "
            f"{'' if exact is None else exact} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--lanes", nargs="*", default=["4", "4:1", "auto-us-520", "auto-luts-3000", "auto-us-50"])
    ap.add_argument("--prune", type=float, default=0.8, help="fraction of weights pruned for the second table")
    ap.add_argument("--pruned-lanes", nargs="*", default=["1", "4:1", "auto-us-520"])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    net = network(SIZES, rng)
    x = (rng.random((T, args.samples, SIZES[0])) < RATE).astype(np.uint8)
    rows = [measure(net, text, x, golden.run(net, x)) for text in args.lanes]
    print(f"784-128-10, W4, S4 threshold-centered, T={T}, input rate {RATE}, {args.samples} samples, Yosys synth_xilinx")
    print(header(COLUMNS))
    for row in [(*b, None) for b in BEFORE] + rows:
        print(table_row(*row))
    print(f"| {SNN_FPGA[0]} | | {SNN_FPGA[1]} | {SNN_FPGA[2]} | | | | {SNN_FPGA[3]} | | |")

    pairs = []
    if args.pruned_lanes:
        dense, auto = (pruned(net, args.prune, fmt, np.random.default_rng(args.seed + 1)) for fmt in ("dense", "auto"))
        want = golden.run(dense, x)
        pairs = [(measure(dense, text, x, want), measure(auto, text, x, want)) for text in args.pruned_lanes]
        print(f"\nthe same network, {100 * args.prune:g}% of its weights pruned (unstructured, at random): dense "
              f"weight storage against --weights auto")
        print(header(COLUMNS + ["weight bits / dense", "cycles / dense"]))
        for d, a in pairs:
            print(table_row(*d) + " | |")
            print(table_row(*a) + f" {a[7] / d[7]:.1%} | {a[1] / d[1]:.1%} |")
    return 0 if all(r[6] for r in rows + [r for pair in pairs for r in pair]) else 1


if __name__ == "__main__":
    sys.exit(main())
