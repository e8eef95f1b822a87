"""`snnc compile --lanes auto`: each layer's scatter lanes P and LIF update units U, chosen from the
engine's cost model for a target (`max_luts`, or `max_latency_us` at the board clock).

Cycles of one inference: each layer's EngineModel.inference_cycles for the spikes it takes (its
scatter per input spike and end token, its update per timestep, overlapped with two accumulator
banks); the layers' sum is the estimate (an upper one: layers also overlap each other).  The input
spikes of every layer come from a sample input run through the golden model, or from Bernoulli
input spikes at a given rate (hidden layers then spike as the network makes them).

LUTs: the engine model's estimate (snnc.compiler.engine_model: its coefficients and the designs
they were fitted to are in engine_fit.json, with the model's worst error on them as its margin);
`snnc report` synthesizes the chosen design for the real count.

The search is exact under the model: every layer's options (P the fewest lanes for each number of
channel groups, ceil(C_out / g); U every divisor of P) reduced to their cycles-LUT Pareto front,
the fronts combined layer by layer; then the fastest design whose estimate times the fit's margin (the
model's worst error on the measured designs) fits max_luts, or the smallest within max_latency_us.
"""
from __future__ import annotations

from functools import cache

import numpy as np

from snnc.compiler import ir
from snnc.compiler.engine_model import EngineModel, design_luts, engine_fit
from snnc.compiler.errors import SnncError
from snnc.compiler.geometry import LayerGeometry
from snnc.compiler.layer_impl import lanes_text
from snnc.sim import golden

AUTO_SAMPLES = 16        # Bernoulli samples when only a rate is given


def lut_margin() -> float:
    """A LUT budget holds the estimate times this: the model's worst error on its measured designs."""
    return engine_fit()["margin"]


def expected_inputs(net: ir.Network, timesteps: int, rate: float | None = None,
                    sample: np.ndarray | None = None, seed: int = 0) -> list[np.ndarray]:
    """Each engine's input spikes [T, B, ...]: from `sample` (spikes [T, B, *input_shape]) or from
    AUTO_SAMPLES Bernoulli(rate) inputs, through the golden model."""
    if sample is None:
        if rate is None or not 0 < rate <= 1:
            raise SnncError(f"--lanes auto needs an input spike rate in (0, 1] or a sample input, got {rate}")
        shape = (timesteps, AUTO_SAMPLES, *net.input_shape)
        sample = (np.random.default_rng(seed).random(shape) < rate).astype(np.uint8)
    sample = golden.check_spikes(sample, net.input_shape)
    _, trace = golden.run(net, sample, trace=True)
    return golden.engine_inputs(net, sample, trace)


def layer_model(stage: ir.Stage, spikes: np.ndarray):
    """cost(P, U, single_bank=False) -> (cycles per inference, LUTs) of one engine taking `spikes`
    [T, B, ...] (the mean over the samples), by its EngineModel at P lanes and U units."""

    @cache
    def scatter_cycles(lanes: int) -> float:  # per inference at `lanes` (the sparse choice depends on them)
        model = EngineModel(LayerGeometry.of_stage(stage, lanes), stage.lif)
        return float(model.scatter_cycles(spikes).sum(axis=0).mean())

    def cost(lanes: int, units: int, single_bank: bool = False) -> tuple[float, float]:
        model = EngineModel(LayerGeometry.of_stage(stage, lanes, units), stage.lif, 1 if single_bank else 2)
        return model.inference_cycles(scatter_cycles(model.geo.lanes), spikes.shape[0]), model.luts
    return cost


