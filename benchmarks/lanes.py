"""Throughput per LUT: 784-128-10 (4-bit weights, 4-bit threshold-centered states, T = 16, input
spike rate 0.13, MNIST's mean intensity) at several lane and update-unit configurations, each run
in Verilator (cycles per inference, checked RTL == golden) and synthesized by Yosys (synth_xilinx,
xc7; the network without its activity counters, as a board build has it): cycles, microseconds at
100 MHz, LUT, LUTRAM, FF, BRAM18, DSP48E1, the clock Yosys' timing gives (rtl_gen/synthesis.py) and
the latency at it (at most 100 MHz), next to the rows measured before update units existed, the
published MNIST designs and the part's bounds (its weight-read bandwidth, and the input stream's
one token per cycle).

    python benchmarks/lanes.py [--samples 4] [--lanes 4 4:1 5:1,1:1/single 64:2,10:1 128:2,10:1]

(The LUT model these designs are chosen by is fitted and checked by benchmarks/cost_model.py.)

A configuration is a --lanes spelling, optionally followed by /single: one accumulator bank per
layer (half the accumulator RAM and its bank multiplexers; the update no longer overlaps); or
auto-luts-N / auto-us-X: what `--lanes auto --max-luts N` / `--max-latency-us X` chooses (lanes,
units and banks per layer) at the benchmark's input rate.

Two more tables run the same network with 80% of its weights pruned (unstructured; --prune sets
the fraction): by magnitude (the smallest |w|, as torch.nn.utils.prune.l1_unstructured: the
survivors are the few largest values), and uniformly at random (the survivors keep the weights'
distribution, the hardest case to compress); --prune-by picks them.  Each at the --pruned-lanes
configurations, once with dense weight storage and once with --weights auto (the compiler's choice,
sparse where it is cheaper), with the weight bits (RAM and code table) and cycles of the auto design
as a fraction of the dense one, and the entropy bound no exact code beats.
"""
from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

from dataclasses import replace

import numpy as np

from snnc import autolanes
from snnc.compiler import ir
from snnc.compiler.geometry import network_geometry
from snnc.compiler.layer_impl import Implementation, implement, lanes_text, parse_lanes, with_banks
from snnc.rtl_gen import network_verilog
from snnc.rtl_gen.synthesis import synthesize
from snnc.sim import golden, rtl

sys.path.insert(0, str(Path(__file__).parent))
from rtl import network  # noqa: E402  the same random 4-bit network as benchmarks/rtl.py

SIZES, T, RATE, CLOCK_HZ = (784, 128, 10), 16, 0.13, 100e6
BEFORE = [  # issue 15, measured on main before update units (one LIF datapath per lane)
    ("4 (before)", 52_166, 1_939, 51, 1_208, "25 / ?"), ("16 (before)", 13_092, 4_378, 131, 2_738, "27 / ?"),
    ("32 (before)", 6_583, 6_992, 220, 4_084, "27 / ?")]
# published designs, as their papers give them (name, latency per image, logic, block RAM)
PUBLISHED = [("snn-fpga (arXiv 2507.07284), MNIST MLP, Artix-7 at 100 MHz", "520 us", "6,358 LUT", "40.5 BRAM36"),
             ("Flexi-NeurA (arXiv 2602.18140), MNIST 256-128-10 on two cores", "1,100 us", "1,623 logic cells", "7 BRAM"),
             ("Spiker (arXiv 2201.06993), MNIST, one layer of 400 neurons, Artix-7", "215 us", "about 40% of the part", "")]
# An xc7a35t's weight-read bandwidth: 50 BRAM36 of 72-bit words per cycle, so at most this many
# 4-bit synaptic operations (a weight read and added) per cycle, whatever the design.
BANDWIDTH_OPS_PER_CYCLE = 50 * 72 // 4


def design(net: ir.Network, text: str, weights: str = "auto") -> Implementation:
    """The engines a design's spelling names: lanes as --lanes spells them ("/single": one
    accumulator bank in every layer)."""
    single = frozenset(lif.name for lif in net.lifs) if text.endswith("/single") else frozenset()
    return with_banks(implement(net, parse_lanes(text.removesuffix("/single")), weights), net, single)


