"""`snnc compile --lanes auto`: each layer's scatter lanes P and LIF update units U, chosen from the
engine's cost model for a target (`max_luts`, or `max_latency_us` at the board clock).

Cycles of one inference: each layer's EngineModel.inference_cycles for the spikes it takes (its
scatter per input spike and end token, its update per timestep, overlapped with two accumulator
banks); the layers' sum is the estimate (an upper one: layers also overlap each other).  The input
spikes of every layer come from a sample input run through the golden model, or from Bernoulli
input spikes at a given rate (hidden layers then spike as the network makes them).

LUTs: the engine model's estimate (snnc.compiler.engine_model: its coefficients and the designs
they were fitted to are in engine_fit.json, with the model's worst underestimate, on them and on
networks held out of the fit, as its margin); `snnc report` synthesizes the chosen design for the
real count.

The search is exact under the model: every layer's options (P the fewest lanes for each number of
channel groups, ceil(C_out / g); U every divisor of P) reduced to their cycles-LUT Pareto front,
the fronts combined layer by layer; then the fastest design whose estimate times the margin fits
max_luts, or the smallest within max_latency_us.
"""
from __future__ import annotations

from functools import cache

import numpy as np

from snnc.compiler import ir
from snnc.compiler.engine_model import UPDATE_OVERHEAD_CYCLES, EngineModel, design_luts, engine_fit
from snnc.compiler.errors import SnncError
from snnc.compiler.geometry import LayerGeometry
from snnc.compiler.layer_impl import Implementation, LayerImpl, column_taps, lanes_text
from snnc.compiler.update_skips import skipped_groups, update_work
from snnc.sweep import pareto_front
from snnc.sim import golden

AUTO_SAMPLES = 16        # Bernoulli samples when only a rate is given


def lut_margin() -> float:
    """A LUT budget holds the estimate times this: the largest Yosys count / estimate of the model's
    measured designs, fitted and held out."""
    return engine_fit()["margin"]


def lut_fit_line() -> str:
    """What the margin rests on, for the compile's note."""
    points = engine_fit()["points"]
    held = sum(p["held_out"] for p in points)
    return (f"the model's worst underestimate, {100 * (lut_margin() - 1):.0f}%, over {len(points)} synthesized "
            f"designs, {held} of them of networks it was not fitted to")


def expected_run(net: ir.Network, timesteps: int, rate: float | None = None, sample: np.ndarray | None = None,
                 seed: int = 0) -> tuple[list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]]:
    """Each engine's input spikes [T, B, ...] and what decides its update's skips
    (golden.engine_updates): from `sample` (spikes [T, B, *input_shape]) or from AUTO_SAMPLES
    Bernoulli(rate) inputs, through the golden model."""
    if sample is None:
        if rate is None or not 0 < rate <= 1:
            raise SnncError(f"--lanes auto needs an input spike rate in (0, 1] or a sample input, got {rate}")
        shape = (timesteps, AUTO_SAMPLES, *net.input_shape)
        sample = (np.random.default_rng(seed).random(shape) < rate).astype(np.uint8)
    sample = golden.check_spikes(sample, net.input_shape)
    _, trace = golden.run(net, sample, trace=True)
    return golden.engine_inputs(net, sample, trace), golden.engine_updates(net, trace)


def expected_inputs(net: ir.Network, timesteps: int, rate: float | None = None,
                    sample: np.ndarray | None = None, seed: int = 0) -> list[np.ndarray]:
    """Each engine's input spikes [T, B, ...] (expected_run's)."""
    return expected_run(net, timesteps, rate, sample, seed)[0]


def layer_model(stage: ir.Stage, spikes: np.ndarray, updates: tuple[np.ndarray, np.ndarray] | None = None):
    """cost(impl) -> (cycles per inference, LUTs) of one engine built as `impl` (a LayerImpl)
    taking `spikes` [T, B, ...] (the mean over the samples), by its EngineModel; an event-driven
    update skips what `updates` (golden.engine_updates) leaves quiet, or without them walks every
    group (an upper bound)."""

    @cache
    def scatter_cycles(lanes: int, weights: str, columns: int) -> float:  # per inference (units and banks do not count)
        impl = LayerImpl(lanes, lanes, 2, weights, columns)
        model = EngineModel(LayerGeometry.of_stage(stage, impl), stage.lif)
        return float(model.scatter_cycles(spikes).sum(axis=0).mean())

    def cost(impl: LayerImpl) -> tuple[float, float]:
        model = EngineModel(LayerGeometry.of_stage(stage, impl), stage.lif)
        update = None
        if model.event_driven and updates is not None:
            _, walked = update_work(model.geo, skipped_groups(model.geo, *updates))
            update = float(walked.mean()) + UPDATE_OVERHEAD_CYCLES
        scatter = scatter_cycles(impl.lanes, impl.weights, impl.columns)
        return model.inference_cycles(scatter, spikes.shape[0], update), model.luts
    return cost


