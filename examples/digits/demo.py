"""The end-to-end demo (`make demo`): train, export, compile for a board, run on the simulated board.

1. trains the digits 64-128-10 SNN twice with the same seed: float, and (from scratch, its recipe)
   QAT with 4-bit weights and 4-bit threshold-centered states (the deployment configuration);
2. exports the QAT model to the snnc ONNX dialect and runs `snnc compile --bits 4 --board arty-a7-35`;
3. runs the golden model on the whole test split (and checks the PyTorch model gives the same spikes);
4. runs the board core (network, UART, host protocol) in Verilator through the runtime's
   simulation backend on the first --rtl-samples test samples;
5. synthesizes the board core with Yosys and prints one table (examples/deploy_demo.py).

    python examples/digits/demo.py [--board arty-a7-35] [--rtl-samples 50]
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parents[1])]
import deploy_demo  # noqa: E402
from train import Config, as_input, load, train  # noqa: E402

from snnc.frontend import float_twin  # noqa: E402


def main() -> int:
    args = deploy_demo.arguments(__doc__, rtl_samples=50, epochs=Config.epochs, output="build/demo")
    t0 = time.time()
    cfg = Config(epochs=args.epochs, seed=args.seed)
    data = load(cfg.timesteps, cfg.seed)
    print(f"[1/5] training 64-128-10 on digits ({len(data.y_train)} train, {len(data.y_test)} test, T={cfg.timesteps})")
    float_model, float_acc = train(float_twin(cfg), data)
    model, qat_acc = train(cfg, data, float_model=float_model)
    return deploy_demo.run(args, "snnc demo: digits 64-128-10", "digits", float_acc, model, qat_acc,
                           data.x_test, data.y_test, (64,), lambda x: as_input(x, "mlp"), t0)


if __name__ == "__main__":
    sys.exit(main())
