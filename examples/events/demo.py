"""The event-camera demo (`make demo-events`): a CSNN from training to the simulated board.

1. trains the event-digits CSNN (examples/events/train.py) twice with the same seed: float, and
   QAT with 4-bit weights and 4-bit threshold-centered states;
2. exports the QAT model and runs `snnc compile --bits 4 --board arty-a7-35`;
3. runs the golden model on the whole test split (and checks the PyTorch model gives the same spikes);
4. runs the board core (network, UART, host protocol) in Verilator through the runtime's
   simulation backend on the first --rtl-samples test samples;
5. synthesizes the board core with Yosys and prints one table (build/demo_events/demo.txt).

    python examples/events/demo.py [--board arty-a7-35] [--rtl-samples 20] [--epochs 8]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).parent))
from train import INPUT_SHAPE, Config, train  # noqa: E402

from snnc.boards import get_board  # noqa: E402
from snnc.build import BuildConfig, build, synthesis  # noqa: E402
from snnc.compiler.errors import SnncError  # noqa: E402
from snnc.frontend import export_onnx  # noqa: E402
from snnc.frontend.events import load_event_digits  # noqa: E402
from snnc.runtime import Device  # noqa: E402
from snnc.sim import golden  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--board", default="arty-a7-35")
    ap.add_argument("--baud", type=int, default=3_000_000, help="UART rate (the simulation runs every bit)")
    ap.add_argument("--lanes", type=int, default=4)
    ap.add_argument("--rtl-samples", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=Config.epochs)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--output", type=Path, default=Path("build/demo_events"))
    args = ap.parse_args()
    torch.set_num_threads(2)
    t0 = time.time()
    args.output.mkdir(parents=True, exist_ok=True)

    cfg = Config(epochs=args.epochs, seed=args.seed)
    data = load_event_digits(cfg.timesteps, cfg.seed)
    print(f"[1/5] training the CSNN on event digits ({len(data.y_train)} train, {len(data.y_test)} test, "
          f"T={cfg.timesteps}, {args.epochs} epochs)")
    _, float_acc = train(Config(weights="float", state_quant="none", epochs=args.epochs, seed=args.seed), data)
    model, qat_acc = train(cfg, data)

    onnx_path, build_dir = args.output / "events.onnx", args.output / f"events_{args.board}"
    print(f"[2/5] export {onnx_path}, snnc compile --bits 4 --board {args.board}")
    export_onnx(model, onnx_path, cfg.timesteps, INPUT_SHAPE)
    try:
        result = build(BuildConfig(onnx_path, build_dir, bits=4, lanes=args.lanes, board=args.board, baud=args.baud))
    except SnncError as e:
        print(f"snnc: error: {e}", file=sys.stderr)
        return 1
    net, settings = result.net, result.settings

    print("[3/5] golden model on the whole test split")
    x, y = data.x_test, data.y_test
    ref = golden.run(net, x)
    golden_acc = float((golden.classify(ref) == y).mean())
    with torch.no_grad():
        torch_spikes = np.concatenate([model(torch.from_numpy(x[:, i:i + 128]).float()).numpy()
                                       for i in range(0, x.shape[1], 128)], axis=1).astype(np.uint8)
    torch_exact = np.array_equal(torch_spikes, ref.reshape(torch_spikes.shape))

    n = min(args.rtl_samples, x.shape[1])
    print(f"[4/5] the board core in Verilator over its UART ({args.baud} baud), {n} samples")
    with Device.simulated(build_dir) as device:
        out, cycles = device.run(x[:, :n], progress=lambda r: tqdm(r, unit="sample", leave=False))
    rtl_acc = float((golden.classify(out) == y[:n]).mean())
    per_sample = [np.array_equal(out[:, b], ref[:, b].reshape(out[:, b].shape)) for b in range(n)]
    agreement = 100.0 * np.mean(per_sample)

    print("[5/5] Yosys synth_xilinx of the board core")
    board = get_board(args.board)
    util = board.utilisation(synthesis(build_dir, settings)["resources"])

    rows = [
        ("float CSNN (PyTorch), test split", f"{100 * float_acc:.2f}%"),
        ("QAT W4 / S4 threshold-centered (PyTorch)", f"{100 * qat_acc:.2f}%"),
        (f"golden model, {len(y)} test samples", f"{100 * golden_acc:.2f}%  (PyTorch spikes identical: {torch_exact})"),
        (f"RTL board core over UART, {n} samples", f"{100 * rtl_acc:.2f}%  (golden on the same: "
                                                    f"{100 * float((golden.classify(ref[:, :n]) == y[:n]).mean()):.2f}%)"),
        ("spike-exact agreement RTL == golden", f"{agreement:.1f}% of samples ({n * cfg.timesteps * 10} output bits)"),
        (f"cycles per inference (T={cfg.timesteps})", f"{np.mean(cycles):.0f} mean, {min(cycles)}..{max(cycles)}; "
                                                      f"{np.mean(cycles) / board.clock_hz * 1e6:.1f} us at "
                                                      f"{board.clock_hz / 1e6:g} MHz"),
    ] + [(f"{k} on {board.part}", f"{u['used']:g} / {u['available']} ({u['percent']:.2f}%)") for k, u in util.items()]
    width = max(len(r[0]) for r in rows)
    table = "\n".join([f"snnc demo-events: CSNN 2x32x32 -> conv8/maxpool -> conv16/maxpool -> 10 on {board.title}, "
                       f"{args.lanes} lanes, design {settings.identity:08x}", "-" * (width + 40)] +
                      [f"{k.ljust(width)}  {v}" for k, v in rows])
    print("\n" + table)
    (args.output / "demo.txt").write_text(table + "\n")
    print(f"\n(table in {args.output / 'demo.txt'}; {time.time() - t0:.0f} s in all)")
    return 0 if agreement == 100.0 and torch_exact else 1


if __name__ == "__main__":
    sys.exit(main())
