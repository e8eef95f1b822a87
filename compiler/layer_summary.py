"""The compiled network's summary: per-layer widths, memories and the notes of every pass, as a dict
and as text (the first part of a build's report, snnc.report)."""
from __future__ import annotations

from . import ir
from .geometry import LayerGeometry


def layer_summary(net: ir.Network) -> dict:
    """Everything the report shows, JSON-ready.  Memory in bits; widths are signed register bits."""
    layers = []
    for layer in net.layers:
        row = {"name": layer.name, "kind": type(layer).__name__, "out_shape": list(layer.out_shape)}
        if isinstance(layer, (ir.Dense, ir.Conv2d)):
            row.update(weight_bits=layer.weight_bits, weights=int(layer.weight.size),
                       weight_memory_bits=int(layer.weight.size * layer.weight_bits),
                       shift=sorted({int(s) for s in layer.shift}), current_bits=layer.current_bits,
                       accumulator_bits=layer.accumulator_bits, fan_out=LayerGeometry(layer).fan_out)
        elif isinstance(layer, ir.LIF):
            b = layer.leaks
            leak = f"{int(b.min())}..{int(b.max())}" if layer.leak_per_channel else str(layer.leak_b)
            row.update(neurons=layer.size, theta=layer.theta,
                       leak=f"{leak}/2^{layer.leak_f}" + (" per channel" if layer.leak_per_channel else ""),
                       reset=layer.reset, state_quant=layer.state_quant, lsb=layer.lsb, output=layer.output,
                       levels=None if layer.levels is None else [int(v) for v in layer.levels],
                       state_range=[layer.v_min, layer.v_max], membrane_bits=layer.membrane_bits,
                       state_bits=layer.state_bits, state_memory_bits=layer.size * layer.stored_bits,
                       alpha=None if layer.alpha_b is None else f"{layer.alpha_b}/2^{layer.leak_f}")
        layers.append(row)
    return {
        "network": net.name,
        "input_shape": list(net.input_shape),
        "output_shape": list(net.output_shape),
        "layers": layers,
        "weight_memory_bits": sum(r.get("weight_memory_bits", 0) for r in layers),
        "state_memory_bits": sum(r.get("state_memory_bits", 0) for r in layers),
        "notes": list(net.notes),
    }


def format_layer_summary(rep: dict) -> str:
    """A readable text table of layer_summary's content."""
    lines = [f"snnc report: {rep['network']}  input {rep['input_shape']} -> output {rep['output_shape']}", ""]
    header = f"{'layer':<18} {'kind':<9} {'shape':<14} {'details'}"
    lines += [header, "-" * 100]
    for r in rep["layers"]:
        if r["kind"] in ("Dense", "Conv2d"):
            detail = (f"weights {r['weights']} x {r['weight_bits']} b = {r['weight_memory_bits']} b, "
                      f"shift {r['shift']}, current {r['current_bits']} b, accumulator {r['accumulator_bits']} b, "
                      f"fan-out {r['fan_out']}")
        elif r["kind"] == "LIF":
            detail = (f"theta {r['theta']}, leak {r['leak']}, reset {r['reset']}, state {r['state_quant']} "
                      f"{r['state_bits']} b/neuron = {r['state_memory_bits']} b, range {r['state_range']}, "
                      f"membrane {r['membrane_bits']} b, lsb {r['lsb']:g}"
                      + (f"; synaptic current, alpha {r['alpha']}" if r["alpha"] else "")
                      + (f"; readout: membranes out, x {r['lsb']:g} each" if r["output"] == "membrane" else ""))
        elif r["kind"] == "MaxPool2d":
            detail = "the largest value (spikes: the OR) of each window"
        elif r["kind"] == "Crop2d":
            detail = "top-left rows and columns (left by a folded average pool)"
        else:
            detail = "reshape"
        lines.append(f"{r['name'][:18]:<18} {r['kind']:<9} {str(r['out_shape']):<14} {detail}")
    lines += ["", f"weight memory: {rep['weight_memory_bits']} bits ({rep['weight_memory_bits'] / 8192:.2f} KiB)",
              f"state memory:  {rep['state_memory_bits']} bits ({rep['state_memory_bits'] / 8192:.2f} KiB)"]
    for r in rep["layers"]:
        if r.get("levels"):
            lines.append(f"levels of {r['name']} (LSB units): {r['levels']}")
    if rep["notes"]:
        lines += ["", "compiler notes:"] + [f"  - {n}" for n in rep["notes"]]
    return "\n".join(lines) + "\n"

