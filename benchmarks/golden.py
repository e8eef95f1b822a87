"""Golden-model throughput on a 784-256-256-10 network, batch 64, T = 32, next to a plain float
PyTorch LIF loop (per-timestep Linear + LIF, torch.no_grad, CPU) on the same network and input.

Prints timestep-neurons per second (T * B * hidden+output neurons / seconds) for both and their ratio.
Target: golden / torch >= 1.  Needs the [train] extra (torch) for the comparison.
"""
from __future__ import annotations

import time

import numpy as np

from snnc.compiler import ir
from snnc.compiler.register_sizes import size_registers
from snnc.sim import golden

SIZES, T, BATCH, REPEATS = (784, 256, 256, 10), 32, 64, 5


def network(rng: np.random.Generator) -> ir.Network:
    layers = []
    for i, (n_in, n_out) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        w = rng.integers(-7, 8, (n_out, n_in))
        layers += [ir.Dense(f"fc{i}", w, np.zeros(n_out, np.int64), np.zeros(n_out, np.int64), 4),
                   ir.LIF(f"lif{i}", (n_out,), 64, 15, 4, "subtract", "none", -32768, 32767)]
    return size_registers(ir.validate(ir.Network("bench", (SIZES[0],), tuple(layers))))


def best_time(fn) -> float:
    fn()  # warm-up
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def torch_loop(net: ir.Network, x: np.ndarray):
    import torch

    torch.set_num_threads(2)
    linears = [torch.nn.Linear(*reversed(layer.weight.shape), bias=False) for layer in net.layers[::2]]
    for lin, layer in zip(linears, net.layers[::2]):
        lin.weight.data = torch.tensor(layer.weight, dtype=torch.float32)
    xs = torch.tensor(x, dtype=torch.float32)

    def run():
        with torch.no_grad():
            mems = [torch.zeros(BATCH, lin.out_features) for lin in linears]
            out = []
            for t in range(T):
                s = xs[t]
                for i, lin in enumerate(linears):
                    mems[i] = 0.9375 * mems[i] + lin(s)
                    s = (mems[i] >= 64).float()
                    mems[i] = mems[i] - 64 * s
                out.append(s)
            return torch.stack(out)
    return run


def main() -> None:
    rng = np.random.default_rng(0)
    net = network(rng)
    x = (rng.random((T, BATCH, SIZES[0])) < 0.2).astype(np.uint8)
    work = T * BATCH * sum(SIZES[1:])
    g = best_time(lambda: golden.run(net, x))
    print(f"network {'-'.join(map(str, SIZES))}, batch {BATCH}, T {T}, best of {REPEATS}")
    print(f"golden model (numpy, integer-exact): {g * 1e3:8.1f} ms  {work / g / 1e6:8.2f} M timestep-neurons/s")
    try:
        tl = best_time(torch_loop(net, x))
    except ImportError:
        print("float PyTorch LIF loop: torch not installed (pip install -e '.[train]')")
        return
    print(f"float PyTorch LIF loop:              {tl * 1e3:8.1f} ms  {work / tl / 1e6:8.2f} M timestep-neurons/s")
    print(f"ratio golden/torch throughput: {tl / g:.2f}x (target >= 1)")


if __name__ == "__main__":
    main()
