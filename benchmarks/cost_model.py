"""The engine model's LUT estimate against Yosys on networks it was not fitted to.

Draws networks from a varied family (MLPs of 1 to 3 layers from 64 to 784 inputs and CSNNs with
pooling; 2- to 8-bit weights; threshold-centered, uniform and unquantized states of 3 to 16 bits;
thresholds, leaks, biases and shifts at random; a third of them 80%-pruned with --weights auto),
each at a random design (lanes P:U per layer, one or two accumulator banks), and synthesizes every
one with Yosys synth_xilinx (LUT + LUTRAM, without activity counters, as a board build has it).
Seeds below HELD_OUT_SEED are the fit set, the others held out.

    python benchmarks/cost_model.py --collect 0:60 --points points.jsonl   # synthesize seeds 0..59
    python benchmarks/cost_model.py --fit --points points.jsonl            # fit, check, write engine_fit.json
    python benchmarks/cost_model.py --budgets 1000 2000 3000                 # --max-luts on independent nets
    python benchmarks/cost_model.py --fit --points compiler/engine_fit.json  # refit the stored points

--fit fits the LUT model's coefficients (least relative squares,
snnc.compiler.engine_model.fit_lut_coefficients) on the fit set, prints the worst and mean error on
it and on the held-out set, and writes the coefficients, the margin (the largest Yosys count /
estimate over both sets: what a --max-luts budget keeps) and every point to
compiler/engine_fit.json.  --budgets runs
`--lanes auto --max-luts N` on independent networks of the benchmark's shapes (784-128-10 W4/S4 as
benchmarks/lanes.py, with other thresholds, biases and leaks) and prints estimate, Yosys' count and
whether it held.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from snnc import autolanes
from snnc.compiler import engine_model, ir, levels, scales
from snnc.compiler.errors import SnncError
from snnc.compiler.layer_impl import lanes_text, with_banks
from snnc.compiler.register_sizes import size_registers
from snnc.rtl_gen import network_verilog
from snnc.rtl_gen.synthesis import lut_total, synthesize

sys.path.insert(0, str(Path(__file__).parent))
from lanes import design, pruned  # noqa: E402  a --lanes spelling, /single for one bank
from rtl import network as bench_network  # noqa: E402  the benchmark's random 4-bit network

HELD_OUT_SEED = 1000          # seeds from here on are held out of the fit
RATE, T, CLOCK_HZ = 0.13, 16, 100e6


def lif(rng: np.random.Generator, name: str, shape: tuple[int, ...], fan_in: int, weight_max: int) -> ir.LIF:
    """A LIF with a random threshold (scaled to the fan-in), leak, reset and state quantization."""
    theta = int(max(4, rng.uniform(0.5, 4) * math.sqrt(fan_in) * weight_max / 2))
    leak_f = int(rng.integers(2, 7))
    leak_b = int(rng.integers(1 << (leak_f - 1), (1 << leak_f) + 1))
    kind = rng.choice(["threshold_centered", "threshold_centered", "uniform", "none"])
    reset = str(rng.choice(["subtract", "subtract", "zero"]))
    if kind == "none":
        return ir.LIF(name, shape, theta, leak_b, leak_f, reset, "none", -2 * theta, 2 * theta)
    bits = int(rng.integers(3, 7))
    make = levels.threshold_centered_levels if kind == "threshold_centered" else levels.uniform_levels
    lv = levels.integerize_levels(make(bits, theta), 1.0)
    return ir.LIF(name, shape, theta, leak_b, leak_f, reset, str(kind), int(lv[0]), int(lv[-1]), lv)


def weights(rng: np.random.Generator, shape: tuple[int, ...], bits: int, pruned: bool) -> np.ndarray:
    low, top = scales.weight_range(bits)
    w = rng.integers(low, top + 1, shape)
    return w * (rng.random(shape) >= 0.8) if pruned else w


def synapse_params(rng: np.random.Generator, n_out: int, theta_guess: int) -> tuple[np.ndarray, np.ndarray]:
    """Biases (none in half the layers) and shifts (0 in most)."""
    bias = rng.integers(-theta_guess // 2, theta_guess // 2 + 1, n_out) if rng.random() < 0.5 else np.zeros(n_out, np.int64)
    shift = np.full(n_out, int(rng.random() < 0.25))
    return bias, shift


def varied_network(seed: int) -> ir.Network:
    """One network of the varied family (a CSNN for a quarter of the seeds)."""
    rng = np.random.default_rng(seed)
    bits, pruned = int(rng.choice([2, 3, 4, 4, 6, 8])), bool(rng.random() < 1 / 3)
    top = scales.weight_range(bits)[1]
    layers: list = []
    if rng.random() < 0.25:
        c_in, side = 2, int(rng.choice([16, 24, 32]))
        shape = (c_in, side, side)
        for i, c_out in enumerate((int(rng.choice([4, 8])), int(rng.choice([8, 16])))):
            w = weights(rng, (c_out, shape[0], 3, 3), bits, pruned)
            conv_lif = lif(rng, f"lif{i}", (c_out, shape[1], shape[2]), 9 * shape[0], top)
            conv = ir.Conv2d(f"conv{i}", w, *synapse_params(rng, c_out, conv_lif.theta), bits, shape, 1, 1)
            pool = ir.MaxPool2d(f"pool{i}", conv.out_shape, 2)
            layers += [conv, conv_lif, pool]
            shape = pool.out_shape
        layers.append(ir.Flatten("flatten", shape))
        sizes = [int(np.prod(shape)), 10]
    else:
        sizes = [int(rng.choice([64, 256, 784]))] + [int(rng.choice([32, 64, 128, 256]))
                                                      for _ in range(int(rng.integers(0, 3)))] + [10]
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=len(layers) and 2):
        dense_lif = lif(rng, f"lif{i}", (n_out,), n_in, top)
        layers += [ir.Dense(f"fc{i}", weights(rng, (n_out, n_in), bits, pruned),
                            *synapse_params(rng, n_out, dense_lif.theta), bits), dense_lif]
    input_shape = layers[0].in_shape if isinstance(layers[0], ir.Conv2d) else (sizes[0],)
    return size_registers(ir.validate(ir.Network(f"varied{seed}", input_shape, tuple(layers))))


def varied_design(net: ir.Network, seed: int) -> str:
    """A random --lanes spelling for `net` (P up to the layer's output channels, U a divisor of P),
    with "/single" for one accumulator bank in every layer in a third of the draws."""
    rng = np.random.default_rng(seed + 7919)
    spell = []
    for stage in net.stages:
        channels = stage.synapse.weight.shape[0]
        p = int(min(channels, rng.choice([1, 2, 3, 4, 6, 8, 16, 32, 64])))
        divisors = [u for u in range(1, p + 1) if p % u == 0 and u <= 8]
        u = int(rng.choice(divisors))
        spell.append(f"{p}:{u}" if u != p else str(p))
    return ",".join(spell) + ("/single" if rng.random() < 1 / 3 else "")


def synthesized_luts(net: ir.Network, impl) -> dict:
    """Yosys' resources of the design, without activity counters."""
    with tempfile.TemporaryDirectory() as tmp:
        verilog, memories = network_verilog(net, impl, activity_counters=False)
        (Path(tmp) / "net.v").write_text(verilog)
        return synthesize(Path(tmp) / "net.v", Path(tmp), memories=memories)["resources"]


# (network sizes, pruning (None, or 80% "magnitude" / "random" with --weights auto), design): the
# benchmark's own network (benchmarks/lanes.py) at the designs --lanes auto chooses among
BENCH_DESIGNS = [*(((784, 128, 10), None, d) for d in ("1", "4", "4:1", "16:1,10:1", "32:1,10:1", "128:2,10:1",
                                                      "1/single", "16:1,10:1/single", "5:1,1:1/single",
                                                      "32:4,5:1/single", "64:4,4:1/single", "64:4,3:1/single",
                                                      "64:2,5:1/single")),
                 *(((784, 128, 64, 10), None, d) for d in ("1", "4:1")),
                 *(((784, 128, 10), "magnitude", d) for d in ("1", "2", "4:1", "8:1", "16:1", "2:1,1:1/single")),
                 *(((784, 128, 10), "random", d) for d in ("1", "2", "4:1", "8:1", "16:1", "1:1,1:1/single"))]


def independent_network(seed: int) -> ir.Network:
    """784-128-10 with 4-bit weights and 4-bit threshold-centered states, as the benchmark's, but
    with its own weights, thresholds (0.5 to 1.5 x the benchmark's), leaks and biases."""
    rng = np.random.default_rng(seed)
    layers = []
    for i, (n_in, n_out) in enumerate(((784, 128), (128, 10))):
        theta = int(max(8, np.sqrt(n_in) * 3) * rng.uniform(0.5, 1.5))
        lv = levels.integerize_levels(levels.threshold_centered_levels(4, theta), 1.0)
        leak_b = int(rng.integers(8, 17))
        bias = rng.integers(-theta // 4, theta // 4 + 1, n_out) if rng.random() < 0.5 else np.zeros(n_out, np.int64)
        layers += [ir.Dense(f"fc{i}", rng.integers(-7, 8, (n_out, n_in)), bias, np.zeros(n_out, np.int64), 4),
                   ir.LIF(f"lif{i}", (n_out,), theta, leak_b, 4, "subtract", "threshold_centered", int(lv[0]),
                          int(lv[-1]), lv)]
    return size_registers(ir.validate(ir.Network(f"independent{seed}", (784,), tuple(layers))))


def network_and_design(p: dict):
    """A point's network and implementation, rebuilt from its description."""
    if p["kind"] == "varied":
        net = varied_network(p["seed"])
    elif p["kind"] == "independent":
        net = independent_network(p["seed"])
    else:
        net = bench_network(tuple(p["sizes"]), np.random.default_rng(p["seed"]))
        if p["pruning"]:
            net = pruned(net, 0.8, np.random.default_rng(p["seed"] + 1), p["pruning"])
    impl = design(net, p["design"])
    if "single" in p:  # one bank in the layers named (what --lanes auto chose)
        impl = with_banks(impl, net, frozenset(p["single"]))
    return net, impl


def layers_of(p: dict) -> list[dict]:
    """The point's layers as the engine model describes them (lut_features)."""
    net, impl = network_and_design(p)
    return [m.lut_layer() for m in engine_model.network_models(net, impl)]


def measured(p: dict) -> dict:
    """`p` with its design's LUT + LUTRAM from Yosys."""
    t0 = time.time()
    res = synthesized_luts(*network_and_design(p))
    print(f"  {p}: {lut_total(res)} LUT+LUTRAM ({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
    return {**p, "luts": lut_total(res)}


def varied_points(a: int, b: int) -> list[dict]:
    """The varied family's points of seeds a..b-1 that compile (a register past its width does not)."""
    out = []
    for seed in range(a, b):
        try:
            net = varied_network(seed)
            spelling = varied_design(net, seed)
            design(net, spelling)
        except SnncError:
            continue
        out.append({"kind": "varied", "seed": seed, "design": spelling, "held_out": seed >= HELD_OUT_SEED})
    return out


def bench_points(seed: int = 0) -> list[dict]:
    return [{"kind": "bench", "sizes": list(sizes), "pruning": pruning, "seed": seed, "design": spelling,
             "held_out": False} for sizes, pruning, spelling in BENCH_DESIGNS]


def budget_points(budgets: list[int], seeds: list[int]) -> list[dict]:
    """What --lanes auto --max-luts N chooses for independent networks (at the benchmark's rate)."""
    out = []
    for seed in seeds:
        net = independent_network(seed)
        inputs, updates = autolanes.expected_run(net, T, RATE)
        for budget in budgets:
            impl, _ = autolanes.choose_lanes(net, inputs, CLOCK_HZ, max_luts=budget, updates=updates)
            single = [lif.name for lif, li in zip(net.lifs, impl) if li.banks == 1]
            out.append({"kind": "independent", "seed": seed, "design": lanes_text(impl), "single": single,
                        "budget": budget, "held_out": True})
    return out


def write_fit(points: list[dict], path: Path = engine_model.ENGINE_FIT_FILE) -> dict:
    """Fit the LUT model on the points not held out, and write its data file: coefficients, margin
    (the largest measured / model over every point, held out or not: what a LUT budget keeps) and
    the points with their layers and model."""
    points = [{**p, "layers": layers_of(p)} for p in points]
    coef = engine_model.fit_lut_coefficients([p for p in points if not p["held_out"]])
    for p in points:
        p["model"] = round(engine_model.design_luts(p["layers"], coef), 1)
    ratio = lambda p: p["luts"] / p["model"]
    fit = {"written_by": "benchmarks/cost_model.py --fit",
           "what": "LUT + LUTRAM of Yosys synth_xilinx -family xc7 (the network without activity counters): the "
                   "benchmark's 784-128-10 (benchmarks/lanes.py) and the varied family of benchmarks/cost_model.py; "
                   "held_out points are not in the fit",
           "coefficients": coef, "margin": round(1 + math.ceil(100 * max(max(map(ratio, points)) - 1, 0)) / 100, 2),
           "points": points}
    path.write_text(json.dumps(fit, indent=1) + "\n")
    for held in (False, True):
        errors = [p["model"] / p["luts"] - 1 for p in points if p["held_out"] == held]
        print(f"{'held out' if held else 'fitted'}: {len(errors)} designs, model - Yosys: worst under "
              f"{-100 * min(errors):.1f}%, worst over {100 * max(errors):.1f}%, mean |error| "
              f"{100 * np.mean(np.abs(errors)):.1f}%")
    print(f"margin {fit['margin']}; wrote {path}")
    return fit


def budget_table(fit: dict) -> None:
    """Each --max-luts design of an independent network in a model's data (write_fit's): estimate,
    with margin, Yosys, held."""
    print("| network | --max-luts | chosen | model | model x margin | Yosys LUT+LUTRAM | within |\n|---|---|---|---|---|---|---|")
    for p in (p for p in fit["points"] if p["kind"] == "independent"):
        print(f"| independent 784-128-10, seed {p['seed']} | {p['budget']:,} | {p['design']} | {p['model']:,.0f} | "
              f"{p['model'] * fit['margin']:,.0f} | {p['luts']:,} | {p['luts'] <= p['budget']} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--collect", help="A:B: synthesize the varied networks of seeds A..B-1; bench: the benchmark's")
    ap.add_argument("--budgets", type=int, nargs="*", help="synthesize --max-luts N designs of independent networks")
    ap.add_argument("--budget-seeds", type=int, nargs="*", default=[2000, 2001, 2002])
    ap.add_argument("--points", type=Path, default=Path("cost_points.jsonl"), help="measured points (JSON lines)")
    ap.add_argument("--fit", action="store_true", help="fit on the points, check the held-out ones, write the model")
    ap.add_argument("--fit-file", type=Path, default=engine_model.ENGINE_FIT_FILE, help="where --fit writes")
    args = ap.parse_args()
    todo = []
    if args.collect == "bench":
        todo = bench_points()
    elif args.collect:
        todo = varied_points(*map(int, args.collect.split(":")))
    if args.budgets:
        todo += budget_points(args.budgets, args.budget_seeds)
    if todo:
        with args.points.open("a") as out:
            for p in todo:
                out.write(json.dumps(measured(p)) + "\n")
                out.flush()
    if args.fit:
        if args.points.suffix == ".json":  # a model's data file: refit its measured points (no synthesis)
            keep = lambda p: {k: v for k, v in p.items() if k not in ("layers", "model")}
            points = [keep(p) for p in json.loads(args.points.read_text())["points"]]
        else:
            points = [json.loads(line) for line in args.points.read_text().splitlines()]
        budget_table(write_fit(points, args.fit_file))
    return 0


if __name__ == "__main__":
    sys.exit(main())