def _options(stage: ir.Stage, spikes: np.ndarray, banks: tuple[bool, ...]) -> list[tuple[tuple, float, float]]:
    """((P, U, single_bank), cycles per inference, LUTs) of one engine's choices on their Pareto
    front; banks: the single_bank values allowed."""
    co, cost = stage.synapse.weight.shape[0], layer_model(stage, spikes)
    # the fewest lanes for each number of channel groups (more only idle), every divisor as units
    choices = {(p, u, one) for p in {-(-co // groups) for groups in range(1, co + 1)}
               for u in range(1, p + 1) if p % u == 0 for one in banks}
    return [(pu, c, lut) for c, lut, pu in _pareto([(*cost(*pu), pu) for pu in choices])]


def _pareto(options):
    """The options (cycles, luts, ...) that no other beats in both cycles and LUTs, by LUTs."""
    front, best = [], float("inf")
    for option in sorted(options, key=lambda o: (o[1], o[0])):
        if option[0] < best:
            front.append(option)
            best = option[0]
    return front


def choose_lanes(net: ir.Network, inputs: list[np.ndarray], clock_hz: float, max_luts: int | None = None,
                 max_latency_us: float | None = None, accumulators: str = "auto",
                 forced_single: frozenset[str] = frozenset()) -> tuple[tuple[tuple[int, int], ...], frozenset[str], list[str]]:
    """Per layer (P, U) and the layers to give one accumulator bank, for the target, and the lines
    that say why.  accumulators: "auto" (either, per layer), "double" or "single" (every layer);
    forced_single: layers that must have one bank (too large for two).  The network's options are
    the Pareto front of the layers' fronts combined (cycles and LUTs add up), built layer by layer."""
    if (max_luts is None) == (max_latency_us is None):
        raise SnncError("--lanes auto needs one target: --max-luts N or --max-latency-us X")
    allowed = lambda lif: (True,) if accumulators == "single" or lif.name in forced_single else \
        (False,) if accumulators == "double" else (False, True)
    fronts = [_options(stage, spikes, allowed(stage.lif)) for stage, spikes in zip(net.stages, inputs)]
    designs = [(0.0, design_luts([]), ())]  # the network's part  # (cycles, luts, per-layer choices)
    for front in fronts:
        designs = _pareto([(c + oc, lut + olut, picks + ((lanes, oc, olut),))
                           for c, lut, picks in designs for lanes, oc, olut in front])
    if max_luts is not None:
        margin = lut_margin()
        fitting = [d for d in designs if d[1] * margin <= max_luts]
        if not fitting:
            raise SnncError(f"--max-luts {max_luts}: the smallest design (1 lane, 1 unit per layer) needs about "
                            f"{designs[0][1]:.0f} LUTs, {margin * designs[0][1]:.0f} with the model's margin")
        cycles, luts, picks = min(fitting, key=lambda d: d[0])
        target = f"at most {max_luts} LUTs"
    else:
        goal = max_latency_us * 1e-6 * clock_hz
        fast = [d for d in designs if d[0] <= goal]
        if not fast:
            raise SnncError(f"--max-latency-us {max_latency_us:g}: the fastest design (every layer at as many lanes "
                            f"as output channels) takes about {designs[-1][0] / clock_hz * 1e6:.1f} us at "
                            f"{clock_hz / 1e6:g} MHz")
        cycles, luts, picks = min(fast, key=lambda d: d[1])
        target = f"at most {max_latency_us:g} us"
    lanes = tuple(p[0][:2] for p in picks)
    single = frozenset(stage.lif.name for stage, p in zip(net.stages, picks) if p[0][2])
    why = [f"--lanes auto for {target}: chose {lanes_text(lanes)}, about {cycles:.0f} cycles "
           f"({cycles / clock_hz * 1e6:.1f} us at {clock_hz / 1e6:g} MHz) and {luts:.0f} LUTs by the cost model "
           f"(snnc report gives Yosys' count; {len(designs)} designs on the cycles-LUT front)"]
    why += [f"{stage.lif.name}: {p}:{u}, {'one accumulator bank' if one else 'two accumulator banks'}, "
            f"{'sparse' if LayerGeometry.of_stage(stage, p).sparse is not None else 'dense'} weights, about "
            f"{c:.0f} cycles and {lut:.0f} LUTs" for stage, ((p, u, one), c, lut) in zip(net.stages, picks)]
    return lanes, single, why
