"""Float against W4/S4, ternary, binary and sigmoid-sum binary weights on the event-camera digits
CSNN, 3 seeds each, each quantizer with its training recipe (snnc.frontend.recipe) and, for the
recipe's choice, the alternatives it was chosen over (from scratch, and from scratch with the float
model's epochs added); writes the "Event-camera digits" section of docs/results.md (the rest of the
file is the digits sweep's, examples/digits/sweep.py, which keeps this section).

The float models train first; the warm-started runs then start from their seed's float model.

    python examples/events/sweep.py                      # 3 seeds, 2 worker processes
    python examples/events/sweep.py --seeds 0 --quick    # a smoke run: 1 epoch
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
from train import Config, build, train  # noqa: E402

from snnc.frontend import float_twin, is_warm, recipe  # noqa: E402
from snnc.sweep import write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
HEADING = "## Event-camera digits"
FLOAT = Config(weights="float", state_quant="none")
QUANTIZED = [("W4 uniform", Config()), ("ternary", Config(weights="ternary", bits=2)),
             ("binary", Config(weights="binary", bits=1)), ("sigmoid-sum binary", Config(weights="sigmoid", bits=1))]


def starts(cfg: Config) -> list[tuple[str, Config]]:
    """`cfg` from the float model and from scratch, with the same epochs and with the float model's
    epochs added: the alternatives its recipe was chosen from (marked "(recipe)")."""
    runs = [("warm start", replace(cfg, warm_start=True)), ("from scratch", replace(cfg, warm_start=False)),
            (f"from scratch, {2 * cfg.epochs} epochs", replace(cfg, warm_start=False, epochs=2 * cfg.epochs))]
    chosen = recipe(cfg.weights, cfg.bits).warm_start
    return [(name + (" (recipe)" if c.warm_start == chosen and c.epochs == cfg.epochs else ""), c) for name, c in runs]


RUNS = [("float weights, float state", "", FLOAT)] + [
    (f"{name}, S4 threshold-centered", start, c) for name, cfg in QUANTIZED for start, c in starts(cfg)]


def job(args: tuple[str, str, Config, dict | None]) -> tuple[str, str, int, float, float, dict | None]:
    """One run; a warm start gets its seed's float weights; a float run returns its weights."""
    label, start, cfg, float_state = args
    t0 = time.time()
    float_model = None
    if float_state is not None:
        float_model = build(float_twin(cfg))
        float_model.load_state_dict(float_state)
    model, acc = train(cfg, progress=False, float_model=float_model)
    return label, start, cfg.seed, acc, time.time() - t0, model.state_dict() if cfg.weights == "float" else None


def section(results, seeds: list[int], command: str, minutes: float, epochs: int) -> str:
    by, minutes_per = {}, {}
    for label, start, seed, acc, secs, _ in results:
        by.setdefault((label, start), {})[seed] = acc
        minutes_per.setdefault((label, start), []).append(secs / 60)
    lines = [HEADING, "",
             f"Regenerate: `{command}` ({minutes:.1f} min on 2 cores; seeds {', '.join(map(str, seeds))}).",
             "Data: `snnc.frontend.events.load_event_digits` (docs/frontend.md): the 1,347 / 450 digits split as",
             "32x32 ON/OFF event frames from three saccades, T=15. Network (examples/events/train.py): conv 3x3",
             "2->8 + max pool 2 of the currents, LIF; conv 3x3 8->16, LIF, max pool 2 of the spikes; dense",
             f"1024->10, LIF (beta 0.875, threshold 1). {epochs} epochs of Adam (lr 3e-3, cosine), batch 32.",
             "Each quantizer trains with its recipe (snnc.frontend.recipe, docs/frontend.md): a warm start",
             "begins from the float model of the same seed (the first row), so its runs cost that model's",
             "epochs too; the rows under it are the alternatives the recipe was chosen over. Mean over seeds",
             "+- standard deviation, then each seed; minutes per run exclude the float model. Quantized models",
             "compute the integer semantics in eval mode: these are the golden model's and the RTL's",
             "accuracies on the same frames. One run of a row: `python examples/events/train.py --weights W",
             "--bits B --seed S` (ternary: `--bits 2`, binary `--bits 1`, sigmoid-sum binary `--weights sigmoid",
             "--bits 1`; `--no-warm-start`, `--epochs 16` for the other starts) prints its accuracy.",
             "", "| configuration | start | accuracy (%) | per seed | minutes per run |", "|---|---|---|---|---|"]
    for label, start, _ in RUNS:
        accs = [by[label, start][s] for s in sorted(by[label, start])]
        lines.append(f"| {label} | {start or '-'} | {100 * np.mean(accs):.2f} +- {100 * np.std(accs):.2f} | "
                     f"{' / '.join(f'{100 * a:.1f}' for a in accs)} | {np.mean(minutes_per[label, start]):.1f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description="Event-digits CSNN: float, W4/S4, ternary, binary over seeds; "
                                 "writes its section of docs/results.md.")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="1 epoch per run (a smoke test of the script)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "results.md")
    args = ap.parse_args()
    epochs = 1 if args.quick else Config.epochs
    jobs = [(label, start, replace(cfg, seed=s, epochs=cfg.epochs * epochs // Config.epochs)) for s in args.seeds
            for label, start, cfg in RUNS]
    t0 = time.time()
    with mp.get_context("spawn").Pool(args.workers) as pool, tqdm(total=len(jobs), desc="training runs") as bar:
        # the runs from scratch (the float models among them) first, then the warm starts from those
        results, float_states = [], {}
        for phase in (False, True):
            todo = [(label, start, cfg, float_states[cfg.seed] if phase else None)
                    for label, start, cfg in jobs if is_warm(cfg) == phase]
            for result in pool.imap_unordered(job, todo):
                results.append(result)
                if result[5] is not None:
                    float_states[result[2]] = result[5]
                bar.update()
    cmd = "python examples/events/sweep.py" + (f" --seeds {' '.join(map(str, args.seeds))}" if args.seeds != [0, 1, 2] else "")
    text = section(results, args.seeds, cmd + (" --quick" if args.quick else ""), (time.time() - t0) / 60, epochs)
    write_section(args.out, HEADING, text)
    print(text)
    print(f"wrote {args.out} ({len(jobs)} runs in {(time.time() - t0) / 60:.1f} min)")


if __name__ == "__main__":
    main()
