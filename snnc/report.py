"""The build report: the compiler's report (widths, memories, notes), the generated design (per
layer lanes, groups and RAM bits from snnc.compiler.geometry), Yosys' resource estimate with the
board's utilisation, and the cycles of the last RTL run; as a dict (JSON) and as text."""
from __future__ import annotations

import numpy as np

from snnc import boards
from snnc.compiler import ir
from snnc.compiler.build_folder import BuildSettings
from snnc.compiler.engine_model import network_memories, network_models, total_bram36
from snnc.compiler.layer_impl import lanes_text
from snnc.compiler.layer_summary import format_layer_summary, layer_summary

RAM_KINDS = {"weight": ("weights", "row starts"), "accumulator": ("accumulators",), "state": ("states",)}  # key: Memory.kind


def clock_section(synth: dict | None, target_hz: float) -> dict:
    """design.clock: the estimated highest clock (MHz, from the synthesized netlist; None without
    synthesis), the target, whether it is met, and the deepest path that sets it."""
    target = target_hz / 1e6
    if synth is None:
        return {"estimated_mhz": None, "target_mhz": target, "meets_target": None,
                "deepest_path": "not synthesized (snnc report without --no-synth estimates it)"}
    clock = synth["clock"]
    est = clock["estimated_mhz"]
    out = {**clock, "target_mhz": target, "meets_target": None if est is None else est >= target}
    if est is not None and est < target:
        out["warning"] = (f"the estimated clock {est:g} MHz is below the target {target:g} MHz; deepest path: "
                          f"{clock['deepest_path']}")
    return out


def build_report(net: ir.Network, settings: BuildSettings, synth: dict | None = None, run: dict | None = None,
                 clock_hz: float | None = None) -> dict:
    """clock_hz: the target clock (default: the design's, BuildSettings.clock_hz)."""
    clock_hz = clock_hz or settings.clock_hz
    rep = layer_summary(net)
    memories = network_memories(net, settings.layers, board=settings.board is not None)
    ram_bits = lambda owner, kinds: sum(m.bits for m in memories if m.owner == owner and m.kind in kinds)
    layers = []
    for model in network_models(net, settings.layers):
        lif, geo = model.lif, model.geo
        layers.append({"layer": lif.name, "lanes": geo.lanes, "kernel_columns": geo.columns, "update_units": geo.units,
                       "groups": geo.state_groups,
                       "update_cycles": model.update_cycles, "scatter_cycles_per_spike": model.cycles_per_spike,
                       "state_bits_per_neuron": lif.stored_bits, "accumulator_bits": geo.accumulator_bits,
                       "accumulator_banks": model.banks, "current_bits": geo.synapse.current_bits,
                       "weights": model.weights_line, "estimated_luts": round(model.luts), "dsp_slices": geo.dsp_slices,
                       "update": "event-driven: skips groups without input whose neurons are steady"
                       if model.event_driven else f"dense: {model.dense_update_reason}",
                       "ram_bits": {k: ram_bits(lif.name, kinds) for k, kinds in RAM_KINDS.items()}})
    bram36, dsp = total_bram36(memories), sum(d["dsp_slices"] for d in layers)
    rep["design"] = {"top": settings.top, "lanes": lanes_text(settings.layers), "layers": layers,
                     "ram_bits": {k: sum(d["ram_bits"][k] for d in layers) for k in RAM_KINDS},
                     "memories": [{"owner": m.owner, "kind": m.kind, "width": m.width, "depth": m.depth,
                                   "count": m.count, "bits": m.bits, "bram36": m.bram36} for m in memories],
                     "bram36": bram36, "dsp_slices": dsp,
                     "fits_parts": [part for part, r in boards.PART_RESOURCES.items()
                                    if bram36 <= r["BRAM36"] and dsp <= r["DSP"]],
                     "clock": clock_section(synth, clock_hz)}
    rep["synthesis"] = synth
    if settings.board:
        board = boards.get_board(settings.board)
        rep["board"] = {"name": board.name, "part": board.part, "clock_hz": board.clock_hz,
                        "utilisation": board.utilisation(synth["resources"]) if synth else None}
    if run:
        cycles = float(np.mean(run["cycles_per_inference"]))
        rep["simulation"] = {**run, "mean_cycles_per_inference": cycles,
                             "mean_cycles_per_timestep": cycles / run["timesteps"],
                             "mean_latency_us": cycles / clock_hz * 1e6, "clock_mhz": clock_hz / 1e6}
    return rep


def _accumulator_form(layer: dict) -> str:
    """A report layer's accumulators: "2 bank(s)" of RAM, or registers (in DSP48E1 slices)."""
    return "registers" if layer["dsp_slices"] else f"{layer['accumulator_banks']} bank(s)"


