"""Float against W4/S4, ternary and binary weights on the event-camera digits CSNN, 3 seeds each;
writes the "Event-camera digits" section of docs/results.md (the rest of the file is the digits
sweep's, examples/digits/sweep.py, which keeps this section).

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
from train import Config, train  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
HEADING = "## Event-camera digits"
RUNS = [("float weights, float state", Config(weights="float", state_quant="none")),
        ("W4 uniform, S4 threshold-centered", Config()),
        ("ternary weights, S4 threshold-centered", Config(weights="ternary", bits=2)),
        ("binary weights, S4 threshold-centered", Config(weights="binary", bits=1))]


def job(args: tuple[str, Config]) -> tuple[str, int, float, float]:
    label, cfg = args
    t0 = time.time()
    _, acc = train(cfg, progress=False)
    return label, cfg.seed, acc, time.time() - t0


def section(results, seeds: list[int], command: str, minutes: float, epochs: int) -> str:
    by = {label: {} for label, _ in RUNS}
    minutes_per = {label: [] for label, _ in RUNS}
    for label, seed, acc, secs in results:
        by[label][seed] = acc
        minutes_per[label].append(secs / 60)
    lines = [HEADING, "",
             f"Regenerate: `{command}` ({minutes:.1f} min on 2 cores; seeds {', '.join(map(str, seeds))}).",
             "Data: `snnc.frontend.events.load_event_digits` (docs/frontend.md): the 1,347 / 450 digits split as",
             "32x32 ON/OFF event frames from three saccades, T=15. Network (examples/events/train.py): conv 3x3",
             "2->8 + max pool 2 of the currents, LIF; conv 3x3 8->16, LIF, max pool 2 of the spikes; dense",
             f"1024->10, LIF (beta 0.875, threshold 1). {epochs} epochs of Adam (lr 3e-3, cosine), batch 32.",
             "Mean over seeds +- standard deviation, then each seed. Quantized models compute the integer",
             "semantics in eval mode: these are the golden model's and the RTL's accuracies on the same frames.",
             "", "| configuration | accuracy (%) | per seed | minutes per run |", "|---|---|---|---|"]
    for label, _ in RUNS:
        accs = [by[label][s] for s in sorted(by[label])]
        lines.append(f"| {label} | {100 * np.mean(accs):.2f} +- {100 * np.std(accs):.2f} | "
                     f"{' / '.join(f'{100 * a:.1f}' for a in accs)} | {np.mean(minutes_per[label]):.1f} |")
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
    jobs = [(label, replace(cfg, seed=s, epochs=epochs)) for s in args.seeds for label, cfg in RUNS]
    t0 = time.time()
    with mp.get_context("spawn").Pool(args.workers) as pool:
        results = list(tqdm(pool.imap_unordered(job, jobs), total=len(jobs), desc="training runs"))
    cmd = "python examples/events/sweep.py" + (f" --seeds {' '.join(map(str, args.seeds))}" if args.seeds != [0, 1, 2] else "")
    text = section(results, args.seeds, cmd + (" --quick" if args.quick else ""), (time.time() - t0) / 60, epochs)
    old = args.out.read_text() if args.out.exists() else ""
    head = (old[:old.index(HEADING)] if HEADING in old else old).rstrip("\n")
    after = old.find("\n## ", old.index(HEADING) + 1) if HEADING in old else -1  # the sections after this one
    args.out.write_text((head + "\n\n" if head else "") + text + ("\n" + old[after + 1:] if after >= 0 else ""))
    print(text)
    print(f"wrote {args.out} ({len(jobs)} runs in {(time.time() - t0) / 60:.1f} min)")


if __name__ == "__main__":
    main()
