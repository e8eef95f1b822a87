"""NIR import: read a NIR graph (the Neuromorphic Intermediate Representation, `nir.read`) into the
real-valued `Graph` that the passes lower, as the ONNX importer does for the dialect.

NIR's neurons are continuous-time ODEs; snnc runs them as the forward-Euler step of time step dt
(from `--dt`, else the graph's metadata key "dt"), per neuron, at every step (docs/interop.md):

    LIF      v = (1 - dt/tau) v + dt/tau (v_leak + r I)
    IF       v = v + dt r I
    CubaLIF  I_syn = (1 - dt/tau_syn) I_syn + dt/tau_syn w_in I, then the LIF above with input
             I_syn: snnc's synaptic current (alpha = 1 - dt/tau_syn, one per layer, the gains folded
             into the weights; v_leak must then be 0); with tau_syn = dt it is this step's input
             times w_in, and the LIF needs no second state
    fire     z = v > v_threshold, then v = v_reset (which must be 0: snnc's "zero" reset)
    LI, I, CubaLI   the same steps without firing, as the last node: a membrane readout (the output
             is v); a synapse straight into the Output is a readout of its current (beta 0)

which is the dialect's LIF (reset "zero", order "snnc", fired strictly above theta) with
beta = 1 - dt/tau, the input gain dt/tau r (times v_threshold[0] / v_threshold, which makes
per-neuron thresholds one) folded into the synapse's weight rows and dt/tau v_leak into its bias.
The gain must be one per output channel for a convolution.  Float32 parameters within four ulps of
a short binary fraction (beta) or a power of two (the gain) are taken as that value, and a note
says so.  The state goes on a grid of 2**-FLOAT_STATE_GRID_BITS of theta, clamped to +-FLOAT_STATE_CLAMP
theta, as for snnTorch models.  A readout has no threshold: its grid is 2**-FLOAT_STATE_GRID_BITS of the
largest |v| its inputs can drive it to, strongest / (1 - beta) (FLOAT_STATE_CLAMP times the strongest
step for an integrator), and it is clamped there.
"""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np

from .contracts import FLOAT_STATE_CLAMP, FLOAT_STATE_GRID_BITS, float_state_grid
from .errors import SnncError
from .graph import Flatten, Graph, Neuron, Pool, Synapse
from .nir_graph import READOUTS, array as _array, chain, per_neuron as _per_neuron, read, real as _real, where as _where
from .scales import fit_bits, pow2_exact

FLOAT32_ULPS = 2.0 ** -21  # relative: four float32 ulps, the rounding of a parameter written as float32
SNAP_FRAC_BITS = 16  # a beta this close to a multiple of 2**-16 is taken as one (a short binary fraction)


def _snap(x: float, frac_bits: int) -> float:
    """x, or the nearest multiple of 2**-frac_bits if x is within float32 rounding of it."""
    near = round(x * 2 ** frac_bits) / 2 ** frac_bits
    return near if abs(near - x) <= FLOAT32_ULPS * max(abs(x), 2.0 ** -frac_bits) else x


def _snap_pow2(x: np.ndarray) -> np.ndarray:
    """Each value, or the nearest power of two where it is within float32 rounding of one."""
    p = 2.0 ** np.round(np.log2(np.maximum(np.abs(x), 1e-300)))
    return np.where(np.abs(np.abs(x) - p) <= FLOAT32_ULPS * p, np.sign(x) * p, x)


def _time_step(graph, dt: float | None, path: Path) -> float:
    """The Euler step in seconds: --dt, else the graph's metadata "dt" (one finite number above 0)."""
    source = "--dt"
    if dt is None:
        metadata = getattr(graph, "metadata", None)
        dt = metadata.get("dt") if isinstance(metadata, dict) else None
        if dt is None:
            raise SnncError(f"{path}: the NIR graph does not state its time step: give --dt SECONDS (snnTorch's "
                            "exporter assumes 1e-4, Norse's 1e-3)")
        source = f"{path}: metadata 'dt'"
        step = _real(dt, source)
        if step is None or step.size != 1:
            raise SnncError(f"{source} must be one number of seconds, got {str(dt)[:40]!r}")
        dt = float(step.reshape(-1)[0])
    if not (math.isfinite(dt) and dt > 0):
        raise SnncError(f"{source} must be a finite time step above 0 seconds, got {dt}")
    return dt


