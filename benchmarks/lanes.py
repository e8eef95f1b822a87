"""Throughput per LUT: 784-128-10 (4-bit weights, 4-bit threshold-centered states, T = 16, input
spike rate 0.13, MNIST's mean intensity) at several lane and update-unit configurations, each run
in Verilator (cycles per inference, checked RTL == golden) and synthesized by Yosys (synth_xilinx,
xc7): cycles, microseconds at 100 MHz, LUT, LUTRAM, FF, BRAM18, next to the rows measured before
update units existed and the nearest published Artix-7 design.

    python benchmarks/lanes.py [--samples 4] [--lanes 4 4:1 5:1,1:1/single 64:2,10:1 128:2,10:1]

A configuration is a --lanes spelling, optionally followed by /single: one accumulator bank per
layer (half the accumulator RAM and its bank multiplexers; the update no longer overlaps); or
auto-luts-N / auto-us-X: what `--lanes auto --max-luts N` / `--max-latency-us X` chooses (lanes,
units and banks per layer) at the benchmark's input rate.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from snnc import autolanes
from snnc.compiler.geometry import lanes_text, parse_lanes
from snnc.rtl_gen import network_verilog
from snnc.rtl_gen.synthesis import synthesize
from snnc.sim import golden, rtl

sys.path.insert(0, str(Path(__file__).parent))
from rtl import network  # noqa: E402  the same random 4-bit network as benchmarks/rtl.py

SIZES, T, RATE, CLOCK_HZ = (784, 128, 10), 16, 0.13, 100e6
BEFORE = [  # issue 15, measured on main before update units (one LIF datapath per lane)
    ("4 (before)", 52_166, 1_939, 51, 1_208, 25), ("16 (before)", 13_092, 4_378, 131, 2_738, 27),
    ("32 (before)", 6_583, 6_992, 220, 4_084, 27)]
SNN_FPGA = ("snn-fpga (arXiv 2507.07284), MNIST MLP", "520 us", "6,358 LUT", "40.5 BRAM36")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--lanes", nargs="+", default=["4", "4:1", "auto-us-520", "auto-luts-3000", "auto-us-50"])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    net = network(SIZES, rng)
    x = (rng.random((T, args.samples, SIZES[0])) < RATE).astype(np.uint8)
    want = golden.run(net, x)
    rows = []
    for text in args.lanes:
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
            verilog, memories = network_verilog(net, lanes, single)
            result = rtl.run(net, x, lanes=lanes, work_dir=Path(tmp) / "rtl", verilog=verilog, memories=memories,
                             single_bank=single)
            path = Path(tmp) / "net.v"
            path.write_text(verilog)
            res = synthesize(path, Path(tmp), memories=memories)["resources"]
        exact = np.array_equal(result.outputs, want.reshape(result.outputs.shape))
        cycles = float(np.mean(result.cycles))
        rows.append((text, cycles, res["LUT"], res["LUTRAM"], res["FF"], res["BRAM18"], exact))
        print(f"  {text}: {cycles:.0f} cycles, {res['LUT']} LUT, RTL == golden: {exact} "
              f"({time.time() - t0:.0f} s)", file=sys.stderr)
    print(f"784-128-10, W4, S4 threshold-centered, T={T}, input rate {RATE}, {args.samples} samples, Yosys synth_xilinx")
    print("| lanes (P:U per layer) | cycles / inference | us at 100 MHz | LUT | LUTRAM | LUT+LUTRAM | FF | BRAM18 | RTL == golden |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, cycles, lut, lutram, ff, bram, exact in [(*b, None) for b in BEFORE] + rows:
        print(f"| {name} | {cycles:,.0f} | {cycles / CLOCK_HZ * 1e6:.0f} | {lut:,} | {lutram:,} | {lut + lutram:,} | "
              f"{ff:,} | {bram} | {'' if exact is None else exact} |")
    print(f"| {SNN_FPGA[0]} | | {SNN_FPGA[1]} | {SNN_FPGA[2]} | | | | {SNN_FPGA[3]} | |")
    return 0 if all(r[-1] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
