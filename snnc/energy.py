"""Energy per inference of a build, from counted work (docs/spec.md section 4: `snnc report --json`
carries it as `energy` with `per_inference_j`, `breakdown` and `assumptions`).

The work of one inference, per layer, is what the engine does (docs/rtl.md): each input spike reads
one weight row and read-modify-writes one accumulator word per scatter step (taps x channel groups,
or with sparse weights the input's entry rows; register accumulators add it in DSP48E1 slices);
each timestep the update reads every group's accumulators and states, writes the states back,
clears the accumulators (their tag bits, with two banks) and runs P LIF datapaths per group; each
output spike passes the spike queue and the next FIFO.  A board build adds the host link's bytes.
Static power is charged for the inference's latency at the board clock.

The counts come from the build's last `snnc simulate` (its input spikes, and every layer's spikes
through the golden model, which the RTL equals spike for spike; an RTL run adds its measured
cycles) or, before any simulation, from DEFAULT_RATE input and hidden spike rates at
DEFAULT_TIMESTEPS; the report says which.  Each coefficient below carries its source; those marked
"assumption" are estimates for Artix-7 (28 nm HPL, 1.0 V core) to be replaced by measurements.
"""
from __future__ import annotations

import numpy as np

from snnc.compiler import host_protocol as hp
from snnc.compiler import ir
from snnc.compiler import artix7
from snnc.compiler.engine_model import ENGINE_COUNTERS, TOKEN_ACCEPT_CYCLES, network_models, timeline_cycles
from snnc.compiler.layer_impl import Implementation
from snnc.compiler.lif_step import lif_tables
from snnc.compiler.update_skips import skipped_groups
from snnc.sim.golden import engine_inputs, engine_updates

DEFAULT_RATE = 0.1        # spikes per neuron per timestep, every layer, before any simulation
DEFAULT_TIMESTEPS = 16
# an inference's bytes on the host link besides its tokens: LOAD, RUN, READ and READ_SPIKES and their
# replies, each a frame of header and CRC (host_protocol.HEADER_BYTES + CRC_BYTES), and their few words
LINK_FRAME_BYTES = 64

# name: (joules per event, what an event is, source)
COEFFICIENTS = {
    "bram_access": (5e-12, "one access of one 18 Kb block RAM (up to 36 bits wide), its fixed part",
                    "assumption: DS512 table 41 gives 39 mW for a 2Kx36 true-dual-port RAM (4 RAMB18) at 300 MHz on "
                    "Virtex-5 (65 nm), about 32 pJ per RAMB18 access; WP389 puts 7-series dynamic power at 0.3x of "
                    "that generation's: about 10 pJ, split here into a fixed half and a per-bit half"),
    "bram_bit": (0.15e-12, "one data bit of a block RAM access",
                 "assumption: the per-bit half of the 10 pJ of a 36-bit access"),
    "lutram_bit": (0.05e-12, "one bit read or written in LUT RAM or flip-flops",
                   "assumption: about 1/20 of a block RAM access per bit, for memories under 1 Kbit"),
    "adder_bit": (0.03e-12, "one bit of an add in the fabric (accumulate, integrate)",
                  "assumption: 28 nm fabric carry-chain energy, LUT + CARRY4 toggling at 50% activity"),
    "dsp_add": (2e-12, "one DSP48E1 slice adding a word into its P register (SIMD, no multiplier)",
                "assumption: about a fabric add of its 48 bits (1.4 pJ at adder_bit) with the slice's own "
                "clocking on top; to be replaced by a measurement"),
    "lif_update": (1.5e-12, "one neuron's LIF step (decode, leak shift-adds, fire, reset, encode)",
                   "assumption: about 50 LUTs toggling at 0.03 pJ each"),
    "fifo_token": (2e-12, "one spike token written to or read from a FIFO or queue",
                   "assumption: a LUT-RAM or block-RAM FIFO access plus its pointers"),
    "uart_bit": (0.1e-9, "one bit on the USB-UART line (LVCMOS33 output or input)",
                 "assumption: C*V^2 of a 10 pF pad and trace at 3.3 V"),
    "static_w": (0.08, "static power of an Artix-7 35T/100T at 25 C junction (W), charged for the latency",
                 "assumption: XPE's typical static power of xc7a35t/xc7a100t is 0.06-0.1 W"),
}