def format_build_report(rep: dict) -> str:
    lines = [format_layer_summary(rep).rstrip("\n"), "",
             f"generated design ({rep['design']['top']}, lanes {rep['design']['lanes']}):"]
    for d in rep["design"]["layers"]:
        r = d["ram_bits"]
        lines.append(f"  {d['layer']:<18} {d['groups']} groups x {d['lanes']} lanes, state "
                     f"{d['state_bits_per_neuron']} bits/neuron, RAM bits: weights {r['weight']}, "
                     f"accumulators {r['accumulator']} ({_accumulator_form(d)} of {d['accumulator_bits']} b), "
                     f"states {r['state']}")
        per_spike, update = d["scatter_cycles_per_spike"], d["update_cycles"]
        side = f" x {d['kernel_columns']} kernel columns side by side" if d["kernel_columns"] > 1 else ""
        lines.append(f"  {'':<18} scatter {d['lanes']} lanes{side}: {per_spike} cycles per input spike; update "
                     f"{d['update_units']} LIF units: {update} cycles per timestep; the update bounds the layer below "
                     f"{update / per_spike:.0f} input spikes per timestep, the scatter above")
        lines.append(f"  {'':<18} weights {d['weights']}")
        lines.append(f"  {'':<18} update {d['update']}" + (" (at most the cycles above)" if d["update"][0] == "e" else ""))
        if d["dsp_slices"]:
            lines.append(f"  {'':<18} accumulators in registers (one group word): {d['dsp_slices']} DSP48E1 slices "
                         f"add each weight row, a copy feeds the update")
        if d["accumulator_banks"] == 1:
            lines.append(f"  {'':<18} one accumulator bank: half the RAM, and each timestep's update (about "
                         f"{d['update_cycles']} cycles) no longer overlaps the next scatter")
    design = rep["design"]
    total = design["ram_bits"]
    lines.append(f"  total RAM bits: weights {total['weight']}, accumulators {total['accumulator']}, "
                 f"states {total['state']}")
    lines += ["", "memories (width x depth, block RAM as the tools map it; LUT RAM below 1 Kbit):"]
    for m in design["memories"]:
        copies = f"{m['count']} x " if m["count"] > 1 else ""
        lines.append(f"  {m['owner'][:18]:<18} {m['kind']:<13} {copies}{m['width']} x {m['depth']} = {m['bits']} b, "
                     f"{m['bram36']:g} BRAM36")
    fits = ", ".join(design["fits_parts"]) or "no Artix-7 part"
    lines.append(f"  block RAM {design['bram36']:g} BRAM36, {design['dsp_slices']} DSP48E1: fits {fits} "
                 f"(by block RAM and DSP slices)")
    synth = rep.get("synthesis")
    if synth:
        clock = design["clock"]
        lines += ["", f"Artix-7 estimate ({synth['tool']} synth_xilinx -family xc7):",
                  "  " + "  ".join(f"{k} {v}" for k, v in synth["resources"].items()),
                  f"  longest combinational path: {synth['lut_levels']} LUT levels",
                  f"  estimated clock: {clock['estimated_mhz']} MHz (-1 speed grade; target {clock['target_mhz']:g} MHz), "
                  f"deepest path {clock['deepest_path']}"]
        if "warning" in clock:
            lines.append(f"  warning: {clock['warning']}")
    board = rep.get("board")
    if board and board["utilisation"]:
        lines += [f"  {board['name']} ({board['part']}): " + ", ".join(
            f"{k} {u['used']:g}/{u['available']} ({u['percent']:.1f}%)" for k, u in board["utilisation"].items())]
    energy = rep.get("energy")
    if energy:
        lines += ["", f"energy per inference: {energy['per_inference_j'] * 1e9:.3g} nJ, from {energy['source']}; "
                  f"{energy['cycles_per_inference']:.0f} cycles at {energy['clock_hz'] / 1e6:g} MHz"]
        if "golden_per_inference_j" in energy:
            lines.append(f"  the golden model's counts on the same input: {energy['golden_per_inference_j'] * 1e9:.3g} nJ "
                         f"(RTL {100 * energy['rtl_vs_golden']:+.2f}%)")
        lines += ["  " + ", ".join(f"{k} {v * 1e9:.3g} nJ" for k, v in energy["breakdown"].items()),
                  "  coefficients: snnc report --json, key energy.assumptions (each with its source)"]
    sim = rep.get("simulation")
    if sim:
        lines += ["", f"cycles ({sim['simulator']}, {sim['samples']} samples x {sim['timesteps']} timesteps): "
                  f"{sim['mean_cycles_per_inference']:.0f} per inference ({sim['mean_latency_us']:.3g} us at "
                  f"{sim['clock_mhz']:g} MHz), {sim['mean_cycles_per_timestep']:.1f} per timestep"]
    return "\n".join(lines) + "\n"
