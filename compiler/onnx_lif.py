"""The dialect's LIF node (docs/spec.md section 3) read into a real-valued `Neuron`: every attribute
checked for its type, its range and its agreement with the others, errors naming the node.
"""
from __future__ import annotations

import numpy as np
import onnx

from .contracts import ORDERS, OUTPUTS, RESET_MODES, STATE_QUANT_MODES
from .dialect import DOMAIN
from .errors import SnncError
from .graph import Neuron

_F, _S = onnx.AttributeProto.FLOAT, onnx.AttributeProto.STRING
LIF_ATTRIBUTES = {"beta": _F, "betas": onnx.AttributeProto.FLOATS, "threshold": _F, "reset": _S, "state_lsb": _F, "state_quant": _S,
                  "state_levels": onnx.AttributeProto.FLOATS, "state_min": _F, "state_max": _F, "order": _S, "output": _S,
                  "alpha": _F}


def node_where(node: onnx.NodeProto) -> str:
    """How errors name a node: its name (or first output) and op type."""
    return f"node '{node.name or node.output[0]}' ({node.op_type})"


def _lif_attributes(node: onnx.NodeProto) -> dict:
    """The LIF node's attributes by name, each checked for its type (and floats for finiteness)."""
    where, out = node_where(node), {}
    for attr in node.attribute:
        kind = LIF_ATTRIBUTES.get(attr.name)
        if kind is None:
            raise SnncError(f"{where}: unknown attribute '{attr.name}'")
        if attr.type != kind:
            raise SnncError(f"{where}: attribute '{attr.name}' must be {onnx.AttributeProto.AttributeType.Name(kind)}, "
                            f"not {onnx.AttributeProto.AttributeType.Name(attr.type)}")
        value = onnx.helper.get_attribute_value(attr)
        if kind == onnx.AttributeProto.STRING:
            try:
                value = value.decode()
            except UnicodeDecodeError:
                raise SnncError(f"{where}: attribute '{attr.name}' is not UTF-8 text") from None
        elif not np.all(np.isfinite(np.asarray(value, np.float64))):
            raise SnncError(f"{where}: attribute '{attr.name}' must be finite, got {value}")
        out[attr.name] = value
    return out


def neuron(node: onnx.NodeProto, shape: tuple[int, ...]) -> Neuron:
    """The LIF node `node` over per-sample `shape`, as a Neuron; SnncError naming the node if it is none."""
    if node.domain != DOMAIN or node.op_type not in ("LIF", "RLIF"):
        raise SnncError(f"{node_where(node)}: not a neuron")
    a = _lif_attributes(node)
    where = node_where(node)
    order = a.get("order", "snnc")
    if order not in ORDERS:
        raise SnncError(f"{where}: order must be one of {', '.join(ORDERS)}, got '{order}'")
    for key in ("beta", "threshold"):
        if key not in a:
            raise SnncError(f"{where}: missing attribute '{key}'")
    beta, theta = float(a["beta"]), float(a["threshold"])
    if not 0 <= beta <= 1:
        raise SnncError(f"{where}: beta must be in [0, 1], got {beta:g}")
    alpha = a.get("alpha")
    if alpha is not None and not 0 <= alpha <= 1:
        raise SnncError(f"{where}: alpha (the synaptic current's leak) must be in [0, 1], got {alpha:g}")
    if not theta > 0:
        raise SnncError(f"{where}: threshold must be > 0, got {theta:g}")
    if a.get("betas"):  # one leak per output channel
        betas = np.asarray(a["betas"], np.float64)
        if len(betas) != shape[0] or np.any((betas < 0) | (betas > 1)):
            raise SnncError(f"{where}: betas must be one value in [0, 1] per output channel ({shape[0]}), "
                            f"got {len(betas)} from {betas.min():g} to {betas.max():g}")
        beta = betas
    reset, sq, output = a.get("reset", "subtract"), a.get("state_quant", "none"), a.get("output", "spikes")
    if output not in OUTPUTS:
        raise SnncError(f"{where}: output must be one of {', '.join(OUTPUTS)}, got '{output}'")
    if reset not in RESET_MODES:
        raise SnncError(f"{where}: reset must be one of {', '.join(RESET_MODES)}, got '{reset}'")
    if sq not in STATE_QUANT_MODES:
        raise SnncError(f"{where}: state_quant must be one of {', '.join(STATE_QUANT_MODES)}, got '{sq}'")
    lsb = a.get("state_lsb")
    if lsb is not None and not lsb > 0:
        raise SnncError(f"{where}: state_lsb must be > 0, got {lsb:g}")
    levels = np.asarray(a["state_levels"], np.float64) if a.get("state_levels") else None
    if levels is not None:
        k = len(levels)
        if sq == "none":
            raise SnncError(f"{where}: state_levels given but state_quant is 'none'")
        if k < 2 or k & (k - 1) or np.any(np.diff(levels) <= 0):
            raise SnncError(f"{where}: state_levels must be 2**bits strictly ascending values, got {k}")
        if lsb is not None and not np.allclose(np.round(levels / lsb) * lsb, levels, rtol=1e-9, atol=0):
            raise SnncError(f"{where}: state_levels are not multiples of state_lsb {lsb:g}")
    smin, smax = a.get("state_min"), a.get("state_max")
    if smin is not None and smax is not None and not smin <= 0 <= smax:
        raise SnncError(f"{where}: need state_min <= 0 <= state_max, got [{smin:g}, {smax:g}]")
    return Neuron(node.name or node.output[0], shape, beta, theta, reset, lsb, sq, levels, smin, smax, order,
                  output=output, alpha=alpha)
