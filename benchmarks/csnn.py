"""The seeds' own workload: the event-camera CSNN of `make demo-events` (2x32x32 -> conv 8 3x3 / max
pool 2 of currents -> conv 16 3x3 / max pool 2 of spikes -> dense 10; 4-bit weights, 4-bit
threshold-centered states, T = 15), trained as the demo trains it (examples/events/train.py, seed
0), on its own test samples, at several lane configurations: each run in Verilator (cycles per
inference, RTL == golden) and synthesized by Yosys (LUT, LUTRAM, FF, BRAM, DSP48E1, the clock
estimate), as benchmarks/lanes.py measures the MLP, next to the published designs and the part's
bounds for this workload; and per layer the share of neurons an event-driven update would touch.

    python benchmarks/csnn.py [--samples 8] [--lanes 4 auto-luts-3000] [--onnx build/demo_events/events.onnx]

Without --onnx the model is trained here (about 2 minutes on one thread, the same weights bit for
bit as `make demo-events`, snnc.frontend.reproducible) and exported; --onnx takes an exported one.
An auto-luts-N or auto-us-X configuration is what `--lanes auto` chooses for the samples' spikes.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

from snnc.compiler import Options, compile_model
from snnc.sim import golden

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT / "examples" / "events"))
from lanes import COLUMNS, PUBLISHED, bandwidth_row, configuration, header, measure, table_row  # noqa: E402


def trained_onnx(folder: Path) -> tuple[Path, np.ndarray]:
    """The demo's QAT model, trained and exported into `folder`, and the test spikes [T, N, 2, 32, 32]."""
    from train import INPUT_SHAPE, Config, train  # noqa: E402  examples/events/train.py
    from snnc.frontend import export_onnx, float_twin
    from snnc.frontend.events import load_event_digits

    cfg = Config()
    data = load_event_digits(cfg.timesteps, cfg.seed)
    float_model, _ = train(float_twin(cfg), data)
    model, accuracy = train(cfg, data, float_model=float_model)
    print(f"trained the demo's CSNN: {100 * accuracy:.2f}% on the test split", file=sys.stderr)
    path = folder / "events.onnx"
    export_onnx(model, path, cfg.timesteps, INPUT_SHAPE)
    return path, data.x_test


def update_activity(net, x: np.ndarray) -> list[tuple[str, float, float, float]]:
    """Per LIF: the share of its neurons, over timesteps and samples, that receive input (any spike
    reaches them through the kernel taps, whatever the weights), that are not steady (a current of
    0 would change their stored state, compiler/update_skips.py) before the step, and either: the
    neurons an event-driven update must step (it skips whole groups of P lanes, so it steps more)."""
    from dataclasses import replace

    _, trace = golden.run(net, x, trace=True)
    out = []
    for stage, spikes, (_, away) in zip(net.stages, golden.engine_inputs(net, x, trace), golden.engine_updates(net, trace)):
        syn = stage.synapse
        n_t, n_b = spikes.shape[:2]
        ones = replace(syn, weight=np.ones_like(syn.weight), bias=np.zeros_like(syn.bias))
        reach = golden.synaptic_current(ones, spikes.reshape(n_t * n_b, *syn.in_shape), bias=False)
        reach = reach.reshape(n_t, n_b, *syn.out_shape)
        if stage.current_pool:  # a pooled LIF neuron receives what any neuron of its window does
            k, (c, h, w) = stage.current_pool.kernel, stage.current_pool.out_shape
            reach = reach[..., : h * k, : w * k].reshape(n_t, n_b, c, h, k, w, k).max(axis=(4, 6))
        out.append((stage.lif.name, float((reach > 0).mean()), float(away.mean()), float(((reach > 0) | away).mean())))
    return out


def engine_table(net, x: np.ndarray, texts: list[str]) -> list[str]:
    """Per configuration and engine, what the engine model gives for these samples: the scatter's and
    the update's cycles per timestep (their means; with two banks an engine takes about the larger,
    with one their sum), the dense update's, and which one bounds it."""
    from snnc.compiler.engine_model import network_models
    from snnc.energy import engine_counts

    _, trace = golden.run(net, x, trace=True)
    lines = ["| design | engine | P:U, banks | update | scatter cycles / timestep | update cycles / timestep "
             "(dense) | bound by |", "|---|---|---|---|---|---|---|"]
    for text in texts:
        name, impl = configuration(net, text, sample=x)
        for model, counts in zip(network_models(net, impl), engine_counts(net, impl, x, trace)):
            scatter, update = float(counts["scatter_cycles"].mean()), float(counts["update_cycles"].mean())
            li = model.geo.impl
            lines.append(f"| {name} | {model.lif.name} | {li.adders}:{li.units}, {li.banks} | "
                         f"{'event-driven' if model.event_driven else 'dense'} | {scatter:,.0f} | {update:,.0f} "
                         f"({model.update_cycles:,}) | {'scatter' if scatter > update else 'update'} |")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=8, help="test samples run in Verilator (the first N)")
    ap.add_argument("--lanes", nargs="*", default=["4", "auto-luts-3000", "8,16,10"])
    ap.add_argument("--onnx", type=Path, help="the exported demo model (default: train it here)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.onnx:
            from snnc.frontend.events import load_event_digits

            path, x_test = args.onnx, load_event_digits(15, 0).x_test
        else:
            path, x_test = trained_onnx(Path(tmp))
        net = compile_model(path, Options(bits=4))
    x = x_test[:, : args.samples]
    want = golden.run(net, x)
    print("| layer | neurons receiving input | not steady | either (what an event-driven update must step) |\n"
          "|---|---|---|---|")
    for name, reached, away, either in update_activity(net, x):
        print(f"| {name} | {100 * reached:.1f}% | {100 * away:.1f}% | {100 * either:.1f}% |")
    print("\n".join(engine_table(net, x, args.lanes)))
    rows = [measure(net, text, x, want, sample=x) for text in args.lanes]
    print(f"demo-events CSNN, W4, S4 threshold-centered, T={x.shape[0]}, its first {args.samples} test samples, "
          f"Yosys synth_xilinx (the network without activity counters)")
    print(header(COLUMNS))
    for row in rows:
        print(table_row(*row))
    for name, latency, logic, bram in PUBLISHED:  # MNIST MLPs: not this workload, the nearest published rows
        print(f"| {name} | | {latency} | {logic} | | | | {bram} | | | | | |")
    print(bandwidth_row(net, x))
    return 0 if all(r[6] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
