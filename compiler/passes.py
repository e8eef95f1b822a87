"""Compiler passes, each a function from one representation to the next, and the pipeline.

    import_onnx          ONNX file           -> Graph     (onnx_import.py: dialect check, DequantizeLinear folded)
    import_nir           NIR file            -> Graph     (nir_import.py: Euler step of dt, gains into weights)
    quantize_weights     Graph               -> Graph     (--bits: symmetric narrow range, power-of-two scale)
    fold_average_pools   Graph               -> Graph     (average pools into the adjacent synapse's weights)
    quantize_states      Graph               -> Graph     (--state-bits/--state-quant for LIFs without levels)
    lower_to_integers    Graph               -> Network   (choose each LIF's grid; weights, theta, beta, levels on it)
    size_registers       Network             -> Network   (register_sizes.py: every accumulator and register width)

Every pass that changes a value beyond exactness appends a note saying what and by how much;
compile_model prefixes each note with the name of the pass that wrote it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np

from . import ir, levels
from .contracts import GRID_BITS, MAX_LEAK_FRAC_BITS, MAX_WEIGHT_BITS, MAX_WEIGHTS
from .errors import SnncError
from .graph import Crop, Flatten, Graph, Neuron, Pool, Synapse
from .nir_import import import_nir
from .onnx_import import import_onnx
from .register_sizes import register_range, size_registers
from .scales import fit_bits, pow2_quantize

DEFAULT_WEIGHT_BITS = 8
DEFAULT_STATE_BITS = 4
DEFAULT_REGISTER_BITS = 16  # unquantized state with no state_min/state_max: a 16-bit clamped register
MAX_GRID_REFINEMENT = 12  # how many halvings of the weight LSB a float model's state grid may take
AVERAGE_DIVISOR_BITS = 6  # 1/(k*k) that is no power of two becomes m/2**f with m of this many bits


@dataclass(frozen=True)
class Options:
    """What `snnc compile` was asked for (None: keep the model's own choice)."""

    bits: int | None = None
    state_bits: int | None = None
    state_quant: str | None = None
    per_channel: bool = False
    dt: float | None = None  # seconds: a NIR graph's time step (None: the graph's own)


def _error_note(name: str, what: str, exact: np.ndarray, approx: np.ndarray) -> str:
    err = np.abs(np.asarray(approx, np.float64) - exact)
    rms = float(np.sqrt(np.mean(err ** 2))) if err.size else 0.0
    ref = float(np.sqrt(np.mean(np.asarray(exact, np.float64) ** 2))) if err.size else 0.0
    rel = f" ({100 * rms / ref:.2f}% of RMS value)" if ref else ""
    return f"{name}: {what}; max abs error {float(err.max(initial=0.0)):.4g}, RMS error {rms:.4g}{rel}"


def refuse_oversized(graph: Graph) -> Graph:
    """A network of more than MAX_WEIGHTS weights fits no supported part many times over: refused
    before any pass spends time and memory on it."""
    weights = sum(layer.weight.size for layer in graph.layers if isinstance(layer, Synapse))
    if weights > MAX_WEIGHTS:
        raise SnncError(f"model '{graph.name}': {weights:,} weights, more than the {MAX_WEIGHTS:,} snnc compiles (ten times "
                        f"the block RAM of the largest Artix-7 at 8 bits); prune or split the model")
    return graph


def quantize_weights(graph: Graph, opts: Options) -> Graph:
    """Weights already at opts.bits or fewer stay exact; float or wider weights are quantized."""
    layers, notes = [], list(graph.notes)
    for layer in graph.layers:
        if isinstance(layer, Synapse):
            if layer.q is not None and (opts.bits is None or fit_bits(layer.q) <= opts.bits):
                layer = replace(layer, bits=fit_bits(layer.q))
            else:
                bits = opts.bits or DEFAULT_WEIGHT_BITS
                rows = layer.weight.reshape(layer.weight.shape[0], -1)
                if opts.per_channel:
                    pairs = [pow2_quantize(row, bits) for row in rows]
                    q = np.stack([p[0] for p in pairs]).reshape(layer.weight.shape)
                    scale = np.array([p[1] for p in pairs])
                else:
                    q, s = pow2_quantize(rows, bits)
                    q, scale = q.reshape(layer.weight.shape), np.full(rows.shape[0], s)
                bshape = (-1,) + (1,) * (q.ndim - 1)
                approx = q * scale.reshape(bshape)
                source = "float" if layer.q is None else f"{fit_bits(layer.q)}-bit"
                notes.append(_error_note(layer.name, f"{source} weights quantized to {bits} bits "
                                         f"({'per-channel' if opts.per_channel else 'per-tensor'} power-of-two scale)",
                                         layer.weight, approx))
                layer = replace(layer, weight=approx, q=q, scale=scale, bits=bits)
        layers.append(layer)
    return replace(graph, layers=tuple(layers), notes=tuple(notes))


def average_divisor(k: int) -> tuple[int, int]:
    """1/(k*k) as m / 2**f: exact (m = 1) when k*k is a power of two, else m of AVERAGE_DIVISOR_BITS bits."""
    n = k * k
    if n & (n - 1) == 0:
        return 1, n.bit_length() - 1
    f = next(f for f in range(64) if round(2 ** f / n) >= 1 << (AVERAGE_DIVISOR_BITS - 1))
    return round(2 ** f / n), f


def _averaged(syn: Synapse, q: np.ndarray, pool: Pool, notes: list[str], what: str, **changes) -> Synapse:
    """`syn` with integer weights q (the window's weights summed or repeated) divided by k*k."""
    m, f = average_divisor(pool.kernel)
    q = q * m
    scale = syn.scale / 2.0 ** f
    bits = fit_bits(q)
    bshape = (-1,) + (1,) * (q.ndim - 1)
    note = (f"{pool.name}: average pool folded into synapse '{syn.name}' by fold_average_pools "
            f"({what}; weights {syn.bits} -> {bits} bits)")
    if m != 1:
        note += (f"; its divisor {pool.kernel * pool.kernel} is not a power of two and became {2 ** f}/{m} = "
                 f"{2 ** f / m:.4f} ({100 * abs(m * pool.kernel ** 2 / 2 ** f - 1):.2f}% error)")
    notes.append(note)
    return replace(syn, weight=q * scale.reshape(bshape), q=q, scale=scale, bits=bits, **changes)


def fold_average_pools(graph: Graph) -> Graph:
    """Average pools are linear, so each becomes part of a synapse (docs/spec.md section 2):
    Conv -> AvgPool(k) -> LIF is one conv whose kernel sums the window's shifted kernels, stride
    k*stride; LIF -> AvgPool(k) -> [Flatten] -> synapse is one synapse over the unpooled spikes,
    each weight repeated over its k x k window (a conv's kernel, stride and padding times k), with
    a Crop of the rows and columns past the last whole window.  Either divides the weights by k*k."""
    layers, notes = list(graph.layers), list(graph.notes)
    i = 0
    while i < len(layers):
        pool = layers[i]
        if not (isinstance(pool, Pool) and pool.kind == "avg"):
            i += 1
            continue
        k, before = pool.kernel, layers[i - 1]
        if isinstance(before, Synapse):
            kh, kw, s = *before.weight.shape[2:], before.stride
            q = np.zeros((*before.q.shape[:2], (k - 1) * s + kh, (k - 1) * s + kw), np.int64)
            for dy in range(k):
                for dx in range(k):
                    q[:, :, dy * s: dy * s + kh, dx * s: dx * s + kw] += before.q
            layers[i - 1] = _averaged(before, q, pool, notes, f"kernel {kh}x{kw} -> {q.shape[2]}x{q.shape[3]}, "
                                      f"stride {s} -> {k * s}", stride=k * s)
            del layers[i]
            continue
        c, h, w = pool.in_shape
        hp, wp = pool.out_shape[1:]
        crop = [] if (h, w) == (hp * k, wp * k) else [Crop(pool.name + "_crop", pool.in_shape, (hp * k, wp * k))]
        cropped = (c, hp * k, wp * k)
        j = i + 1
        if isinstance(layers[j], Flatten):
            layers[j] = Flatten(layers[j].name, cropped)
            j += 1
        syn = layers[j]
        if syn.recurrent:
            raise SnncError(f"{pool.name}: an average pool cannot feed the recurrent layer '{syn.name}'")
        if syn.kind == "conv2d":
            q = syn.q.repeat(k, axis=2).repeat(k, axis=3)
            what = f"kernel {syn.weight.shape[2]} -> {q.shape[2]}, stride {syn.stride} -> {k * syn.stride}"
            layers[j] = _averaged(syn, q, pool, notes, what, in_shape=cropped, stride=k * syn.stride,
                                  padding=k * syn.padding)
        else:
            q = syn.q.reshape(-1, c, hp, wp).repeat(k, axis=2).repeat(k, axis=3).reshape(syn.q.shape[0], -1)
            layers[j] = _averaged(syn, q, pool, notes, f"{syn.q.shape[1]} -> {q.shape[1]} inputs", in_shape=(q.shape[1],))
        layers[i: i + 1] = crop
        i += 1
    return replace(graph, layers=tuple(layers), notes=tuple(notes))


def quantize_states(graph: Graph, opts: Options) -> Graph:
    """Give level sets to LIFs that ask for state quantization but carry no levels."""
    layers, notes = [], list(graph.notes)
    for layer in graph.layers:
        if isinstance(layer, Neuron):
            if layer.levels is not None:
                if opts.state_quant or opts.state_bits:
                    notes.append(f"{layer.name}: keeps the model's {len(layer.levels)} state levels "
                                 "(--state-bits/--state-quant apply to LIFs without levels)")
            else:
                mode = opts.state_quant or layer.state_quant
                if mode != "none":
                    bits = opts.state_bits or DEFAULT_STATE_BITS
                    build = levels.uniform_levels if mode == "uniform" else levels.threshold_centered_levels
                    layer = replace(layer, state_quant=mode, levels=build(bits, layer.threshold))
                    notes.append(f"{layer.name}: {bits}-bit {mode} state levels over "
                                 f"[{layer.levels[0]:.4g}, {layer.levels[-1]:.4g}]")
                elif layer.state_min is None or layer.state_max is None:
                    notes.append(f"{layer.name}: unquantized state clamped to a "
                                 f"{opts.state_bits or DEFAULT_REGISTER_BITS}-bit register")
        layers.append(layer)
    return replace(graph, layers=tuple(layers), notes=tuple(notes))


def _refined_grid(neuron: Neuron, syn: Synapse, notes: list[str]) -> tuple[float, int]:
    """(LSB, floor_bits) of a LIF with a declared state_lsb: the declared grid, refined by as many
    bits as the synapse's power-of-two weight scales need to be whole multiples of it (an average
    pool divides them by k*k), up to MAX_GRID_REFINEMENT.  The leak and the level midpoints stay
    floored on the declared grid, as the ONNX model computes them."""
    lsb = neuron.state_lsb
    steps = np.log2(syn.scale / lsb)
    if np.any(steps != np.round(steps)) or steps.min() >= 0 or -steps.min() > MAX_GRID_REFINEMENT:
        return lsb, 0
    g = int(-steps.min())
    notes.append(f"{neuron.name}: grid refined {g} bits below state_lsb {lsb:g} to hold synapse '{syn.name}''s "
                 f"weights exactly (leak and level midpoints stay floored on state_lsb)")
    return lsb / 2 ** g, g


def _choose_lsb(neuron: Neuron, syn: Synapse) -> float:
    """The state grid of a float-grid LIF: the finest weight scale's power of two, halved until
    theta is within 1/64 of a grid point and the level range spans at least 4 LSB per level."""
    lsb = 2.0 ** math.floor(math.log2(float(np.min(syn.scale))))
    for _ in range(MAX_GRID_REFINEMENT + 1):
        units = neuron.threshold / lsb
        levels_ok = neuron.levels is None or np.ptp(neuron.levels) / lsb >= 4 * len(neuron.levels)
        if units >= 1 and abs(units - round(units)) <= units / 64 and levels_ok:
            return lsb
        lsb /= 2
    raise SnncError(f"LIF '{neuron.name}': no state grid up to {MAX_GRID_REFINEMENT} halvings below the weight "
                    f"scale {float(np.min(syn.scale)):g} of synapse '{syn.name}' places the threshold "
                    f"{neuron.threshold:g} and the levels; set state_lsb in the model")


def _leak(beta: float | np.ndarray) -> tuple[int | np.ndarray, int, bool]:
    """beta (one, or one per channel) -> (B, F, exact) with beta ~ B / 2**F, F as small as exactness
    allows (one F for every channel; B int64 [C] for per-channel betas)."""
    betas = np.atleast_1d(np.asarray(beta, np.float64))
    as_given = lambda b: b if np.ndim(beta) else int(b[0])
    for f in range(MAX_LEAK_FRAC_BITS + 1):
        b = betas * (1 << f)
        if np.all(b == np.round(b)):
            return as_given(b.astype(np.int64)), f, True
    return as_given(np.round(betas * (1 << MAX_LEAK_FRAC_BITS)).astype(np.int64)), MAX_LEAK_FRAC_BITS, False


def lower_to_integers(graph: Graph, opts: Options) -> ir.Network:
    """Put every synapse+LIF pair on its LIF's integer grid (the LSB) and build the IR."""
    out, notes = [], list(graph.notes)
    for i, layer in enumerate(graph.layers):
        if isinstance(layer, Flatten):
            out.append(ir.Flatten(layer.name, tuple(layer.in_shape)))
        elif isinstance(layer, Crop):
            out.append(ir.Crop2d(layer.name, tuple(layer.in_shape), tuple(layer.out_hw)))
        elif isinstance(layer, Pool) and not isinstance(graph.layers[i - 1], Synapse):
            out.append(ir.MaxPool2d(layer.name, tuple(layer.in_shape), layer.kernel))  # of spikes
        elif isinstance(layer, Neuron):
            pool = graph.layers[i - 1] if isinstance(graph.layers[i - 1], Pool) else None
            syn = graph.layers[i - 2 if pool else i - 1]
            lsb, floor_bits = _refined_grid(layer, syn, notes) if layer.state_lsb else (_choose_lsb(layer, syn), 0)
            out.append(_integer_synapse(syn, lsb, notes))
            if pool:
                out.append(ir.MaxPool2d(pool.name, tuple(pool.in_shape), pool.kernel))
            out.append(_integer_lif(layer, lsb, floor_bits, opts, notes))
    net = ir.Network(graph.name, tuple(graph.input_shape), tuple(out), tuple(notes))
    return ir.validate(net)


def on_grid(values, lsb: float, where: str, what: str) -> np.ndarray:
    """Real values -> integers in units of lsb (int64, rounded); SnncError naming the layer and
    field when one is not finite or beyond 2**GRID_BITS."""
    units = np.asarray(values, np.float64) / lsb
    if not np.all(np.isfinite(units)) or np.any(np.abs(units) > 2.0 ** GRID_BITS):
        worst = float(np.max(np.abs(np.asarray(values, np.float64))))
        raise SnncError(f"{where}: {what} {worst:g} is beyond 2**{GRID_BITS} steps of the state grid {lsb:g}")
    return np.round(units).astype(np.int64)


def _integer_synapse(syn: Synapse, lsb: float, notes: list[str]) -> ir.Dense | ir.Conv2d:
    shift = None
    if np.all(syn.scale >= lsb):  # a scale too large for the datapath is an error, not a huge shift
        on_grid(syn.scale, lsb, f"synapse '{syn.name}'", "weight scale")
        shift = np.round(np.log2(syn.scale / lsb)).astype(np.int64)
    if shift is not None and np.all(syn.scale / lsb == 2.0 ** shift):
        weight, bits = syn.q, syn.bits
    else:  # the weight step is not a power-of-two multiple of the grid: store weights in LSB units
        weight = on_grid(syn.weight, lsb, f"synapse '{syn.name}'", "weight")
        shift, bits = np.zeros(len(syn.scale), np.int64), fit_bits(weight)
        notes.append(_error_note(syn.name, f"weight scale is not a power-of-two multiple of the state grid "
                                 f"{lsb:g}: weights rounded to {bits}-bit integers on the grid",
                                 syn.weight, weight * lsb))
    bias = on_grid(syn.bias, lsb, f"synapse '{syn.name}'", "bias")
    if np.any(bias * lsb != syn.bias):
        notes.append(_error_note(syn.name, f"bias rounded to the grid {lsb:g}", syn.bias, bias * lsb))
    if syn.kind == "dense":
        return ir.Dense(syn.name, weight, bias, shift, bits, recurrent=syn.recurrent)
    return ir.Conv2d(syn.name, weight, bias, shift, bits, tuple(syn.in_shape), syn.stride, syn.padding)


def _integer_lif(n: Neuron, lsb: float, floor_bits: int, opts: Options, notes: list[str]) -> ir.LIF:
    where = f"LIF '{n.name}'"
    theta = int(on_grid(n.threshold, lsb, where, "threshold"))
    if n.strict_threshold:  # v > threshold on the grid is v >= the next grid point above it
        theta = math.floor(n.threshold / lsb) + 1
    elif theta < 1:
        raise SnncError(f"{where}: threshold {n.threshold:g} is below half a step of the state grid {lsb:g}")
    elif theta * lsb != n.threshold:
        notes.append(f"{n.name}: threshold {n.threshold:g} rounded to {theta} x {lsb:g} = {theta * lsb:g}")
    alpha_b = None
    if n.alpha is not None:  # the synaptic current's leak shares F with the membrane's
        both, leak_f, exact = _leak(np.append(np.atleast_1d(n.beta), n.alpha))
        leak_b, alpha_b = (both[:-1] if np.ndim(n.beta) else int(both[0])), int(both[-1])
        if not exact:
            notes.append(f"{n.name}: alpha {n.alpha:g} and beta rounded to B/2**{leak_f}: alpha "
                         f"{alpha_b / (1 << leak_f):.6g}")
    else:
        leak_b, leak_f, exact = _leak(n.beta)
    if not exact:
        notes.append(f"{n.name}: beta {n.beta:g} rounded to {leak_b}/2**{leak_f} = {leak_b / (1 << leak_f):.6g}"
                     if np.ndim(n.beta) == 0 else
                     _error_note(n.name, f"betas rounded to B/2**{leak_f}", n.beta, leak_b / (1 << leak_f)))
    if n.levels is not None:
        on_grid(n.levels, lsb, where, "state level")
        lv = levels.integerize_levels(n.levels, lsb)
        if np.any(lv * lsb != n.levels):
            notes.append(_error_note(n.name, f"state levels rounded to the grid {lsb:g}", n.levels, lv * lsb))
        v_min, v_max = int(lv[0]), int(lv[-1])
    elif n.state_min is not None and n.state_max is not None:
        on_grid([n.state_min, n.state_max], lsb, where, "state_min/state_max")
        lv, v_min, v_max = None, math.ceil(n.state_min / lsb), math.floor(n.state_max / lsb)
    else:
        lv, (v_min, v_max) = None, register_range(opts.state_bits or DEFAULT_REGISTER_BITS)
    return ir.LIF(n.name, tuple(n.shape), theta, leak_b, leak_f, n.reset, n.state_quant if lv is not None else "none",
                  v_min, v_max, lv, float(lsb), floor_bits, order=n.order, output=n.output, alpha_b=alpha_b)


def pipeline(opts: Options) -> tuple:
    """The passes after import, in order, each IR in, IR out (those that take options bound to them)."""
    return (refuse_oversized, partial(quantize_weights, opts=opts), fold_average_pools, partial(quantize_states, opts=opts),
            partial(lower_to_integers, opts=opts), size_registers)


def compile_model(path: str | Path, opts: Options = Options()) -> ir.Network:
    """ONNX or NIR file (by its .nir suffix) -> sized fixed-point IR, through the passes listed above."""
    if opts.bits is not None and not 1 <= opts.bits <= MAX_WEIGHT_BITS:
        raise SnncError(f"--bits must be between 1 and {MAX_WEIGHT_BITS}, got {opts.bits}")
    if opts.state_bits is not None and not 1 <= opts.state_bits <= 16:
        raise SnncError(f"--state-bits must be between 1 and 16, got {opts.state_bits}")
    if Path(path).suffix.lower() == ".nir":
        rep = _named_notes(import_nir, import_nir(path, opts.dt), 0)
    elif opts.dt is not None:
        raise SnncError("--dt is the time step of a NIR graph; an ONNX model's steps are its own")
    else:
        rep = _named_notes(import_onnx, import_onnx(path), 0)
    for compiler_pass in pipeline(opts):
        before = len(rep.notes)
        rep = _named_notes(compiler_pass, compiler_pass(rep), before)
    return rep


def _named_notes(compiler_pass, rep, before: int):
    """`rep` with the notes the pass added after the first `before` prefixed with the pass's name."""
    name = getattr(compiler_pass, "func", compiler_pass).__name__
    return replace(rep, notes=rep.notes[:before] + tuple(f"{name}: {note}" for note in rep.notes[before:]))
