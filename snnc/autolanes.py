"""`snnc compile --lanes auto`: each layer's scatter lanes P and LIF update units U, chosen from the
engine's cost model for a target (`max_luts`, or `max_latency_us` at the board clock).

Cycles of one inference (docs/rtl.md): a layer's scatter spends taps * ceil(C_out / P) cycles per
input spike (at least 1: a token is taken during the last step of the spike before), its update
LayerGeometry.update_cycles per timestep (update_steps grows with P / U), and the two
overlap (the update of one timestep runs beside the scatter of the next): max(scatter, T x update)
+ one update.  The layers' sum is the estimate (an upper one: layers also overlap each other).  The input
spikes of every layer come from a sample input run through the golden model, or from Bernoulli
input spikes at a given rate (hidden layers then spike as the network makes them).

LUTs (LUT + LUTRAM, Yosys synth_xilinx): a network part, a part per layer, and per scatter lane
and accumulator bit and per LIF unit and membrane bit.  The coefficients are fitted (least relative squares) to Yosys
on 784-128-10 (W4, S4 threshold-centered) at 1, 4, 4:1, 16:1,10:1, 32:1,10:1 and 128:2,10:1, and
784-128-64-10 at 1 and 4:1, each within 5%; with one accumulator bank per layer, 784-128-10 at 1,
16:1,10:1, 5:1,1:1, 32:4,5:1, 64:4,4:1 and 64:4,3:1, within 12% (docs/rtl.md).  Sparse weights add a part per layer and
per lane, fitted to 80%-pruned 784-128-10 (by magnitude and at random) at 1, 2, 4:1, 8:1, 16:1 and
one-bank 2:1,1:1 or 1:1,1:1, within 7%;
`snnc report` synthesizes the chosen design for the real count.

The search is exact under the model: every layer's options (P the fewest lanes for each number of
channel groups, ceil(C_out / g); U every divisor of P) reduced to their cycles-LUT Pareto front,
the fronts combined layer by layer; then the fastest design whose estimate plus LUT_MARGIN (the
model's error on the measured designs) fits max_luts, or the smallest within max_latency_us.
"""
from __future__ import annotations

from functools import cache

import numpy as np

from snnc.compiler import ir
from snnc.compiler.errors import SnncError
from snnc.compiler.geometry import LayerGeometry, lanes_text
from snnc.energy import per_spike_sum
from snnc.sim import golden

LUT_NETWORK = 345        # FIFOs, step and cycle counters, spike counts, control
LUT_LAYER = 108          # a layer's walk counters, address arithmetic, spike serializer, bank control
LUT_LANE_BIT = 4.7       # per scatter lane and accumulator bit: adder, two banks' multiplexers, the update's part selection
LUT_LANE_BIT_SINGLE = 2.2  # the same with one accumulator bank (no bank multiplexers; its zeros come through the adder)
LUT_LAYER_SINGLE = 79      # a one-bank layer's fixed part
LUT_UNIT_BIT = 8.4       # per LIF unit and membrane bit: leak shift-adds, integrate, fire, reset, codec
LUT_SPARSE_LAYER = -9    # sparse weights: row-start reads, entry pointer and row end, less the dense group counter
LUT_SPARSE_LANE = 26     # per sparse lane: its channel-group adder, write forwarding, its accumulator RAM's addressing
AUTO_SAMPLES = 16        # Bernoulli samples when only a rate is given
LUT_MARGIN = 1.12        # a LUT budget holds the estimate plus the model's error on the measured designs


def layer_luts(geo: LayerGeometry, lif: ir.LIF, single_bank: bool = False) -> float:
    """Estimated LUT + LUTRAM of one engine at its geometry's lanes and units (and banks)."""
    fixed, lane = (LUT_LAYER_SINGLE, LUT_LANE_BIT_SINGLE) if single_bank else (LUT_LAYER, LUT_LANE_BIT)
    sparse = LUT_SPARSE_LAYER + LUT_SPARSE_LANE * geo.lanes if geo.sparse is not None else 0
    return fixed + sparse + lane * geo.lanes * geo.accumulator_bits + LUT_UNIT_BIT * geo.units * lif.membrane_bits


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
    [T, B, ...] (the mean over the samples), at the lanes and units its geometry makes of P and U."""

    @cache
    def scatter_cycles(lanes: int) -> float:  # per inference at `lanes` (the sparse choice depends on them)
        geo = LayerGeometry.of_stage(stage, lanes)
        return float(per_spike_sum(geo, spikes, geo.spike_cycles).sum(axis=0).mean())

    def cost(lanes: int, units: int, single_bank: bool = False) -> tuple[float, float]:
        geo = LayerGeometry.of_stage(stage, lanes, units)
        update = geo.update_cycles  # per timestep
        # a spike's token is taken in its predecessor's last scatter cycle: spike_cycles each
        scatter = scatter_cycles(geo.lanes)
        # two banks: the update of step t overlaps the scatter of step t+1 (the last one does not);
        # one bank: they take turns
        cycles = scatter + spikes.shape[0] * update if single_bank else max(scatter, spikes.shape[0] * update) + update
        return cycles, layer_luts(geo, stage.lif, single_bank)
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
    designs = [(0.0, float(LUT_NETWORK), ())]  # (cycles, luts, per-layer choices)
    for front in fronts:
        designs = _pareto([(c + oc, lut + olut, picks + ((lanes, oc, olut),))
                           for c, lut, picks in designs for lanes, oc, olut in front])
    if max_luts is not None:
        fitting = [d for d in designs if d[1] * LUT_MARGIN <= max_luts]
        if not fitting:
            raise SnncError(f"--max-luts {max_luts}: the smallest design (1 lane, 1 unit per layer) needs about "
                            f"{designs[0][1]:.0f} LUTs, {LUT_MARGIN * designs[0][1]:.0f} with the model's margin")
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
