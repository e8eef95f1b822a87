"""Measured RTL cycles per timestep against the event-driven lower bound, per layer.

For the digits-sized 64-128-10 and a 784-256-10 network at P = 1, 4, 16 lanes, runs the generated
Verilog in Verilator and reads each layer's busy-cycle counter (cycles the engine scattered spikes
or updated neurons).  The bound per layer and timestep is max(events * ceil(fan_out / P),
ceil(neurons / P)): every input spike must visit every group of P outputs, and every group of P
neurons must be updated once.  Prints measured/bound and the overhead per timestep beyond the
bound, the end-to-end cycles per timestep, and the wall time of the co-simulation.
Target: measured <= 1.25 x bound + a fixed pipeline overhead.

Usage: python benchmarks/rtl.py [--samples 4] [--timesteps 8] [--lanes 1 4 16]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from snnc.compiler.layer_impl import LayerImpl, implement
from snnc.compiler import ir, levels
from snnc.compiler.register_sizes import size_registers
from snnc.compiler.geometry import LayerGeometry
from snnc.sim import golden, rtl

NETWORKS = {"digits 64-128-10": (64, 128, 10), "784-256-10": (784, 256, 10)}


def network(sizes: tuple[int, ...], rng: np.random.Generator) -> ir.Network:
    """4-bit weights, 4-bit threshold-centered states, theta scaled to the fan-in."""
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = rng.integers(-7, 8, (n_out, n_in))
        theta = max(8, int(np.sqrt(n_in) * 3))
        lv = levels.integerize_levels(levels.threshold_centered_levels(4, theta), 1.0)
        layers += [ir.Dense(f"fc{i}", w, np.zeros(n_out, np.int64), np.zeros(n_out, np.int64), 4),
                   ir.LIF(f"lif{i}", (n_out,), theta, 15, 4, "subtract", "threshold_centered", int(lv[0]), int(lv[-1]), lv)]
    return size_registers(ir.validate(ir.Network("bench", (sizes[0],), tuple(layers))))


def bound_per_step(net: ir.Network, trace: golden.Trace, x: np.ndarray, lanes: int) -> dict[str, float]:
    """Mean over samples and timesteps of max(events * ceil(fan_out/P), ceil(neurons/P)) per layer."""
    out, layer_input = {}, x.reshape(*x.shape[:2], -1)
    for lif in net.lifs:
        geo = LayerGeometry(net.synapse_of(lif), LayerImpl.of(net.synapse_of(lif), lanes))
        events = layer_input.sum(axis=2)  # [T, B]
        per_step = np.maximum(events * geo.go, geo.groups)
        out[lif.name] = float(per_step.mean())
        layer_input = trace.outputs[lif.name].reshape(*x.shape[:2], -1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--timesteps", type=int, default=8)
    ap.add_argument("--lanes", type=int, nargs="+", default=[1, 4, 16])
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'network':<18} {'P':>3} {'layer':<6} {'bound/step':>11} {'busy/step':>10} {'ratio':>6} "
          f"{'overhead':>9} {'total/step':>11} {'sim s':>6}")
    with tempfile.TemporaryDirectory() as work:
        for label, sizes in NETWORKS.items():
            net = network(sizes, rng)
            x = (rng.random((args.timesteps, args.samples, sizes[0])) < 0.15).astype(np.uint8)
            out, trace = golden.run(net, x, trace=True)
            for lanes in args.lanes:
                t0 = time.time()
                res = rtl.run(net, x, implement(net, lanes), work_dir=Path(work))
                wall = time.time() - t0
                assert np.array_equal(res.outputs, out), "RTL disagrees with the golden model"
                bound = bound_per_step(net, trace, x, lanes)
                total = res.cycles.mean() / args.timesteps
                for lif in net.lifs:
                    busy = res.busy[lif.name].mean() / args.timesteps
                    b = bound[lif.name]
                    print(f"{label:<18} {lanes:>3} {lif.name:<6} {b:>11.1f} {busy:>10.1f} {busy / b:>6.2f} "
                          f"{busy - b:>9.1f} {total:>11.1f} {wall:>6.1f}")


if __name__ == "__main__":
    main()
