"""The golden model: executes the fixed-point IR with numpy integers, bit-exact to docs/spec.md section 2.

Layers within a timestep run in order and feed forward without delay, so each layer can process
all T timesteps at once: a synapse turns spikes [T, B, ...] into currents in one product, then the
LIF steps through time.  Synaptic sums are computed by BLAS in float32 or float64 where the proven
accumulator bound fits the mantissa (then every partial sum is an exact integer), else in int64.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from snnc.compiler import levels as codec
from snnc.compiler.contracts import FLOAT32_EXACT, FLOAT64_EXACT
from snnc.compiler.errors import SnncError
from snnc.compiler.geometry import check_timesteps
from snnc.compiler.lif_step import lif_step, synaptic_step
from snnc.compiler.ir import LIF, Conv2d, Crop2d, Dense, Flatten, MaxPool2d, Network
from snnc.compiler.update_skips import steady


@dataclass(frozen=True)
class Trace:
    """Per-layer record of a run: spikes uint8 [T, B, ...] for every layer, and for LIFs the stored
    state value v int64 [T, B, ...] after each step (and the final code, when there are levels);
    for a LIF with a synaptic current, its stored c [T, B, ...] in `currents`."""

    outputs: dict[str, np.ndarray]
    states: dict[str, np.ndarray]
    final_codes: dict[str, np.ndarray]
    currents: dict[str, np.ndarray]


def check_spikes(spikes: np.ndarray, input_shape: tuple[int, ...], source: str = "input spikes") -> np.ndarray:
    """Validate a spike tensor [T, B, *input_shape] of 0/1 (bool, integer or real float) -> uint8
    [T, B, *input_shape]; a conv build's input may also come flat, [T, B, C*H*W].  T must fit the
    design's timestep counter (geometry.check_timesteps), as on the RTL.  SnncError naming `source`
    (the file the spikes came from, or "input spikes")."""
    x = np.asarray(spikes)
    if x.dtype == object or not (x.dtype == bool or np.issubdtype(x.dtype, np.number)) \
            or np.issubdtype(x.dtype, np.complexfloating):
        raise SnncError(f"{source}: spikes must be bool, integer or float, not {x.dtype}")
    if x.ndim == 3 and len(input_shape) > 1 and x.shape[2] == math.prod(input_shape):
        x = x.reshape(*x.shape[:2], *input_shape)
    if x.ndim != 2 + len(input_shape) or tuple(x.shape[2:]) != tuple(input_shape):
        flat = f" or [T, B, {math.prod(input_shape)}]" if len(input_shape) > 1 else ""
        raise SnncError(f"{source}: spikes must have shape [T, B, {', '.join(map(str, input_shape))}]{flat}, "
                        f"got {list(x.shape)}")
    if x.size == 0:
        raise SnncError(f"{source}: empty spike array (shape {list(x.shape)})")
    try:
        check_timesteps(x.shape[0])
    except SnncError as e:
        raise SnncError(f"{source}: {e}") from None
    if not np.all((x == 0) | (x == 1)):
        raise SnncError(f"{source}: spikes must be 0 or 1; found other values")
    return x.astype(np.uint8)


def _exact_dtype(layer: Dense | Conv2d):
    """Narrowest float type whose mantissa holds every partial sum exactly, else int64."""
    bound = int(np.abs(layer.weight).reshape(layer.weight.shape[0], -1).sum(axis=1).max(initial=0))
    if bound < FLOAT32_EXACT:
        return np.float32
    return np.float64 if bound < FLOAT64_EXACT else np.int64


def synaptic_current(layer: Dense | Conv2d, spikes: np.ndarray, bias: bool = True) -> np.ndarray:
    """Currents int64 [N, *out_shape] from spikes [N, *in_shape] (N = T*B); a recurrent Dense's
    feed-forward part (own_synapse is the rest).  bias=False: without the bias."""
    dt = _exact_dtype(layer)
    w = layer.weight[:, :layer.in_shape[0]] if isinstance(layer, Dense) and layer.recurrent else layer.weight
    w = w.astype(dt)
    s = spikes.astype(dt)
    if isinstance(layer, Dense):
        acc = s @ w.T
    else:
        p, st = layer.padding, layer.stride
        kh, kw = w.shape[2:]
        s = np.pad(s, ((0, 0), (0, 0), (p, p), (p, p)))
        win = np.lib.stride_tricks.sliding_window_view(s, (kh, kw), axis=(2, 3))[:, :, ::st, ::st]
        acc = np.einsum("nchwij,ocij->nohw", win, w, optimize=True)
    acc = np.rint(acc).astype(np.int64) if dt is not np.int64 else acc
    bshape = (1, -1) + (1,) * (acc.ndim - 2)
    return (acc << layer.shift.reshape(bshape)) + (layer.bias.reshape(bshape) if bias else 0)


def own_synapse(layer: Dense) -> Dense:
    """A recurrent Dense's weights of its LIF's spikes of the step before, as a synapse of its own:
    synaptic_current(own, spikes, bias=False) is their current (the feed-forward part carries the
    bias).  One raw sum with the feed-forward part in hardware; (a << s) + (b << s) == (a + b) << s,
    so adding the shifted parts is exact."""
    return Dense(layer.name, layer.weight[:, layer.in_shape[0]:], layer.bias, layer.shift, layer.weight_bits)


def run(net: Network, spikes: np.ndarray, trace: bool = False) -> np.ndarray | tuple[np.ndarray, Trace]:
    """Run `net` on spikes [T, B, *input_shape]; return the output spikes uint8 [T, B, *output_shape]
    (with a membrane readout, its stored states int64 [T, B, N] in LSB units) and, with trace=True,
    a Trace of every layer."""
    x = check_spikes(spikes, net.input_shape)
    t_steps, batch = x.shape[:2]
    outputs, states, codes, currents = {}, {}, {}, {}
    own = None  # a recurrent Dense's own_synapse: its LIF's loop adds the spikes of the step before
    for layer in net.layers:
        if isinstance(layer, (Dense, Conv2d)):
            own = own_synapse(layer) if isinstance(layer, Dense) and layer.recurrent else None
            x = synaptic_current(layer, x.reshape(t_steps * batch, *layer.in_shape))
            x = x.reshape(t_steps, batch, *layer.out_shape)
        elif isinstance(layer, Flatten):
            x = x.reshape(t_steps, batch, *layer.out_shape)
        elif isinstance(layer, MaxPool2d):  # currents or 0/1 spikes (where the max is the OR)
            c, h, w = layer.out_shape
            k = layer.kernel
            x = x[..., : h * k, : w * k].reshape(t_steps, batch, c, h, k, w, k).max(axis=(4, 6))
        elif isinstance(layer, Crop2d):
            x = x[..., : layer.out_hw[0], : layer.out_hw[1]]
        elif isinstance(layer, LIF):
            current, x = x, np.empty(x.shape, np.uint8)
            v = c = np.zeros(current.shape[1:], np.int64)
            v_hist = np.empty(current.shape, np.int64) if trace or layer.readout else None
            c_hist = np.empty(current.shape, np.int64) if trace and layer.synaptic else None
            for t in range(t_steps):
                drive = current[t]
                if own is not None and t:
                    drive = drive + synaptic_current(own, x[t - 1], bias=False)
                if layer.synaptic:
                    drive, c = synaptic_step(layer, c, drive)
                x[t], v = lif_step(layer, v, drive)
                if v_hist is not None:
                    v_hist[t] = v
                if c_hist is not None:
                    c_hist[t] = c
            if trace:
                states[layer.name] = v_hist
                if layer.levels is not None:
                    codes[layer.name] = codec.encode(v, layer.levels, layer.floor_bits)
                if layer.synaptic:
                    currents[layer.name] = c_hist
            if layer.readout:
                x = v_hist
        outputs[layer.name] = x
    return (x, Trace(outputs, states, codes, currents)) if trace else x


def engine_inputs(net: Network, spikes: np.ndarray, trace: Trace) -> list[np.ndarray]:
    """The spikes each engine (ir.Network.stages) takes: the network input, then every engine's
    spikes after its pool or crop, uint8 [T, B, ...]; a recurrent engine's flat [T, B, n_in + n_out],
    its own spikes of the step before (none at the first) after its input's."""
    inputs = [np.asarray(spikes)] + [trace.outputs[s.output.name] for s in net.stages[:-1]]
    for i, stage in enumerate(net.stages):
        if isinstance(stage.synapse, Dense) and stage.synapse.recurrent:
            own = trace.outputs[stage.lif.name]
            delayed = np.concatenate([np.zeros_like(own[:1]), own[:-1]])
            inputs[i] = np.concatenate([inputs[i].reshape(*own.shape[:2], -1), delayed], axis=-1)
    return inputs