def _options(stage: ir.Stage, spikes: np.ndarray, banks: tuple[int, ...], weights: str,
             max_dsp: int | None = None, updates: tuple | None = None) -> list[tuple]:
    """(LayerImpl, cycles per inference, LUTs) of one engine's choices on their Pareto front; banks:
    the bank counts allowed; weights: the --weights request; max_dsp: the DSP48E1 slices its
    register accumulators may take (None: any); updates: layer_model's."""
    co, cost = stage.synapse.weight.shape[0], layer_model(stage, spikes, updates)
    # the fewest lanes for each number of channel groups (more only idle), and a convolution's every
    # channel times its kernel columns side by side; every divisor of the channel lanes as units
    lanes, columns = {-(-co // groups): -(-co // groups) for groups in range(1, co + 1)}, column_taps(stage.synapse)
    if columns > 1:
        lanes[co * columns] = co
    choices = {LayerImpl.of(stage.synapse, p, u, b, weights) for p, channels in lanes.items()
               for u in range(1, channels + 1) if channels % u == 0 for b in banks}
    choices = {c for c in choices if max_dsp is None or LayerGeometry.of_stage(stage, c).dsp_slices <= max_dsp}
    return _pareto([(impl, *cost(impl)) for impl in choices])


def _pareto(options: list[tuple]) -> list[tuple]:
    """The (choice, cycles, LUTs) options that no other beats in both cycles and LUTs, by LUTs."""
    return pareto_front(options, cost=lambda o: o[2], gain=lambda o: -o[1])


def choose_lanes(net: ir.Network, inputs: list[np.ndarray], clock_hz: float, max_luts: int | None = None,
                 max_latency_us: float | None = None, accumulators: str = "auto", weights: str = "auto",
                 forced_single: frozenset[str] = frozenset(), max_dsp: int | None = None,
                 updates: list | None = None) -> tuple[Implementation, list[str]]:
    """Each layer's engine for the target, and the lines that say why.  accumulators: "auto" (one
    or two banks, per layer), "double" or "single" (every layer); weights: the --weights request;
    forced_single: layers that must have one bank (too large for two); max_dsp: the part's DSP48E1
    slices (None: any number), which the design's register accumulators may take; updates: each
    engine's golden.engine_updates (expected_run), for the skips of event-driven updates (without
    them every update is counted dense, an upper bound).  The network's
    options are the Pareto front of the layers' fronts combined (cycles and LUTs add up), built
    layer by layer; designs over max_dsp in all are left out at the end.  (The sum of the cycles is
    an upper estimate: the engines overlap, but an engine's update waits for the next engine to take
    its spikes, so two balanced engines come close to it: docs/rtl.md.)"""
    if (max_luts is None) == (max_latency_us is None):
        raise SnncError("--lanes auto needs one target: --max-luts N or --max-latency-us X")
    allowed = lambda lif: (1,) if accumulators == "single" or lif.name in forced_single else \
        (2,) if accumulators == "double" else (2, 1)
    fronts = [_options(stage, spikes, allowed(stage.lif), weights, max_dsp, quiet)
              for stage, spikes, quiet in zip(net.stages, inputs, updates or [None] * len(net.stages))]
    designs = [((), 0.0, design_luts([]))]  # (per-layer choices, cycles, luts), from the network's part
    for front in fronts:
        designs = _pareto([(picks + ((impl, oc, olut),), c + oc, lut + olut)
                           for picks, c, lut in designs for impl, oc, olut in front])
    dsp = lambda picks: sum(LayerGeometry.of_stage(stage, p[0]).dsp_slices for stage, p in zip(net.stages, picks))
    designs = [d for d in designs if max_dsp is None or dsp(d[0]) <= max_dsp] or designs[:1]
    if max_luts is not None:
        margin = lut_margin()
        fitting = [d for d in designs if d[2] * margin <= max_luts]
        if not fitting:
            raise SnncError(f"--max-luts {max_luts}: the smallest design (1 lane, 1 unit per layer) needs about "
                            f"{designs[0][2]:.0f} LUTs, {margin * designs[0][2]:.0f} with the model's margin")
        picks, cycles, luts = min(fitting, key=lambda d: d[1])
        target = f"at most {max_luts} LUTs"
    else:
        goal = max_latency_us * 1e-6 * clock_hz
        fast = [d for d in designs if d[1] <= goal]
        if not fast:
            within = "" if max_dsp is None else f", within the part's {max_dsp} DSP48E1 slices"
            fastest = lanes_text(tuple(p[0] for p in designs[-1][0]))
            raise SnncError(f"--max-latency-us {max_latency_us:g}: the fastest design ({fastest}{within}) takes about "
                            f"{designs[-1][1] / clock_hz * 1e6:.1f} us at {clock_hz / 1e6:g} MHz by the cost model")
        picks, cycles, luts = min(fast, key=lambda d: d[2])
        target = f"at most {max_latency_us:g} us"
    impl = tuple(p[0] for p in picks)
    why = [f"--lanes auto for {target}: chose {lanes_text(impl)}, about {cycles:.0f} cycles "
           f"({cycles / clock_hz * 1e6:.1f} us at {clock_hz / 1e6:g} MHz) and {luts:.0f} LUTs by the cost model, "
           f"{luts * lut_margin():.0f} with its margin ({lut_fit_line()}; snnc report synthesizes it; "
           f"{len(designs)} designs on the cycles-LUT front)"]
    why += [f"{stage.lif.name}: {li.lanes}:{li.units}, {_accumulators(stage, li)}, {li.weights} weights, about "
            f"{c:.0f} cycles and {lut:.0f} LUTs" for stage, (li, c, lut) in zip(net.stages, picks)]
    return impl, why


def _accumulators(stage: ir.Stage, impl: LayerImpl) -> str:
    """How an engine keeps its accumulators, as the --lanes auto notes say it."""
    geo = LayerGeometry.of_stage(stage, impl)
    if geo.register_accumulators:
        return f"register accumulators ({geo.dsp_slices} DSP48E1)"
    return "one accumulator bank" if impl.banks == 1 else "two accumulator banks"
