"""Binary and ternary weights at the W4 network's weight memory: the event-camera CSNN with 4-bit
weights against ternary weights at twice its conv channels and binary at four times, each with its
training recipe, 3 seeds: accuracy, and what each design costs on the
FPGA (snnc.sweep.design_costs: golden accuracy, energy and latency at 100 MHz, Yosys LUT, FF and
BRAM, one lane per layer).  Writes the "Equal weight memory" section of docs/results.md.

    python examples/events/memory.py                        # 3 seeds, on Dask (all cores), resumable
    python examples/events/memory.py --seeds 0 --quick      # a smoke run: 1 epoch

Finished points are kept in --store (default build/memory): an interrupted run resumes there.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
HEADING = "## Equal weight memory (event-camera digits)"
DESIGNS = {  # name: (weights, bits, width)
    "W4 uniform, 8-16 channels": ("uniform", 4, 1),
    "ternary, 16-32 channels (2x)": ("ternary", 2, 2),
    "binary, 32-64 channels (4x)": ("binary", 1, 4),
}
LANES = 1


def _train_module():
    sys.path.insert(0, str(Path(__file__).parent))
    import train

    return train


def evaluate(point: dict) -> list[dict]:
    """Train one design at one seed (its recipe: a warm start trains its float model first), export
    it, and measure its build (a Dask task)."""
    from snnc.frontend import export_onnx
    from snnc.sweep import design_costs

    train = _train_module()
    t0 = time.time()
    weights, bits, width = DESIGNS[point["design"]]
    cfg = train.Config(weights=weights, bits=bits, width=width, epochs=point["epochs"], seed=point["seed"])
    data = train.load_event_digits(cfg.timesteps, cfg.seed)
    model, torch_accuracy = train.train(cfg, data, progress=False)
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = Path(tmp) / "model.onnx"
        export_onnx(model, onnx_path, cfg.timesteps, train.INPUT_SHAPE)
        costs = design_costs(onnx_path, data.x_test, data.y_test, LANES)
    return [{**point, **costs, "torch_accuracy": torch_accuracy, "minutes": (time.time() - t0) / 60}]


def section(rows: list[dict], seeds: list[int], command: str, minutes: float) -> str:
    mean = lambda name, key: float(np.mean([r[key] for r in rows if r["design"] == name]))

    def span(name: str, key: str) -> str:
        # BRAM36 counts are whole blocks: a mean of 15 and 16 reads better as the range it spans
        values = [r[key] for r in rows if r["design"] == name]
        return f"{min(values):g}" if min(values) == max(values) else f"{min(values):g}-{max(values):g}"
    lines = [HEADING, "",
             f"Regenerate: `{command}` ({minutes:.0f} min on 2 cores; seeds {', '.join(map(str, seeds))}).",
             "The question a hardware user asks of binary and ternary weights: not \"what do they lose at the",
             "same channels\" but \"what do they give for the same weight memory\". The event-digits CSNN",
             "(examples/events/train.py, S4 threshold-centered states, each quantizer's recipe) with 4-bit",
             "weights, against ternary weights at 2x and binary at 4x the conv channels (`--width`); the dense",
             "layer's inputs grow with the channels. Accuracy: mean +- standard deviation over seeds, then each",
             "seed (the golden model on the 450 test samples, equal to the RTL spike for spike). Costs: the",
             f"mean over seeds of `snnc.sweep.design_costs` at {LANES} lane per layer (`--weights auto`), energy",
             "and latency at 100 MHz (docs/energy.md), Yosys LUT + LUTRAM, FF and BRAM36 (its range over seeds) of the engines.",
             "", "| design | weight bits | accuracy (%) | per seed | LUT+LUTRAM | FF | BRAM36 | latency (us) | "
             "energy (uJ) | dynamic (nJ) | minutes per run |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name in DESIGNS:
        accs = [r["accuracy"] for r in sorted((r for r in rows if r["design"] == name), key=lambda r: r["seed"])]
        if not accs:
            continue
        lines.append(f"| {name} | {round(mean(name, 'weight_bits')):,} | {100 * np.mean(accs):.2f} +- "
                     f"{100 * np.std(accs):.2f} | {' / '.join(f'{100 * a:.1f}' for a in accs)} | "
                     f"{round(mean(name, 'luts')):,} | {round(mean(name, 'ffs')):,} | {span(name, 'bram36')} | "
                     f"{mean(name, 'latency_us'):.0f} | {1e6 * mean(name, 'energy_j'):.3g} | "
                     f"{1e9 * mean(name, 'dynamic_j'):.3g} | {mean(name, 'minutes'):.1f} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    from snnc import sweep

    ap = argparse.ArgumentParser(description="Binary and ternary CSNNs widened to the W4 network's weight memory, "
                                 "against W4: accuracy, LUTs, latency, energy; writes its section of docs/results.md.")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--quick", action="store_true", help="1 epoch per run (a smoke test of the script)")
    ap.add_argument("--store", type=Path, default=ROOT / "build" / "memory", help="finished points (resume)")
    ap.add_argument("--workers", type=int, help="local worker processes (default: one per core)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "results.md")
    args = ap.parse_args()
    epochs = 1 if args.quick else _train_module().Config.epochs
    # the widest designs first: the longest runs start while the others fill the other cores
    points = [{"design": name, "seed": s, "epochs": epochs} for name in reversed(DESIGNS) for s in args.seeds]
    t0 = time.time()
    rows = sweep.run(points, evaluate, args.store, workers=args.workers)
    minutes = max(sum(r["minutes"] for r in rows) / (args.workers or 2), (time.time() - t0) / 60)
    cmd = "python examples/events/memory.py" + (f" --seeds {' '.join(map(str, args.seeds))}" if args.seeds != [0, 1, 2]
                                                else "") + (" --quick" if args.quick else "")
    text = section(rows, args.seeds, cmd, minutes)
    sweep.write_section(args.out, HEADING, text)
    print(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    from snnc.compiler.errors import SnncError

    try:
        sys.exit(main())
    except SnncError as e:
        print(f"memory: error: {e}", file=sys.stderr)
        sys.exit(1)