def _e(name: str) -> float:
    return COEFFICIENTS[name][0]


def engine_counts(net: ir.Network, impl: Implementation, spikes: np.ndarray, trace) -> list[dict[str, np.ndarray]]:
    """Each engine's counts (EngineModel.counts) for input spikes [T, B, *input_shape] whose golden
    run is `trace` (golden.run(net, spikes, trace=True)): each engine takes the network's input or
    the spikes of the engine before it, and emits its own spikes (after its pool or crop); an
    event-driven update skips the groups golden.engine_updates leaves quiet."""
    inputs, outputs = engine_inputs(net, spikes, trace), [trace.outputs[s.output.name] for s in net.stages]
    return [model.counts(i, o, skipped_groups(model.geo, *quiet) if model.event_driven else None)
            for i, o, model, quiet in zip(inputs, outputs, network_models(net, impl), engine_updates(net, trace))]


def activity(net: ir.Network, impl: Implementation, spikes: np.ndarray, trace) -> dict:
    """Counted work per inference (means over the samples) from the golden model (engine_counts),
    and the cycles the schedule gives them (timeline_cycles)."""
    counts = engine_counts(net, impl, spikes, trace)
    layers = [{"layer": lif.name, **{k: float(c[k].sum(axis=0).mean()) for k in ENGINE_COUNTERS[1:]}}
              for lif, c in zip(net.lifs, counts)]
    return {"timesteps": int(spikes.shape[0]), "samples": int(spikes.shape[1]), "layers": layers,
            "cycles": float(timeline_cycles(network_models(net, impl), counts).mean())}


def rtl_activity(net: ir.Network, counters: dict[str, dict[str, np.ndarray]], timesteps: int, cycles: np.ndarray) -> dict:
    """Counted work per inference (means over the samples) from the RTL's own counters (sim.rtl.RtlResult)."""
    layers = [{"layer": lif.name, **{k: float(np.mean(counters[lif.name][k])) for k in ENGINE_COUNTERS[1:]}}
              for lif in net.lifs]
    return {"timesteps": int(timesteps), "samples": int(len(cycles)), "layers": layers, "cycles": float(np.mean(cycles))}


def default_activity(net: ir.Network, impl: Implementation, rate: float = DEFAULT_RATE,
                     timesteps: int = DEFAULT_TIMESTEPS) -> dict:
    """Counted work per inference when every neuron spikes at `rate` per timestep (no simulation);
    cycles: every engine's work in turn (EngineModel.serial_cycles, an upper estimate)."""
    layers = []
    sizes = [int(np.prod(net.input_shape))] + [int(np.prod(stage.out_shape)) for stage in net.stages]
    cycles = 0.0
    for i, (lif, model) in enumerate(zip(net.lifs, network_models(net, impl))):
        spikes_in = rate * timesteps * model.geo.inputs  # a recurrent engine's own spikes included
        layers.append({"layer": lif.name, "input_spikes": spikes_in,
                       "scatter_steps": spikes_in * model.geo.spike_steps.mean(),
                       "update_steps": timesteps * model.geo.update_steps, "output_spikes": rate * timesteps * sizes[i + 1]})
        scatter = spikes_in * model.spike_cycles.mean() + timesteps * TOKEN_ACCEPT_CYCLES
        cycles += model.serial_cycles(scatter, timesteps)
    return {"timesteps": timesteps, "samples": 0, "layers": layers, "cycles": float(cycles)}


