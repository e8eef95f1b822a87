"""The shape of SQUAT's ablation (arXiv 2404.19668) on digits, written to docs/results.md and a plot.

Rows, each trained on every seed (mean and spread reported): float; weight QAT only; state
quantization only (uniform and threshold-centered); both; at 8, 4 and 2 bits; threshold-centered
against uniform states at 2, 3 and 4 state bits with 4-bit weights; ternary, binary and the
sigmoid-sum weight quantizer (binary, 2 and 4 bits); post-training quantization of the float model;
magnitude pruning to 50/80/90% sparsity; the small conv network.  Each quantizer trains with its
recipe (snnc.frontend.recipe): weights of at most 2 bits start from the float model of the same
seed; the "recipe" rows start each quantized row the other way.  Every run uses the same data
split, and per seed the same initialisation and spike trains.

    python examples/digits/sweep.py                     # 3 seeds, 2 worker processes, ~20 min
    python examples/digits/sweep.py --seeds 0 --quick   # a smoke run: 3 epochs
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).parent))
from train import Config, accuracy, load, train  # noqa: E402

from snnc.frontend import recipe  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FLOAT = Config(weights="float", state_quant="none")


def runs() -> list[tuple[str, str, Config]]:
    """(group, label, config) of every trained row."""
    rows = [("float", "float weights, float state", FLOAT)]
    for b in (8, 4, 2):
        rows.append(("weights", f"W{b} uniform QAT, float state", replace(FLOAT, weights="uniform", bits=b)))
        for sq in ("uniform", "threshold_centered"):
            rows.append((f"state {sq}", f"float weights, S{b} {sq}", replace(FLOAT, state_quant=sq, state_bits=b)))
        rows.append(("both", f"W{b} uniform, S{b} threshold_centered", Config(bits=b, state_bits=b)))
    for b in (2, 3, 4):
        for sq in ("uniform", "threshold_centered"):
            rows.append((f"W4 state {sq}", f"W4 uniform, S{b} {sq}", Config(state_quant=sq, state_bits=b)))
    rows += [("weights", "ternary weights, S4 threshold_centered", Config(weights="ternary", bits=2)),
             ("weights", "binary weights, S4 threshold_centered", Config(weights="binary", bits=1)),
             ("weights", "binary sigmoid-sum, S4 threshold_centered", Config(weights="sigmoid", bits=1)),
             ("weights", "W4 sigmoid-sum, S4 threshold_centered", Config(weights="sigmoid", bits=4)),
             ("weights", "W2 sigmoid-sum, S2 threshold_centered", Config(weights="sigmoid", bits=2, state_bits=2))]
    # each quantized row's other start: from scratch where its recipe warm-starts, and the other way round
    rows += [("recipe", f"{label}, {'from scratch' if warm else 'warm start'}", replace(cfg, warm_start=not warm))
             for group, label, cfg in list(rows) if group in ("weights", "both")
             for warm in [recipe(cfg.weights, cfg.bits).warm_start]]
    rows += [("pruning", f"W4, S4 threshold_centered, {int(s * 100)}% pruned", Config(sparsity=s)) for s in (0.5, 0.8, 0.9)]
    rows.append(("conv", "conv3x3(8)-10, W4, S4 threshold_centered", Config(arch="conv")))
    return rows


PTQ_BITS = (8, 4, 2)


def job(args: tuple[str, str, Config]) -> list[tuple[str, str, int, float]]:
    """Train one config; the float run also yields its post-training-quantized variants."""
    from snnc.frontend import post_training_quantize

    group, label, cfg = args
    data = load(cfg.timesteps, cfg.seed)
    model, acc = train(cfg, data, progress=False)
    out = [(group, label, cfg.seed, acc)]
    if cfg.weights == "float" and cfg.state_quant == "none" and cfg.arch == "mlp":
        for b in PTQ_BITS:
            q = post_training_quantize(model, "uniform", b, "threshold_centered", b)
            out.append(("ptq", f"PTQ of the float model: W{b} uniform, S{b} threshold_centered", cfg.seed,
                        accuracy(q, data.x_test, data.y_test, cfg.arch)))
    return out


def table(results: list[tuple[str, str, int, float]]) -> list[tuple[str, str, float, float, list[float]]]:
    """(group, label, mean, std, per-seed) in the order rows first appear."""
    order, by_label = [], {}
    for group, label, seed, acc in results:
        if label not in by_label:
            order.append((group, label))
            by_label[label] = {}
        by_label[label][seed] = acc
    rows = []
    for group, label in order:
        accs = [by_label[label][s] for s in sorted(by_label[label])]
        rows.append((group, label, float(np.mean(accs)), float(np.std(accs)), accs))
    return rows


def plot(rows, path: Path, float_acc: float) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    acc = {label: (m, s) for _, label, m, s, _ in rows}
    series = {
        "weight QAT (float state)": [f"W{b} uniform QAT, float state" for b in PTQ_BITS],
        "uniform state only": [f"float weights, S{b} uniform" for b in PTQ_BITS],
        "threshold-centered state only": [f"float weights, S{b} threshold_centered" for b in PTQ_BITS],
        "both (threshold-centered)": [f"W{b} uniform, S{b} threshold_centered" for b in PTQ_BITS],
        "PTQ (both)": [f"PTQ of the float model: W{b} uniform, S{b} threshold_centered" for b in PTQ_BITS],
    }
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name, labels in series.items():
        ys = [acc[lb] for lb in labels if lb in acc]
        if len(ys) == len(PTQ_BITS):
            ax.errorbar(PTQ_BITS, [100 * m for m, _ in ys], yerr=[100 * s for _, s in ys], marker="o", capsize=3, label=name)
    for bits, label, marker in ((2, "ternary weights, S4 threshold_centered", "s"), (1, "binary weights, S4 threshold_centered", "D")):
        if label in acc:
            ax.errorbar([bits], [100 * acc[label][0]], yerr=[100 * acc[label][1]], marker=marker, linestyle="none",
                        capsize=3, label=label.split(",")[0] + " (S4 TC)")
    ax.axhline(100 * float_acc, color="k", linestyle="--", linewidth=1, label="float")
    ax.set_xlabel("bits (weights and/or state)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_xticks([1, 2, 4, 8])
    ax.set_title("digits 64-128-10 SNN, T=16: accuracy against bits")
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def write_markdown(rows, seeds: list[int], command: str, minutes: float, path: Path, png: Path) -> None:
    acc = {label: (m, s, a) for _, label, m, s, a in rows}
    f_m = acc[FLOAT_LABEL][0]
    d_m, d_s, d_a = acc[DEPLOY_LABEL]
    lines = [
        "# Results: quantization and pruning on digits",
        "",
        f"Regenerate: `{command}` ({minutes:.1f} min on 2 cores; seeds {', '.join(map(str, seeds))}).",
        "Data: scikit-learn's digits, 1,347 train / 450 test (stratified split, fixed), rate coded over T=16",
        "timesteps (train spikes re-sampled each epoch, test spikes fixed per seed). Network 64-128-10 LIF",
        "(beta 0.875, threshold 1, reset subtract), 40 epochs of Adam (lr 2e-3, cosine), batch 64, cross-entropy",
        "on spike counts. Accuracy is the mean over seeds, +- the standard deviation, then each seed's value.",
        "Every quantized model runs the integer semantics of docs/spec.md section 2 in eval mode, so these numbers are",
        "what `snnc compile` and the RTL produce on the same spikes.",
        "",
        "## The deployment configuration",
        "",
        f"4-bit weights with 4-bit threshold-centered states: **{100 * d_m:.2f}%** (+-{100 * d_s:.2f}) against "
        f"**{100 * f_m:.2f}%** for the float model: a change of {100 * (d_m - f_m):+.2f} points. "
        f"Seed 0 alone: {100 * d_a[0]:.2f}% vs {100 * acc[FLOAT_LABEL][2][0]:.2f}% "
        "(`python examples/digits/train.py --seed 0`).",
        "",
        "## Threshold-centered against uniform states (4-bit weights)",
        "",
        "| state bits | uniform | threshold-centered | difference |",
        "|---|---|---|---|",
    ]
    for b in (2, 3, 4):
        u, tc = acc[f"W4 uniform, S{b} uniform"], acc[f"W4 uniform, S{b} threshold_centered"]
        lines.append(f"| {b} | {100 * u[0]:.2f} +- {100 * u[1]:.2f} | {100 * tc[0]:.2f} +- {100 * tc[1]:.2f} | "
                     f"{100 * (tc[0] - u[0]):+.2f} |")
    lines += ["", "## All rows", "", "| group | configuration | accuracy (%) | per seed |", "|---|---|---|---|"]
    for group, label, m, s, a in rows:
        lines.append(f"| {group} | {label} | {100 * m:.2f} +- {100 * s:.2f} | {' / '.join(f'{100 * x:.1f}' for x in a)} |")
    lines += ["", f"![accuracy against bits]({png.name})", ""]
    old = path.read_text() if path.exists() else ""
    kept = old[old.index(EVENTS_HEADING):] if EVENTS_HEADING in old else ""  # examples/events/sweep.py's section
    path.write_text("\n".join(lines) + ("\n" + kept if kept else ""))  # lines end with "", so a blank line


FLOAT_LABEL = "float weights, float state"
EVENTS_HEADING = "## Event-camera digits"
DEPLOY_LABEL = "W4 uniform, S4 threshold_centered"


def main() -> None:
    ap = argparse.ArgumentParser(description="Digits ablation: float, weight QAT, state quantization, both, "
                                 "ternary/binary/sigmoid-sum, PTQ, pruning; writes docs/results.md and a plot.")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="3 epochs per run (a smoke test of the script)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "results.md")
    args = ap.parse_args()
    jobs = [(g, lb, replace(cfg, seed=s, epochs=3 if args.quick else cfg.epochs))
            for s in args.seeds for g, lb, cfg in runs()]
    t0 = time.time()
    results = []
    with mp.get_context("spawn").Pool(args.workers) as pool:
        for out in tqdm(pool.imap_unordered(job, jobs), total=len(jobs), desc="training runs"):
            results += out
    order = {lb: i for i, (_, lb, _) in enumerate(runs())}
    results.sort(key=lambda r: (order.get(r[1], len(order)), r[1], r[2]))
    rows = table(results)
    png = args.out.with_name("results_bits.png")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    plot(rows, png, next(m for _, lb, m, _, _ in rows if lb == FLOAT_LABEL))
    cmd = "python examples/digits/sweep.py" + (f" --seeds {' '.join(map(str, args.seeds))}" if args.seeds != [0, 1, 2] else "")
    write_markdown(rows, args.seeds, cmd + (" --quick" if args.quick else ""), (time.time() - t0) / 60, args.out, png)
    print(f"wrote {args.out} and {png} ({len(jobs)} runs in {(time.time() - t0) / 60:.1f} min)")


if __name__ == "__main__":
    main()
