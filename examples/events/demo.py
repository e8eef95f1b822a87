"""The event-camera demo (`make demo-events`): a CSNN from training to the simulated board.

1. trains the event-digits CSNN (examples/events/train.py) twice with the same seed: float, and
   (from scratch, its recipe) QAT with 4-bit weights and 4-bit threshold-centered states;
2. exports the QAT model and runs `snnc compile --bits 4 --board arty-a7-35`;
3. runs the golden model on the whole test split (and checks the PyTorch model gives the same spikes);
4. runs the board core (network, UART, host protocol) in Verilator through the runtime's
   simulation backend on the first --rtl-samples test samples;
5. synthesizes the board core with Yosys and prints one table (examples/deploy_demo.py).

    python examples/events/demo.py [--board arty-a7-35] [--rtl-samples 20] [--epochs 8]
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parents[1])]
import deploy_demo  # noqa: E402
from train import INPUT_SHAPE, Config, train  # noqa: E402

from snnc.frontend import float_twin  # noqa: E402
from snnc.frontend.events import load_event_digits  # noqa: E402


def main() -> int:
    args = deploy_demo.arguments(__doc__, rtl_samples=20, epochs=Config.epochs, output="build/demo_events")
    t0 = time.time()
    cfg = Config(epochs=args.epochs, seed=args.seed)
    data = load_event_digits(cfg.timesteps, cfg.seed)
    print(f"[1/5] training the CSNN on event digits ({len(data.y_train)} train, {len(data.y_test)} test, "
          f"T={cfg.timesteps}, {args.epochs} epochs)")
    float_model, float_acc = train(float_twin(cfg), data)
    model, qat_acc = train(cfg, data, float_model=float_model)
    return deploy_demo.run(args, "snnc demo-events: CSNN 2x32x32 -> conv8/maxpool -> conv16/maxpool -> 10",
                           "events", float_acc, model, qat_acc, data.x_test, data.y_test, INPUT_SHAPE,
                           lambda x: torch.from_numpy(x).float(), t0)


if __name__ == "__main__":
    sys.exit(main())