def _input_shape(name: str, node) -> tuple[int, ...]:
    try:
        shape = (getattr(node, "input_type", None) or {}).get("input")
        shape = np.asarray(shape if shape is not None else [])
        if np.iscomplexobj(shape) or shape.dtype.kind not in "iuf" and shape.size:
            raise TypeError
        shape = tuple(int(d) for d in shape.astype(np.int64).reshape(-1))
    except (TypeError, ValueError, AttributeError, OverflowError):
        raise SnncError(f"{_where(name, node)}: input_type is not a shape") from None
    if len(shape) in (2, 4) and shape[0] == 1:
        shape = shape[1:]  # a batch axis of 1, as Norse writes it
    if len(shape) not in (1, 3) or min(shape) < 1:
        raise SnncError(f"{_where(name, node)}: input_type must be [features] or [C, H, W], got {list(shape)}")
    return shape


def _pair(value, what: str, where: str) -> int:
    """One value of an int-or-pair field (stride, padding, kernel_size) that must be square."""
    v = np.asarray(value).reshape(-1)
    if v.dtype.kind not in "iuf" or v.size not in (1, 2) or not np.all(v == np.round(v)) or len(set(v.tolist())) != 1:
        raise SnncError(f"{where}: {what} must be one value or an equal pair, got {v.tolist()}")
    return int(v[0])


def _synapse(name: str, node, shape: tuple[int, ...]) -> Synapse:
    where, kind = _where(name, node), type(node).__name__
    w = _array(node, "weight", where)
    if 0 in w.shape:
        raise SnncError(f"{where}: weight shape {list(w.shape)} has a zero-sized dimension")
    if kind in ("Affine", "Linear"):
        if w.ndim != 2 or len(shape) != 1 or w.shape[1] != shape[0]:
            raise SnncError(f"{where}: weight {list(w.shape)} does not take the input of shape {list(shape)} "
                            "(flatten it first)")
        bias = _array(node, "bias", where).reshape(-1) if kind == "Affine" else np.zeros(w.shape[0])
        if bias.shape != (w.shape[0],):
            raise SnncError(f"{where}: bias has {bias.size} values, expected {w.shape[0]}")
        return Synapse(name, "dense", w, bias, shape)
    if w.ndim != 4 or len(shape) != 3 or w.shape[1] != shape[0]:
        raise SnncError(f"{where}: weight {list(w.shape)} does not take the input of shape {list(shape)}")
    if int(getattr(node, "groups", 1)) != 1 or _pair(getattr(node, "dilation", 1), "dilation", where) != 1:
        raise SnncError(f"{where}: only groups=1 and dilation 1 are supported")
    stride, padding = _pair(node.stride, "stride", where), node.padding
    if isinstance(padding, str):
        if padding == "valid":
            padding = 0
        elif padding == "same" and stride == 1 and w.shape[2] == w.shape[3] and w.shape[2] % 2:
            padding = w.shape[2] // 2
        else:
            raise SnncError(f"{where}: padding '{padding}' is supported as 'valid', or 'same' with stride 1 and an odd "
                            "square kernel")
    padding = _pair(padding, "padding", where)
    bias = _array(node, "bias", where).reshape(-1)
    if bias.size == 1:
        bias = np.full(w.shape[0], float(bias[0]))
    if bias.shape != (w.shape[0],):
        raise SnncError(f"{where}: bias has {bias.size} values, expected {w.shape[0]}")
    if not 1 <= stride <= max(shape[1:]) or not 0 <= padding <= max(shape[1:]):
        raise SnncError(f"{where}: stride must be 1 to the input's size {max(shape[1:])} and padding 0 to it")
    syn = Synapse(name, "conv2d", w, bias, shape, stride=stride, padding=padding)
    if min(syn.out_shape[1:]) < 1:
        raise SnncError(f"{where}: kernel {list(w.shape[2:])} does not fit the input {list(shape)}")
    return syn


