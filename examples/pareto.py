"""What quantization and pruning cost on the FPGA: a design-space sweep of the digits MLP and the
event-camera CSNN, their accuracy-energy and accuracy-LUT Pareto fronts, written to docs/pareto.md
with PNG plots (snnc.sweep runs the points on Dask and resumes where it stopped).

Each point trains a model with quantization-aware training (weights: uniform 8 and 4 bits,
ternary, binary, the sigmoid-sum quantizer; states: uniform or threshold-centered levels; magnitude
pruning to 0, 50, 80 or 90%), exports it, and builds it at each lane count: golden accuracy on
the test set, energy per inference and latency (snnc.energy: golden counts, the engines'
schedule, 100 MHz), LUT/FF/BRAM (Yosys synth_xilinx, --weights auto: pruned layers go sparse
where that is cheaper).

    python examples/pareto.py                         # both examples, all cores, writes docs/pareto.md
    python examples/pareto.py --examples digits --quick --store /tmp/pareto   # a smoke run
    python examples/pareto.py --scheduler tcp://host:8786                     # on a running Dask cluster

Interrupted runs resume: finished points are read back from --store (default build/pareto). The
events points behind docs/pareto.md are kept in docs/pareto_points/events (one JSON file per point
and seed): `--examples events --store docs/pareto_points` renders that section again without
training, and resumes the sweep where points are missing.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


ROOT = Path(__file__).resolve().parents[1]

WEIGHTS = [("uniform", 8), ("uniform", 4), ("ternary", 2), ("binary", 1), ("sigmoid", 4)]
STATES = [("uniform", 4), ("threshold_centered", 4)]
PRUNING = [0.0, 0.5, 0.8, 0.9]
EXAMPLES = {  # training script, epochs (full, quick), lanes per build, level sets, extra points at 0% pruning, input shape
    "digits": {"train": "examples/digits/train.py", "epochs": (40, 3), "lanes": [1, 4], "states": STATES,
               "extra": [(WEIGHTS[1], ("uniform", 2)), (WEIGHTS[1], ("threshold_centered", 2))], "shape": (64,)},
    # the CSNN trains about 10x longer and synthesizes slower: one level set (SQUAT's) and one lane count
    "events": {"train": "examples/events/train.py", "epochs": (8, 1), "lanes": [1], "states": STATES[1:],
               "extra": [(WEIGHTS[1], STATES[0])], "shape": (2, 32, 32)},
}


def grid(example: str, quick: bool, seeds: list[int]) -> list[dict]:
    """The points of one example, each at every seed: every weight quantizer x level set x pruning
    (binary weights have no zeros to prune), plus the example's extra points; quick: W4 and
    ternary, threshold-centered, 0 and 80% pruning, one lane count."""
    spec = EXAMPLES[example]
    epochs = spec["epochs"][1 if quick else 0]
    point = lambda w, s, p, lanes, seed: {"example": example, "weights": w[0], "bits": w[1], "state_quant": s[0],
                                          "state_bits": s[1], "sparsity": p, "epochs": epochs, "seed": seed,
                                          "lanes": lanes}
    if quick:
        designs = [(w, STATES[1], p, spec["lanes"][:1]) for w in WEIGHTS[1:3] for p in (0.0, 0.8)]
    else:
        designs = [(w, s, p, spec["lanes"]) for w in WEIGHTS for s in spec["states"] for p in PRUNING
                   if w[0] != "binary" or p == 0.0] + [(w, s, 0.0, spec["lanes"]) for w, s in spec["extra"]]
    return [point(*design, seed) for seed in seeds for design in designs]


MEASURES = ("accuracy", "torch_accuracy", "energy_j", "dynamic_j", "latency_us", "luts", "ffs", "bram36", "weight_bits",
            "zero_weights", "sparse_layers")


def over_seeds(rows: list[dict]) -> list[dict]:
    """One row per design (a point's configuration and lane count, whatever its seed): each measure
    the mean over the design's seeds, with `<measure>_std` the standard deviation and `seeds` and
    `accuracy_per_seed` in seed order."""
    by = {}
    for r in rows:
        by.setdefault(label(r), []).append(r)
    designs = []
    for group in by.values():
        group = sorted(group, key=lambda r: r["seed"])
        d = {k: v for k, v in group[0].items() if k not in MEASURES and k not in ("seed", "seconds", "cycles")}
        for m in MEASURES:
            values = [float(r[m]) for r in group]
            d[m], d[f"{m}_std"] = float(np.mean(values)), float(np.std(values))
        d.update(seeds=[r["seed"] for r in group], accuracy_per_seed=[r["accuracy"] for r in group])
        designs.append(d)
    return designs


def _train_module(example: str):
    """An example's train.py as its own module (both are named train)."""
    path = ROOT / EXAMPLES[example]["train"]
    spec = importlib.util.spec_from_file_location(f"{example}_train", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def evaluate(point: dict) -> list[dict]:
    """Train the point's model, export it, and build it at each of its lane counts (a Dask task)."""
    from snnc.frontend import export_onnx, sparsity
    from snnc.sweep import design_costs

    t0 = time.time()
    train = _train_module(point["example"])
    cfg = train.Config(weights=point["weights"], bits=point["bits"], state_quant=point["state_quant"],
                       state_bits=point["state_bits"], epochs=point["epochs"], sparsity=point["sparsity"],
                       seed=point["seed"])
    data = train.load(cfg.timesteps, cfg.seed) if point["example"] == "digits" else \
        train.load_event_digits(cfg.timesteps, cfg.seed)  # events/train.py imports it
    model, torch_accuracy = train.train(cfg, data, progress=False)
    shape = EXAMPLES[point["example"]]["shape"]
    x = data.x_test.reshape(data.x_test.shape[0], data.x_test.shape[1], *shape)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = Path(tmp) / "model.onnx"
        export_onnx(model, onnx_path, cfg.timesteps, shape)
        for lanes in point["lanes"]:
            rows.append({**{k: v for k, v in point.items() if k != "lanes"}, **design_costs(onnx_path, x, data.y_test, lanes),
                         "torch_accuracy": torch_accuracy, "pruned": sparsity(model), "seconds": time.time() - t0})
    return rows


def label(row: dict) -> str:
    w = {"uniform": f"W{row['bits']}", "ternary": "ternary", "binary": "binary", "sigmoid": f"sigmoid{row['bits']}"}
    s = {"uniform": "U", "threshold_centered": "TC"}[row["state_quant"]]
    return (f"{w[row['weights']]} {s}{row['state_bits']}" + (f" p{round(100 * row['sparsity'])}" if row["sparsity"] else "")
            + f" L{row['lanes']}")


def plot(rows: list[dict], fronts: dict, example: str, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    colors = {"uniform": "tab:blue", "ternary": "tab:green", "binary": "tab:red", "sigmoid": "tab:purple"}
    for ax, (cost, unit, scale) in zip(axes, [("energy_j", "energy per inference (uJ)", 1e6), ("luts", "LUT + LUTRAM", 1)]):
        for row in rows:  # the mean over seeds, the bars one standard deviation either way
            marker = {0.0: "o", 0.5: "s", 0.8: "^", 0.9: "v"}[row["sparsity"]]
            ax.errorbar(row[cost] * scale, 100 * row["accuracy"], xerr=row[f"{cost}_std"] * scale,
                        yerr=100 * row["accuracy_std"], fmt="none", ecolor=colors[row["weights"]], alpha=0.5, lw=0.8)
            ax.scatter(row[cost] * scale, 100 * row["accuracy"], c=colors[row["weights"]], marker=marker,
                       s=60 if row["bits"] != 8 else 90, alpha=0.75, edgecolors="k", linewidths=0.4)
        front = fronts[cost]
        ax.plot([r[cost] * scale for r in front], [100 * r["accuracy"] for r in front], "k--", lw=1)
        for r in front:
            ax.annotate(label(r), (r[cost] * scale, 100 * r["accuracy"]), fontsize=6, xytext=(3, -8),
                        textcoords="offset points")
        ax.set_xlabel(unit)
        ax.set_ylabel("test accuracy (%)")
        ax.set_xscale("log")
        ax.grid(alpha=0.3)
    handles = [plt.Line2D([], [], marker="o", ls="", c=c, label=k) for k, c in colors.items()] + \
        [plt.Line2D([], [], marker=m, ls="", c="gray", label=f"{round(100 * p)}% pruned") for p, m in
         {0.0: "o", 0.5: "s", 0.8: "^", 0.9: "v"}.items()]
    axes[1].legend(handles=handles, fontsize=7, loc="lower right")
    fig.suptitle(f"{example}: accuracy against energy and LUTs, mean over seeds +- std (dashed: Pareto front)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def _acc(r: dict) -> str:
    return f"{100 * r['accuracy']:.2f}% (+-{100 * r['accuracy_std']:.2f})"


def claims(rows: list[dict]) -> list[str]:
    """The seed claims of arXiv 2302.04174, as the data answers them (one paragraph each), from the
    means over seeds and their spread: a difference counts as a loss only where it exceeds both one
    point and the seeds' spread (the two standard deviations added in quadrature)."""
    def best(**where):
        match = [r for r in rows if all(r[k] == v for k, v in where.items())]
        return max(match, key=lambda r: r["accuracy"]) if match else None

    def loss(a: dict, b: dict) -> tuple[float, float]:
        """Points `b` loses against `a`, and the seeds' spread of that difference."""
        return 100 * (a["accuracy"] - b["accuracy"]), 100 * float(np.hypot(a["accuracy_std"], b["accuracy_std"]))

    one = min(r["lanes"] for r in rows)
    base = dict(state_quant="threshold_centered", state_bits=4, lanes=one)
    w4, w8 = best(weights="uniform", bits=4, sparsity=0.0, **base), best(weights="uniform", bits=8, sparsity=0.0, **base)
    ternary = best(weights="ternary", sparsity=0.0, **base)
    pruned = {p: best(weights="uniform", bits=4, sparsity=p, **base) for p in PRUNING}
    out = []
    if w4 and ternary:
        d, spread = loss(w4, ternary)
        out.append(f"**Ternary weights lose nothing?** Ternary reaches {_acc(ternary)} against {_acc(w4)} for "
                   f"4-bit weights ({-d:+.2f} points, spread {spread:.2f})"
                   + (f" and {_acc(w8)} for 8-bit" if w8 else "") + f", at {ternary['energy_j'] * 1e6:.3g} uJ against "
                   f"{w4['energy_j'] * 1e6:.3g} uJ per inference and {ternary['weight_bits']:,.0f} against "
                   f"{w4['weight_bits']:,.0f} weight bits. "
                   + ("The data agrees: the difference is within one point or the seeds' spread." if d <= max(1, spread)
                      else f"The data does not agree here: ternary is {d:.2f} points below, more than the seeds' spread."))
    if all(pruned.values()):
        acc = ", ".join(f"{round(100 * p)}%: {_acc(r)}" for p, r in pruned.items())
        drop = {p: loss(pruned[0.0], r) for p, r in pruned.items()}
        holds = [round(100 * p) for p, (d, spread) in drop.items() if d <= max(1, spread)]
        out.append(f"**Pruning holds accuracy only to about 80%?** 4-bit weights pruned to {acc}. Within one point "
                   f"(or the seeds' spread) of the unpruned model up to {max(holds)}% sparsity"
                   + (f"; at 90% it loses {drop[0.9][0]:.2f} points (spread {drop[0.9][1]:.2f})." if 90 not in holds
                      else "; 90% holds too.")
                   + (" The data agrees." if max(holds) == 80 else " The data puts the limit elsewhere."))
    if w4 and w8 and pruned.get(0.8):
        q_save = 1 - w4["dynamic_j"] / w8["dynamic_j"]
        p_save = 1 - pruned[0.8]["dynamic_j"] / w4["dynamic_j"]
        out.append(f"**Quantization is the cheaper way to save energy?** Going from 8-bit to 4-bit weights saves "
                   f"{100 * q_save:.1f}% of the dynamic energy ({-loss(w8, w4)[0]:+.2f} points); pruning the 4-bit "
                   f"model to 80% saves a further {100 * p_save:.1f}% ({-loss(w4, pruned[0.8])[0]:+.2f} points; sparse "
                   f"weights in {pruned[0.8]['sparse_layers']:.0f} layer(s)). Total energy, static power included: "
                   f"{w8['energy_j'] * 1e6:.3g}, {w4['energy_j'] * 1e6:.3g} and {pruned[0.8]['energy_j'] * 1e6:.3g} uJ. "
                   + ("The data agrees: quantization saves more for less accuracy." if q_save > p_save else
                      "The data does not agree here: on this engine pruning (with sparse weights) saves more."))
    return out


TABLE_HEAD = ["| design | accuracy (%) | per seed | torch (%) | energy (uJ) | dynamic (nJ) | latency (us) | LUT+LUTRAM | "
              "FF | BRAM36 | weight bits | zero weights | on a front |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]


def table_line(r: dict, fronts: str = "") -> str:
    """One design's row of the table (means over seeds; `fronts`: the fronts it is on)."""
    return (f"| {label(r)} | {100 * r['accuracy']:.2f} +- {100 * r['accuracy_std']:.2f} | "
            f"{' / '.join(f'{100 * a:.1f}' for a in r['accuracy_per_seed'])} | {100 * r['torch_accuracy']:.2f} | "
            f"{r['energy_j'] * 1e6:.3g} +- {r['energy_j_std'] * 1e6:.2g} | {r['dynamic_j'] * 1e9:.3g} | "
            f"{r['latency_us']:.0f} | {r['luts']:,.0f} | {r['ffs']:,.0f} | {r['bram36']:g} | "
            f"{r['weight_bits']:,.0f} | {100 * r['zero_weights']:.0f}% | {fronts} |")


def section(example: str, rows: list[dict], command: str, minutes: float, folder: Path) -> str:
    """The example's part of docs/pareto.md, its plot written to `folder`."""
    from snnc.sweep import pareto_front

    fronts = {cost: pareto_front(rows, cost) for cost in ("energy_j", "luts")}
    png = f"pareto_{example}.png"
    plot(rows, fronts, example, folder / png)
    seeds = " ".join(map(str, rows[0]["seeds"]))
    lines = [f"## {example}", "", f"Regenerate: `{command}` ({minutes:.0f} min on this machine's 2 cores).",
             f"{len(rows)} designs, each the mean over seeds {seeds.replace(' ', ', ')} (+- the standard deviation). "
             f"One row: `python examples/pareto.py --examples {example} --seeds {seeds} --designs \"W4 TC4 L1\"` "
             f"trains and measures that design again and prints its row. ![{example} fronts]({png})", ""] + TABLE_HEAD
    on = lambda r: " / ".join(k for k, name in (("energy", "energy_j"), ("LUTs", "luts")) if r in fronts[name])
    lines += [table_line(r, on(r)) for r in sorted(rows, key=lambda r: -r["accuracy"])]
    return "\n".join(lines + [""] + [p + "\n" for p in claims(rows)]) + "\n"


def main() -> int:
    from snnc import sweep
    from snnc.compiler.errors import SnncError

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--examples", nargs="+", choices=list(EXAMPLES), default=list(EXAMPLES))
    ap.add_argument("--quick", action="store_true", help="a few points, few epochs, one lane count")
    ap.add_argument("--store", type=Path, default=ROOT / "build" / "pareto", help="finished points (resume)")
    ap.add_argument("--scheduler", help="address of a running Dask scheduler (default: a local cluster)")
    ap.add_argument("--workers", type=int, help="local worker processes (default: one per core)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="each design is trained at every seed")
    ap.add_argument("--designs", nargs="+", metavar="LABEL",
                    help='only these designs (labels as in docs/pareto.md, e.g. "W4 TC4 L1"): train and measure them at '
                         "the seeds and print their rows; no markdown is written")
    ap.add_argument("--docs", type=Path, help="write this markdown file (default: docs/pareto.md unless --quick)")
    args = ap.parse_args()
    docs = None if args.designs else args.docs or (None if args.quick else ROOT / "docs" / "pareto.md")
    sections = []
    for example in args.examples:
        t0 = time.time()
        points = grid(example, args.quick, args.seeds)
        if args.designs:
            points = [p for p in points if any(label({**p, "lanes": n}) in args.designs for n in p["lanes"])]
            if not points:
                raise SnncError(f"{example}: no design is named {', '.join(args.designs)} (labels look like "
                                f"'W4 TC4 L1'; docs/pareto.md lists them)")
        rows = sweep.run(points, evaluate, args.store / example, args.scheduler, args.workers)
        # the compute of every point (the time of its last build), spread over the workers; a resumed run took less
        per_point = {}
        for r in rows:
            key = tuple(r[k] for k in ("weights", "bits", "state_quant", "state_bits", "sparsity", "seed"))
            per_point[key] = max(per_point.get(key, 0.0), r["seconds"])
        compute = sum(per_point.values())
        minutes = max(compute / 60 / (args.workers or 2), (time.time() - t0) / 60)
        rows = over_seeds(rows)
        if args.designs:
            print("\n".join(TABLE_HEAD + [table_line(r) for r in rows if label(r) in args.designs]))
            continue
        print(f"{example}: {len(rows)} designs", file=sys.stderr)
        for cost in ("energy_j", "luts"):
            print(f"  front over accuracy and {cost}: " + ", ".join(label(r) for r in sweep.pareto_front(rows, cost)))
        if docs:
            command = "python examples/pareto.py" + (f" --examples {example}" if len(EXAMPLES) > 1 else "") + \
                (f" --seeds {' '.join(map(str, args.seeds))}" if args.seeds != [0, 1, 2] else "") + \
                (" --quick" if args.quick else "")
            sections.append((example, section(example, rows, command, minutes, docs.parent)))
    if docs:  # this file's header, and the sections of the examples run; the other examples' sections stay
        old = docs.read_text() if docs.exists() else ""
        docs.write_text(HEADER + ("\n" + old[old.index("\n## ") + 1:] if "\n## " in old else ""))
        for example, text in sections:
            sweep.write_section(docs, f"## {example}", text)
        print(f"wrote {docs}")
    return 0


HEADER = """# What quantization and pruning cost: accuracy, energy and LUTs

The question of "The Hardware Impact of Quantization and Pruning for Weights in Spiking Neural
Networks" (arXiv 2302.04174), asked of snnc's engines: for each trained variant, its accuracy (the
golden model on the test set, equal to the RTL spike for spike), its energy per inference
(docs/energy.md: golden counts of the test set, the engines' schedule at 100 MHz, static power
included), its latency and its Yosys resources (LUT + LUTRAM, FF, BRAM36 of the network's engines).
Each design is `snnc compile --weights auto`: pruned dense layers store only their non-zero
weights where that is cheaper (docs/rtl.md). `python examples/pareto.py` regenerates this file and
the plots (snnc.sweep: Dask, one worker per core, resumable; `--scheduler` for a cluster).

Designs are labelled weights (W8, W4, ternary, binary, sigmoid4 = the sigmoid-sum quantizer),
states (U = uniform, TC = threshold-centered levels, bits), pruning (p50 = 50% of the weights
pruned by magnitude during training) and lanes (L1, L4). Each design is trained at 3 seeds: the
tables give the mean over seeds +- the standard deviation and each seed's accuracy, the plots bars of
one standard deviation, and the claims under each table are answered from that spread. Each weight
quantizer trains with its recipe (docs/frontend.md): binary, ternary and 2-bit weights start from
the float model of the same seed. `--examples digits` regenerates one example's section and keeps
the other's.
"""


if __name__ == "__main__":
    from snnc.compiler.errors import SnncError

    try:
        sys.exit(main())
    except SnncError as e:
        print(f"pareto: error: {e}", file=sys.stderr)
        sys.exit(1)