def configuration(net: ir.Network, text: str, weights: str = "auto",
                  sample: np.ndarray | None = None) -> tuple[str, Implementation]:
    """(name, engines) of a configuration: a design's spelling (`design`), or auto-luts-N /
    auto-us-X, what --lanes auto chooses for `sample`'s spikes (without one, the benchmark's rate)."""
    if not text.startswith("auto-"):
        return text, design(net, text, weights)
    _, kind, value = text.split("-")
    target = {"max_luts": int(value)} if kind == "luts" else {"max_latency_us": float(value)}
    inputs, updates = autolanes.expected_run(net, T, RATE, sample)
    impl, _ = autolanes.choose_lanes(net, inputs, CLOCK_HZ, weights=weights, updates=updates, **target)
    single = [lif.name for lif, li in zip(net.lifs, impl) if li.banks == 1]
    return f"{text}: {lanes_text(impl)}" + (f" (one bank: {', '.join(single)})" if single else ""), impl


def measure(net, text: str, x: np.ndarray, want: np.ndarray, weights: str = "auto", sample: np.ndarray | None = None) -> tuple:
    """(name, cycles, LUT, LUTRAM, FF, BRAM18, RTL == golden, weight RAM bits, DSP48E1, estimated clock
    in MHz) of one configuration (`configuration`)."""
    text, impl = configuration(net, text, weights, sample)
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        # the engines alone: without the activity counters (simulation instrumentation, which a
        # board build drops since nothing reads them)
        verilog, memories = network_verilog(net, impl, activity_counters=False)
        result = rtl.run(net, x, impl, work_dir=Path(tmp) / "rtl", verilog=verilog, memories=memories,
                         activity_counters=False)
        path = Path(tmp) / "net.v"
        path.write_text(verilog)
        synth = synthesize(path, Path(tmp), memories=memories)
    res, mhz = synth["resources"], synth["clock"]["estimated_mhz"]
    exact = bool(np.array_equal(result.outputs, want.reshape(result.outputs.shape)))
    cycles = float(np.mean(result.cycles))
    geos = network_geometry(net, impl)
    weight_bits = sum(g.weight_bits for g in geos)
    formats = "/".join("sparse" if g.sparse is not None else "dense" for g in geos)
    print(f"  {text} ({formats}): {cycles:.0f} cycles, {res['LUT']} LUT, {res['DSP48']} DSP, {mhz} MHz estimated, "
          f"RTL == golden: {exact} ({time.time() - t0:.0f} s)", file=sys.stderr)
    bram = f"{res['BRAM18']} / {res['BRAM36']}"
    return (f"{text} ({formats})", cycles, res["LUT"], res["LUTRAM"], res["FF"], bram, exact, weight_bits,
            res["DSP48"], mhz)


PRUNING = ("magnitude", "random")


def pruned(net: ir.Network, fraction: float, rng: np.random.Generator, by: str = "magnitude") -> ir.Network:
    """`net` with `fraction` of each synapse's weights set to zero.  by "magnitude": the smallest
    |w| (torch.nn.utils.prune.l1_unstructured; ties in index order); "random": uniformly at random,
    so the survivors keep the weights' distribution."""
    layers = []
    for layer in net.layers:
        if isinstance(layer, (ir.Dense, ir.Conv2d)):
            w = layer.weight
            if by == "magnitude":
                keep = np.zeros(w.size, bool)
                keep[np.argsort(-np.abs(w).ravel(), kind="stable")[:round((1 - fraction) * w.size)]] = True
                keep = keep.reshape(w.shape)
            else:
                keep = rng.random(w.shape) >= fraction
            layer = replace(layer, weight=w * keep)
        layers.append(layer)
    return ir.validate(replace(net, layers=tuple(layers)))


def entropy_bound(net: ir.Network) -> float:
    """The fewest bits any exact code can average for the network's weights, as a fraction of their
    dense bits: per synapse, which positions are non-zero (log2 C(n, nonzeros)) and the non-zero
    values at their empirical entropy."""
    bits = dense = 0.0
    for syn in (layer for layer in net.layers if isinstance(layer, (ir.Dense, ir.Conv2d))):
        n, values = syn.weight.size, syn.weight[syn.weight != 0]
        _, counts = np.unique(values, return_counts=True)
        p = counts / max(len(values), 1)
        bits += (math.lgamma(n + 1) - math.lgamma(len(values) + 1) - math.lgamma(n - len(values) + 1)) / math.log(2)
        bits += -len(values) * float((p * np.log2(p)).sum())
        dense += n * syn.weight_bits
    return bits / dense