def _pool(name: str, node, shape: tuple[int, ...]) -> Pool:
    where = _where(name, node)
    k = _pair(node.kernel_size, "kernel_size", where)
    if len(shape) != 3 or _pair(node.stride, "stride", where) != k or _pair(node.padding, "padding", where) != 0 \
            or not 1 <= k <= min(shape[1:]):
        raise SnncError(f"{where}: pools need [C, H, W] input, a square window at most {min(shape[1:] or (0,))} equal "
                        "to the stride, and no padding")
    return Pool(name, "avg", k, shape)


def _flatten(name: str, node, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape after a Flatten, which must flatten the whole sample (or nothing)."""
    where = _where(name, node)
    declared = (getattr(node, "input_type", None) or {}).get("input")
    rank = len(shape)
    if declared is not None and np.size(declared) == rank + 1:
        rank += 1  # the exporter counted a batch axis
    start, end = int(node.start_dim) % rank, int(node.end_dim) % rank
    if rank > len(shape):
        start, end = max(start - 1, 0), end - 1
    if start == end:
        return shape
    if start != 0 or end != len(shape) - 1:
        raise SnncError(f"{where}: only a Flatten of the whole sample is supported (dims {node.start_dim} to "
                        f"{node.end_dim} of {list(shape)})")
    return (math.prod(shape),)


def _neuron(name: str, node, shape: tuple[int, ...], dt: float, notes: list[str]):
    """(Neuron, per-neuron input gain, per-neuron added current) of a NIR neuron node, as the module
    docstring discretizes it."""
    where, kind = _where(name, node), type(node).__name__
    p = lambda field: _per_neuron(node, field, shape, where)
    readout = kind in READOUTS
    theta, v_reset = (np.ones(shape), np.zeros(shape)) if readout else (p("v_threshold"), p("v_reset"))
    if np.any(theta <= 0):
        raise SnncError(f"{where}: v_threshold must be > 0, got {float(theta.min()):g}")
    if np.any(v_reset != 0):
        raise SnncError(f"{where}: v_reset {float(v_reset[v_reset != 0][0]):g} is not supported (snnc resets to 0)")
    if kind in ("IF", "I"):
        rate, gain, leak = np.zeros(shape), dt * p("r"), np.zeros(shape)
    else:
        tau = p("tau_mem" if kind.startswith("Cuba") else "tau")
        if np.any(tau <= 0):
            raise SnncError(f"{where}: time constants must be > 0, got {float(tau.min()):g}")
        rate = dt / tau
        gain, leak = rate * p("r"), rate * p("v_leak")
        if kind.startswith("Cuba"):
            alpha, syn_gain = _synaptic(p, dt, where)
            gain = gain * syn_gain
    per_channel = (1 - rate).reshape(shape[0], -1)
    if np.any(np.ptp(per_channel, axis=1) > FLOAT32_ULPS):
        raise SnncError(f"{where}: tau differs within a channel (dt/tau from {float(rate.min()):g} to "
                        f"{float(rate.max()):g}); snnc's LIF has one leak per output channel")
    betas = np.array([_snap(float(b), SNAP_FRAC_BITS) for b in per_channel[:, 0]])
    if np.any((betas < 0) | (betas > 1)):
        raise SnncError(f"{where}: dt/tau = {float(1 - betas[(betas < 0) | (betas > 1)][0]):g} is outside [0, 1] "
                        f"(dt = {dt:g} s): the Euler step is unstable or grows; check --dt")
    if np.any(betas != per_channel[:, 0]):
        notes.append(f"{name}: beta = 1 - dt/tau = {float(per_channel[0, 0]):.10g} taken as {betas[0]:g} "
                     f"(float32 rounding)")
    beta = float(betas[0]) if np.ptp(betas) <= FLOAT32_ULPS else betas  # one leak, or one per channel
    ratio = float(theta.flat[0]) / theta
    gain, leak = _snap_pow2(gain * ratio), leak * ratio
    if np.ptp(theta) > 0:
        notes.append(f"{name}: per-neuron thresholds made {float(theta.flat[0]):g} by scaling each neuron's input")
    theta0 = float(theta.flat[0])
    neuron = Neuron(name, shape, beta, theta0, "zero", float_state_grid(theta0, FLOAT_STATE_GRID_BITS), state_min=-FLOAT_STATE_CLAMP * theta0,
                    state_max=FLOAT_STATE_CLAMP * theta0, strict_threshold=True,
                    alpha=alpha if kind.startswith("Cuba") else None)
    return neuron, gain, leak


def _synaptic(p, dt: float, where: str) -> tuple[float | None, np.ndarray]:
    """(alpha, input gain dt/tau_syn w_in) of a CubaLIF/CubaLI's synaptic current; alpha None where
    tau_syn = dt (the current is this step's input: no second state)."""
    rate = dt / p("tau_syn")
    if np.all(np.abs(rate - 1) <= FLOAT32_ULPS):
        return None, p("w_in")
    if not np.all(np.isfinite(rate)) or np.ptp(rate) > FLOAT32_ULPS * np.max(np.abs(rate)):
        raise SnncError(f"{where}: tau_syn differs between neurons; snnc's synaptic current has one alpha per layer")
    alpha = _snap(1 - float(rate.flat[0]), SNAP_FRAC_BITS)
    if not 0 <= alpha <= 1:
        raise SnncError(f"{where}: dt/tau_syn = {float(rate.flat[0]):g} is outside [0, 1] (dt = {dt:g} s): check --dt")
    if np.any(p("v_leak") != 0):
        raise SnncError(f"{where}: v_leak with a synaptic current (tau_syn != dt) is not supported: snnc adds a "
                        "neuron's constant input through its synaptic current")
    return alpha, rate * p("w_in")


def _clamp_for(neuron: Neuron, syn: Synapse) -> Neuron:
    """A synaptic neuron's clamp (both states share it) wide enough for its current and the membrane
    it drives: the strongest input over (1 - alpha), the largest |c| the synapse can drive, over
    (1 - beta), the largest |v| that current can drive (a leak of 1: FLOAT_STATE_CLAMP times)."""
    if neuron.alpha is None:
        return neuron
    strongest = float(np.max(np.abs(syn.weight).reshape(syn.weight.shape[0], -1).sum(axis=1) + np.abs(syn.bias)))
    grow = lambda x, leak: x / (1 - leak) if leak < 1 else x * FLOAT_STATE_CLAMP
    bound = max(neuron.state_max, grow(grow(strongest, neuron.alpha), float(np.max(neuron.beta))))
    bound = math.ceil(bound / neuron.state_lsb) * neuron.state_lsb
    return replace(neuron, state_min=-bound, state_max=bound)


def _readout(neuron: Neuron, syn: Synapse) -> Neuron:
    """A readout on the grid of the largest |v| the synapse can drive it to (module docstring)."""
    w = np.abs(syn.weight).reshape(syn.weight.shape[0], -1).sum(axis=1) + np.abs(syn.bias)
    strongest, beta = max(float(w.max()), 2.0 ** -FLOAT_STATE_GRID_BITS), float(np.max(neuron.beta))
    if neuron.alpha is not None:  # the synaptic current reaches strongest / (1 - alpha), and drives v
        strongest = strongest * FLOAT_STATE_CLAMP if neuron.alpha == 1 else strongest / (1 - neuron.alpha)
    bound = strongest * FLOAT_STATE_CLAMP if beta == 1 else strongest / (1 - beta)
    return replace(neuron, threshold=bound, reset="none", state_lsb=float_state_grid(bound, FLOAT_STATE_GRID_BITS), state_min=-bound,
                   state_max=bound, strict_threshold=False, output="membrane")


SILENT_STEPS = 1000  # a neuron its strongest input takes longer than this to fire is as good as silent


def _silent(name: str, syn: Synapse, neuron, dt: float, integrator: bool) -> list[str]:
    """A warning when the strongest input the synapse can give (every input with a positive weight
    spiking, its bias) cannot bring a neuron to its threshold within SILENT_STEPS steps: a step dt
    far from the one the graph was made for (a sinabs IF graph, made for dt = 1, read at 1e-4)."""
    strongest = float(np.max(np.maximum(syn.weight, 0).reshape(syn.weight.shape[0], -1).sum(axis=1)
                             + np.maximum(syn.bias, 0)))
    if neuron.alpha is not None:  # a synaptic current builds up to strongest / (1 - alpha)
        strongest = strongest / (1 - neuron.alpha) if neuron.alpha < 1 else math.inf
    beta, theta = float(np.max(neuron.beta)), neuron.threshold  # the slowest leak fires soonest
    if strongest > 0 and (beta == 1 or strongest / (1 - beta) > theta):  # v_n = I (1 - beta^n) / (1 - beta)
        steps = theta / strongest if beta == 1 else math.log(1 - theta * (1 - beta) / strongest) / math.log(beta)
        if steps <= SILENT_STEPS:
            return []
        why = f"needs {math.ceil(steps):,} steps of its strongest input to reach the threshold"
    else:
        why = "can never reach the threshold, even with every input spiking"
    fit = f" (at --dt {dt * steps:.3g} it fires in one step)" if integrator and strongest > 0 else ""
    return [f"warning: {name} {why} at dt = {dt:g} s; is --dt the step the graph was made for?{fit}"]


def _fold_gain(syn: Synapse, pool: Pool | None, gain: np.ndarray, leak: np.ndarray, where: str) -> Synapse:
    """The synapse with each output's weights and bias times the gain of the neurons it feeds, plus
    their added current (an average pool of the currents keeps both); for a convolution, gain and
    current must be one per channel."""
    out_shape = (pool or syn).out_shape
    gain, leak = gain.reshape(out_shape), leak.reshape(out_shape)
    if syn.kind == "conv2d":
        if np.any(np.ptp(gain.reshape(out_shape[0], -1), axis=1) > 0) or \
                np.any(np.ptp(leak.reshape(out_shape[0], -1), axis=1) > 0):
            raise SnncError(f"{where}: input gain (dt/tau r, thresholds) and v_leak must be one per channel "
                            "after a convolution")
        gain, leak = gain.reshape(out_shape[0], -1)[:, 0], leak.reshape(out_shape[0], -1)[:, 0]
    bshape = (-1,) + (1,) * (syn.weight.ndim - 1)
    return replace(syn, weight=syn.weight * gain.reshape(bshape), bias=syn.bias * gain + leak)


def _with_recurrent(syn: Synapse, name: str, node, reshaped: bool) -> Synapse:
    """The synapse into a recurrent neuron with the weights of its spikes' way back (an Affine or
    Linear [n, n]) as its last n columns (graph.Synapse.recurrent) and their bias added: NIR sums a
    node's inputs, and the spikes arrive one step late, as in every discrete-time simulator of it."""
    where = _where(name, node)
    if syn.kind != "dense" or reshaped:
        raise SnncError(f"{where}: a recurrent layer's input must be an Affine or Linear, without pool or Flatten")
    back = _synapse(name, node, syn.out_shape)
    if back.out_shape != syn.out_shape:
        raise SnncError(f"{where}: the recurrent weights give {list(back.out_shape)} currents, the layer has "
                        f"{list(syn.out_shape)} neurons")
    return replace(syn, weight=np.hstack([syn.weight, back.weight]), bias=syn.bias + back.bias, recurrent=True)


def _with_codes(syn: Synapse) -> Synapse:
    """Weights that are already integers times a power of two keep them exactly."""
    exact = pow2_exact(syn.weight)
    if exact is None:
        return syn
    q, scale = exact
    return replace(syn, q=q, scale=np.full(syn.weight.shape[0], scale), bits=fit_bits(q))


def import_nir(path: str | Path, dt: float | None = None) -> Graph:
    """Read the NIR graph at `path` into a Graph (pass 1 of the pipeline); dt in seconds."""
    path = Path(path)
    graph = read(path)
    nodes, recurrent = chain(graph, path)
    step = _time_step(graph, dt, path)
    input_shape = shape = _input_shape(*nodes[0])
    layers: list = []
    notes = [f"NIR graph run with the forward-Euler step dt = {step:g} s"]
    pending: Synapse | None = None  # a synapse waiting for its LIF
    pool: Pool | None = None  # a pool of its currents
    flat_currents = False  # a Flatten of its currents, moved behind the LIF
    spike_gain = 1  # a SumPool2d of spikes: the next synapse's weights times its window
    for name, node in nodes[1:]:
        try:  # a hostile file's fields may have any type: name the node, never a traceback
            kind, where = type(node).__name__, _where(name, node)
            if kind in ("Affine", "Linear", "Conv2d"):
                if pending is not None:
                    raise SnncError(f"{where}: a synapse must take spikes, but follows '{pending.name}' without a neuron")
                pending = _synapse(name, node, shape)
                pending = replace(pending, weight=pending.weight * spike_gain)
                shape, spike_gain = pending.out_shape, 1
            elif kind in ("SumPool2d", "AvgPool2d"):
                p = _pool(name, node, shape)
                window = p.kernel ** 2 if kind == "SumPool2d" else 1  # a sum is the average times the window
                if pending is not None:
                    if pool is not None or flat_currents:
                        raise SnncError(f"{where}: one pool of a synapse's currents, before any Flatten")
                    pool, pending = p, replace(pending, weight=pending.weight * window, bias=pending.bias * window)
                elif not layers or not isinstance(layers[-1], Neuron):
                    raise SnncError(f"{where}: a pool must take a synapse's currents or a neuron's spikes")
                else:
                    layers.append(p)
                    spike_gain = window
                shape = p.out_shape
            elif kind == "Flatten":
                new = _flatten(name, node, shape)
                if new != shape:
                    if pending is not None:
                        flat_currents = True
                    else:
                        layers.append(Flatten(name, shape))
                shape = new
            else:  # a neuron
                if pending is None:
                    raise SnncError(f"{where}: a neuron must follow a synapse (Affine, Linear or Conv2d)")
                current_shape = (pool or pending).out_shape
                if name in recurrent:
                    pending = _with_recurrent(pending, *recurrent[name], pool is not None or flat_currents)
                neuron, gain, leak = _neuron(name, node, current_shape, step, notes)
                pending = _with_codes(_fold_gain(pending, pool, gain, leak, where))
                neuron = _clamp_for(neuron, pending)
                if kind in READOUTS:
                    neuron = _readout(neuron, pending)
                else:
                    notes += _silent(name, pending, neuron, step, kind == "IF")
                layers += [pending] + ([pool] if pool else []) + [neuron]
                if flat_currents:
                    layers.append(Flatten(name + "_flatten", current_shape))
                pending, pool, flat_currents = None, None, False
        except (TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError) as e:
            raise SnncError(f"{_where(name, node)}: malformed ({type(e).__name__}: {e})") from None
    if pending is not None and pool is None and not flat_currents:  # currents out: a readout of them (beta 0)
        layers += [_with_codes(pending), _readout(Neuron(pending.name + "_readout", pending.out_shape, 0.0, 1.0),
                                                  pending)]
        pending = None
    if pending is not None or not layers or spike_gain != 1 or \
            not isinstance(next((x for x in reversed(layers) if not isinstance(x, Flatten)), None), Neuron) or \
            isinstance(layers[-1], Pool):
        raise SnncError(f"{path}: the Output must take the spikes of the last neuron, a readout's (LI, I, CubaLI) "
                        "membranes or a synapse's currents")
    while isinstance(layers[-1], Flatten):
        layers.pop()  # a trailing flatten only reshapes the output; the IR reports it flat anyway
    return Graph(path.stem, input_shape, tuple(layers), tuple(notes))