def engine_updates(net: Network, trace: Trace) -> list[tuple[np.ndarray, np.ndarray]]:
    """What decides an event-driven update's skips (compiler/update_skips.py), per engine: its
    synapse's sums of each timestep (which are its accumulators' where it skips: a convolution
    without bias), and which neurons were not steady before each step (none before the first)."""
    out = []
    for stage in net.stages:
        lif = stage.lif
        held = ~steady(lif, trace.states[lif.name], trace.currents.get(lif.name))
        out.append((trace.outputs[stage.synapse.name], np.concatenate([np.zeros_like(held[:1]), held[:-1]])))
    return out


def output_array(net: Network, out: np.ndarray) -> np.ndarray:
    """A network's output [T, B, ...] as simulate and run write it, flat [T, B, N]: spikes uint8, or
    a readout's membranes in its LSB units (the readout LIF's `lsb` each), int32 where every state
    fits, else int64."""
    flat = np.asarray(out).reshape(*np.shape(out)[:2], -1)
    lif = net.lifs[-1]
    if not lif.readout:
        return flat.astype(np.uint8)
    return flat.astype(np.int32 if max(-lif.v_min, lif.v_max) < 1 << 31 else np.int64)


CLASSIFY_MEMBRANE = ("last", "max")


def classify(output: np.ndarray, membrane: str = "last") -> np.ndarray:
    """The class of each sample, [T, B, N] -> int64 [B], ties to the lowest index: the argmax of the
    spike counts over T, or for membranes (int64 output, a readout) the argmax of the last step's
    membrane (membrane="last") or of each neuron's largest membrane over T ("max")."""
    out = np.asarray(output)
    if out.dtype in (np.uint8, bool):
        score = out.sum(axis=0, dtype=np.int64)
    elif membrane in CLASSIFY_MEMBRANE:
        score = out[-1] if membrane == "last" else out.max(axis=0)
    else:
        raise SnncError(f"membrane classification must be one of {', '.join(CLASSIFY_MEMBRANE)}, got '{membrane}'")
    return np.argmax(score, axis=-1).astype(np.int64)