def pruned_tables(net: ir.Network, x: np.ndarray, fraction: float, lanes: list[str], by: str, seed: int) -> list:
    """Dense storage against --weights auto for the network pruned `by` magnitude or at random, at
    each lane configuration: prints the table, returns the measured (dense, auto) pairs."""
    net = pruned(net, fraction, np.random.default_rng(seed), by)
    want = golden.run(net, x)
    pairs = [(measure(net, text, x, want, "dense"), measure(net, text, x, want, "auto")) for text in lanes]
    how = "the smallest magnitudes, as torch's l1_unstructured" if by == "magnitude" else "at random"
    print(f"\n{100 * fraction:g}% of the weights pruned (unstructured, {how}): dense weight storage against "
          f"--weights auto; any exact code takes at least {entropy_bound(net):.1%} of the dense bits")
    print(header(COLUMNS + ["weight bits / dense", "cycles / dense"]))
    for d, a in pairs:
        print(table_row(*d) + " | |")
        print(table_row(*a) + f" {a[7] / d[7]:.1%} | {a[1] / d[1]:.1%} |")
    return pairs


COLUMNS = ["lanes (P:U per layer) (weights per layer)", "cycles / inference", "us at 100 MHz", "LUT", "LUTRAM",
           "LUT+LUTRAM", "FF", "BRAM18 / BRAM36", "weight bits", "RTL == golden", "DSP48E1", "clock estimate (MHz)",
           "us at the estimate, at most 100 MHz"]


def bandwidth_row(net: ir.Network, x: np.ndarray) -> str:
    """The table's row for the part's weight-read bandwidth: the inference's synaptic operations
    (each input spike's fan-out, from the golden model) at BANDWIDTH_OPS_PER_CYCLE, and the input
    stream's own floor in this architecture (one token per cycle: every input spike and end token)."""
    _, trace = golden.run(net, x, trace=True)
    ops = 0.0  # each input spike's synapses: its kernel taps' outputs x the output channels
    for spikes, geo in zip(golden.engine_inputs(net, x, trace), network_geometry(net, implement(net))):
        per_input = geo.tap_sum(geo.co).ravel()
        ops += float((spikes.reshape(spikes.shape[0], spikes.shape[1], -1) * per_input).sum(axis=(0, 2)).mean())
    tokens = float(x.reshape(x.shape[0], x.shape[1], -1).sum(axis=(0, 2)).mean()) + x.shape[0]
    return (f"| bound: an xc7a35t's weight reads ({BANDWIDTH_OPS_PER_CYCLE} 4-bit operations per cycle) for "
            f"{ops:,.0f} synaptic operations; the input stream at one token per cycle ({tokens:,.0f} tokens) | "
            f"{ops / BANDWIDTH_OPS_PER_CYCLE:,.0f}; {tokens:,.0f} | {ops / BANDWIDTH_OPS_PER_CYCLE / CLOCK_HZ * 1e6:.1f}; "
            f"{tokens / CLOCK_HZ * 1e6:.1f} | | | | | | | | | | |")


def header(columns: list[str]) -> str:
    return "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns)


def table_row(name, cycles, lut, lutram, ff, bram, exact, weight_bits="", dsp="", mhz=None) -> str:
    at_estimate = "" if mhz is None else f"{cycles / min(mhz * 1e6, CLOCK_HZ) * 1e6:.1f}"
    return (f"| {name} | {cycles:,.0f} | {cycles / CLOCK_HZ * 1e6:.1f} | {lut:,} | {lutram:,} | {lut + lutram:,} | "
            f"{ff:,} | {bram} | {weight_bits if weight_bits == '' else f'{weight_bits:,}'} | "
            f"{'' if exact is None else exact} | {dsp} | {'' if mhz is None else mhz} | {at_estimate} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--lanes", nargs="*", default=["4", "4:1", "auto-us-520", "auto-luts-1000", "auto-luts-3000",
                                                  "auto-us-20", "128:4,10:1"])
    ap.add_argument("--prune", type=float, default=0.8, help="fraction of weights pruned for the second table")
    ap.add_argument("--pruned-lanes", nargs="*", default=["1", "4:1", "auto-us-520"])
    ap.add_argument("--prune-by", nargs="*", choices=PRUNING, default=list(PRUNING))
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
    for name, latency, logic, bram in PUBLISHED:
        print(f"| {name} | | {latency} | {logic} | | | | {bram} | | | | | |")
    print(bandwidth_row(net, x))

    pairs = [pair for by in args.prune_by if args.pruned_lanes
             for pair in pruned_tables(net, x, args.prune, args.pruned_lanes, by, args.seed + 1)]
    return 0 if all(r[6] for r in rows + [r for pair in pairs for r in pair]) else 1


if __name__ == "__main__":
    sys.exit(main())
