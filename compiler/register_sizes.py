"""The register-sizing pass: bounds analysis over the integer IR.

Every synaptic accumulator, current datapath and membrane datapath gets the smallest signed width
that holds every value the network can produce, proven from the weight sums (all 0/1 inputs) and
the state clamp range, so nothing in golden or RTL can overflow (docs/spec.md section 2).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from . import ir
from .contracts import FLOAT32_EXACT, VALUE_BITS
from .errors import SnncError
from .shapes import signed_bits


def register_range(bits: int) -> tuple[int, int]:
    """[min, max] of a signed register of `bits` bits."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def raw_sum_bounds(syn: ir.Dense | ir.Conv2d) -> tuple[np.ndarray, np.ndarray]:
    """Per-output-channel [min, max] of the raw weight sum over all 0/1 inputs: the sum of the
    negative and of the positive weights (int64 [n_out] each)."""
    w = syn.weight.reshape(syn.weight.shape[0], -1)
    return np.where(w < 0, w, 0).sum(axis=1), np.where(w > 0, w, 0).sum(axis=1)


def current_bounds(syn: ir.Dense | ir.Conv2d) -> tuple[np.ndarray, np.ndarray]:
    """Per-output-channel [min, max] of the current over all 0/1 inputs (int64 [n_out] each);
    SnncError naming the synapse when they reach 2**VALUE_BITS."""
    neg, pos = raw_sum_bounds(syn)
    reach = max(float(np.max(np.abs(b.astype(np.float64) * 2.0 ** syn.shift + syn.bias))) for b in (neg, pos))
    if reach >= 2.0 ** VALUE_BITS:
        raise SnncError(f"synapse '{syn.name}': currents reach {reach:.3g} LSBs, beyond the 2**{VALUE_BITS} the "
                        "integer datapath proves exact (weights, shifts or biases far too large for the state grid)")
    return (neg << syn.shift) + syn.bias, (pos << syn.shift) + syn.bias


def size_registers(net: ir.Network) -> ir.Network:
    """Bounds analysis: the smallest signed width for every synaptic accumulator and membrane
    datapath, proven from weight sums and the state clamp range, so nothing can overflow."""
    out, notes = [], list(net.notes)
    for i, layer in enumerate(net.layers):
        if isinstance(layer, (ir.Dense, ir.Conv2d)):
            lo, hi = current_bounds(layer)
            neg, pos = raw_sum_bounds(layer)
            raw_lo, raw_hi = int(neg.min()), int(pos.max())
            # the accumulator RAM holds raw sums (0 included: it starts cleared); the current
            # datapath holds the shifted, biased current and every raw sum on the way to it
            layer = replace(layer, accumulator_bits=signed_bits(min(raw_lo, 0), max(raw_hi, 0)),
                            current_bits=signed_bits(min(int(lo.min()), raw_lo), max(int(hi.max()), raw_hi)))
        elif isinstance(layer, ir.LIF):
            lo, hi = current_bounds(net.synapse_of(layer))  # a max pool keeps the currents' range
            i_lo, i_hi = int(lo.min()), int(hi.max())
            if layer.synaptic:  # the membrane takes c' = floor(alpha c) + I, with c stored in [v_min, v_max]
                g = layer.floor_bits
                c_lo, c_hi = (((layer.alpha_b * x) >> (layer.leak_f + g)) << g for x in (layer.v_min, layer.v_max))
                i_lo, i_hi = c_lo + i_lo, c_hi + i_hi
            syn_prod = [layer.alpha_b * layer.v_min, layer.alpha_b * layer.v_max] if layer.synaptic else []
            b_lo, b_hi = int(layer.leaks.min()), int(layer.leaks.max())  # B * v is extreme at B's extremes
            prod = (min(b_lo * layer.v_min, b_hi * layer.v_min), max(b_lo * layer.v_max, b_hi * layer.v_max))
            if max(abs(prod[0]), abs(prod[1])) >= 1 << 62:  # the golden model's B * v is int64
                raise SnncError(f"{layer.name}: leak B * v reaches 2**{max(abs(prod[0]), abs(prod[1])).bit_length() - 1} "
                                f"(B {b_hi}/2**{layer.leak_f}, states to {max(-layer.v_min, layer.v_max)} LSB); give beta "
                                "fewer binary digits or the state a coarser grid")
            g = layer.floor_bits
            leak = tuple((x >> (layer.leak_f + g)) << g for x in prod)
            u = (leak[0] + i_lo, leak[1] + i_hi)
            if layer.order == "snntorch":  # the pending reset subtracts theta before quantization
                u = (u[0] - (layer.theta if layer.reset == "subtract" else 0), u[1])
                r = (min(u[0], 0), max(u[1], 0))
            elif layer.reset == "none":
                r = (min(u[0], 0), max(u[1], 0))
            else:
                r = (min(u[0], 0), max(layer.theta - 1, u[1] - layer.theta if layer.reset == "subtract" else 0))
            span = [*prod, *syn_prod, *u, *r, layer.theta]
            code_bits = None if layer.levels is None else len(layer.levels).bit_length() - 1
            layer = replace(layer, membrane_bits=signed_bits(min(span), max(span)),
                            state_bits=code_bits or signed_bits(layer.v_min, layer.v_max))
            if max(abs(u[0]), abs(u[1])) >= FLOAT32_EXACT:
                notes.append(f"{layer.name}: membrane values reach 2**24; onnxruntime's float32 run of the model "
                             "may round where the integer design does not")
        out.append(layer)
    return replace(net, layers=tuple(out), notes=tuple(notes))
