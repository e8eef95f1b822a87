"""Draw a few samples of the event-camera digits (snnc.frontend.events) as frames: ON events red,
OFF events blue, one row per sample, one column per frame.

    python examples/events/show.py -o docs/event_digits.png [--samples 4] [--timesteps 15] [--seed 0]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from snnc.frontend.events import EventCamera, bin_frames, digit_events  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--output", type=Path, default=Path("docs/event_digits.png"))
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--timesteps", type=int, default=15)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    from sklearn.datasets import load_digits

    data = load_digits()
    picks = [int(np.flatnonzero(data.target == d)[0]) for d in range(args.samples)]
    images = (data.data[picks] / 16.0).reshape(-1, 8, 8)
    frames = bin_frames(digit_events(images, EventCamera(), args.seed), args.timesteps)
    fig, axes = plt.subplots(args.samples, args.timesteps + 1, figsize=(args.timesteps + 1, args.samples * 1.05))
    for row in range(args.samples):
        axes[row, 0].imshow(images[row], cmap="gray")
        axes[row, 0].set_title(f"digit {data.target[picks[row]]}", fontsize=7)
        for t in range(args.timesteps):
            rgb = np.zeros((*frames.shape[-2:], 3))
            rgb[..., 0], rgb[..., 2] = frames[t, row, 0], frames[t, row, 1]
            axes[row, t + 1].imshow(rgb)
            if row == 0:
                axes[row, t + 1].set_title(f"t={t}", fontsize=7)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("event-camera digits: three saccades over a 32x32 DVS, ON red, OFF blue", fontsize=9)
    fig.tight_layout()
    fig.savefig(args.output, dpi=110)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