def energy(net: ir.Network, impl: Implementation, act: dict, source: str, clock_hz: float = artix7.DEFAULT_CLOCK_HZ,
           board: bool = False) -> dict:
    """Joules per inference by part, from the counts `act` (activity, rtl_activity or
    default_activity): static power is charged for act["cycles"] at clock_hz."""
    t = act["timesteps"]
    parts = {"weight_reads": 0.0, "accumulator_updates": 0.0, "state_reads_writes": 0.0, "lif_updates": 0.0,
             "spike_fifos": 0.0, "host_link": 0.0, "static": 0.0}
    for layer, lif, geo in zip(act["layers"], net.lifs, (m.geo for m in network_models(net, impl))):
        p, steps, walk = geo.lanes, layer["scatter_steps"], layer["update_steps"]
        parts["weight_reads"] += steps * _ram_access(geo.weight_depth, geo.weight_word_bits)
        # two banks of RAM accumulators keep a tag bit per word (per lane's word with sparse weights):
        # read and set with every read-modify-write, cleared by the update in place of the word
        # (rtl_gen/layer_engine.py); one bank still clears through written zeros
        tag = (p if geo.sparse is not None else 1) * _ram_access(geo.acc_depth, 1) if geo.tagged_banks else 0.0
        if geo.register_accumulators:  # the slices add the row; the update reads the copy in flip-flops
            acc = p * geo.accumulator_bits * _e("lutram_bit")
            parts["accumulator_updates"] += steps * geo.dsp_slices * _e("dsp_add") + t * acc  # t copies at the swaps
        elif geo.sparse is None:  # a step adds into one word, or into each side-by-side column's
            acc = _ram_access(geo.acc_depth, p * geo.accumulator_bits)
            parts["accumulator_updates"] += steps * geo.words_per_step * (2 * (acc + tag) + _e("adder_bit") * p * geo.accumulator_bits)
        else:  # each spike reads its list's start and end at every kernel tap (the mean over the
            # inputs); each lane has its own accumulator RAM, read at every entry, written (and
            # added into) only at the entries that hold a weight, not at skips and pads
            parts["weight_reads"] += layer["input_spikes"] * float(geo.tap_sum(1).mean()) * 2 * \
                _ram_access(len(geo.sparse.row_start), geo.sparse.pointer_bits)
            acc, adding = p * _ram_access(geo.groups, geo.accumulator_bits), geo.sparse.adding_fraction
            parts["accumulator_updates"] += steps * ((1 + adding) * (acc + tag) + adding * _e("adder_bit") * p * geo.accumulator_bits)
        # each update step (a phase of a neuron group, geometry.group_phases) reads a group word, or a
        # window row's (geometry.window_reads); each word is cleared once (k1*k1 per group) and each
        # of the group's P/U parts steps U LIF units (each reading its settle table, where it has
        # one: compiler.lif_step.lif_tables) and reads and writes a state word once
        phases, k1 = geo.group_phases, geo.k1
        parts["accumulator_updates"] += walk * (geo.window_reads * (acc + tag) + k1 * k1 / phases * (tag if geo.tagged_banks else acc))
        lif_steps = walk * geo.parts / phases
        parts["state_reads_writes"] += lif_steps * 2 * _ram_access(geo.state_words, geo.units * lif.stored_bits)
        tables = lif_tables(lif)
        table = _ram_access(len(tables.settle), tables.word_bits) if tables is not None else 0.0
        parts["lif_updates"] += lif_steps * geo.units * (_e("lif_update") + table)
        parts["spike_fifos"] += 2 * (layer["input_spikes"] + t) * _e("fifo_token") + 2 * layer["output_spikes"] \
            * _e("fifo_token")
    if board:  # LOAD the input tokens, READ_SPIKES the output tokens, 2 bytes each, plus frames
        tokens = act["layers"][0]["input_spikes"] + t + act["layers"][-1]["output_spikes"] + t
        parts["host_link"] = (2 * tokens + LINK_FRAME_BYTES) * hp.UART_BITS_PER_BYTE * _e("uart_bit")
    parts["static"] = act["cycles"] / clock_hz * _e("static_w")
    return {"per_inference_j": float(sum(parts.values())), "breakdown": {k: float(v) for k, v in parts.items()},
            "assumptions": {name: {"value": value, "per": per, "source": src}
                            for name, (value, per, src) in COEFFICIENTS.items()},
            "counts": act, "source": source, "cycles_per_inference": act["cycles"], "clock_hz": clock_hz}


def _ram_access(depth: int, width: int) -> float:
    """Energy of one access of a depth x width memory: block RAM blocks touched, or LUT RAM bits."""
    if depth * width < artix7.DISTRIBUTED_BITS:
        return width * _e("lutram_bit")
    return artix7.bram18_blocks(width) * _e("bram_access") + width * _e("bram_bit")
