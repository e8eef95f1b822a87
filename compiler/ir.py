"""The fixed-point IR: a network as a sequence of integer layers (frozen dataclasses).

All values are integers in units of the LSB of the LIF population that the layer feeds.  Layers
run in order inside one timestep.  A synapse (Dense, Conv2d) turns 0/1 spikes into currents
I = (W s) << shift + b, the LIF that follows turns currents into spikes (docs/spec.md section 2).
Flatten reshapes spikes [C, H, W] -> [C*H*W] (C-order).  Register widths are zero until the
`size_registers` pass has proven them from bounds.

Serialization: `save(net, stem)` writes `stem.json` (structure, scalars) and `stem.npz` (integer
arrays); `load(stem)` reads them back, exactly.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .contracts import RESET_MODES, STATE_QUANT_MODES, weight_range
from .errors import SnncError
from .geometry import conv_out_shape

FORMAT_VERSION = 2  # 2: synapses carry current_bits and accumulator_bits (was one acc_bits)


@dataclass(frozen=True, eq=False)
class Dense:
    """I[i] = (sum_j weight[i, j] * s[j]) << shift[i] + bias[i].

    weight: int64 [n_out, n_in], each value fits `weight_bits` (1 bit means {-1, +1}).
    shift: int64 [n_out], >= 0 (a power-of-two factor between weight scale and LSB, per output).
    bias: int64 [n_out] in LSB units.  Proven by size_registers: accumulator_bits, the signed width
    of the raw sum of weights over any set of input spikes (what the engine's accumulator RAM
    holds); current_bits, the signed width of I (shifted, biased) and of every raw sum.
    """

    name: str
    weight: np.ndarray
    bias: np.ndarray
    shift: np.ndarray
    weight_bits: int
    current_bits: int = 0
    accumulator_bits: int = 0

    @property
    def in_shape(self) -> tuple[int, ...]:
        return (self.weight.shape[1],)

    @property
    def out_shape(self) -> tuple[int, ...]:
        return (self.weight.shape[0],)


@dataclass(frozen=True, eq=False)
class Conv2d:
    """2-D convolution of spikes [C_in, H, W] -> currents [C_out, H_out, W_out] (cross-correlation,
    zero padding), same integer conventions as Dense; weight int64 [C_out, C_in, kH, kW]."""

    name: str
    weight: np.ndarray
    bias: np.ndarray
    shift: np.ndarray
    weight_bits: int
    in_shape: tuple[int, int, int]
    stride: int = 1
    padding: int = 0
    current_bits: int = 0
    accumulator_bits: int = 0

    @property
    def out_shape(self) -> tuple[int, int, int]:
        return conv_out_shape(self.weight.shape[0], self.in_shape, self.weight.shape[2:], self.stride, self.padding)


@dataclass(frozen=True, eq=False)
class Flatten:
    """Spikes [C, H, W] -> [C*H*W], C-order."""

    name: str
    in_shape: tuple[int, ...]

    @property
    def out_shape(self) -> tuple[int, ...]:
        return (int(np.prod(self.in_shape)),)


@dataclass(frozen=True, eq=False)
class LIF:
    """A population of integer LIF neurons (docs/spec.md section 2), all values in LSB units.

    theta: firing threshold (> 0).  Leak beta = leak_b / 2**leak_f, 0 <= leak_b <= 2**leak_f.
    reset: "subtract" or "zero".  state_quant: "none" (clamp to [v_min, v_max]) or a level set
    ("uniform", "threshold_centered"): `levels` int64 [2**k], strictly ascending, and then
    v_min = levels[0], v_max = levels[-1].  lsb: the grid step in real units (for reports).
    Widths from `size_registers`: membrane_bits holds leak, u and r; state_bits is the stored
    state (the code width with levels, the clamped register width without).
    """

    name: str
    shape: tuple[int, ...]
    theta: int
    leak_b: int
    leak_f: int
    reset: str
    state_quant: str
    v_min: int
    v_max: int
    levels: np.ndarray | None = None
    lsb: float = 1.0
    membrane_bits: int = 0
    state_bits: int = 0

    @property
    def in_shape(self) -> tuple[int, ...]:
        return self.shape

    @property
    def out_shape(self) -> tuple[int, ...]:
        return self.shape

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))


Layer = Dense | Conv2d | Flatten | LIF
KINDS = {cls.__name__: cls for cls in (Dense, Conv2d, Flatten, LIF)}


@dataclass(frozen=True, eq=False)
class Network:
    """input_shape: per-sample spike shape (T and batch are not part of the IR)."""

    name: str
    input_shape: tuple[int, ...]
    layers: tuple[Layer, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.layers[-1].out_shape

    @property
    def lifs(self) -> list[LIF]:
        return [layer for layer in self.layers if isinstance(layer, LIF)]

    def synapse_of(self, lif: LIF) -> Dense | Conv2d:
        """The synapse whose currents feed `lif`."""
        i = self.layers.index(lif)
        return self.layers[i - 1]


def validate(net: Network) -> Network:
    """Check shapes, value ranges and the layer pattern; raise SnncError naming the layer."""
    if not net.layers:
        raise SnncError(f"network '{net.name}' has no layers")
    shape, is_current = tuple(net.input_shape), False
    names = set()
    for layer in net.layers:
        where = f"layer '{layer.name}' ({type(layer).__name__})"
        if layer.name in names:
            raise SnncError(f"{where}: duplicate layer name")
        names.add(layer.name)
        if tuple(layer.in_shape) != shape:
            raise SnncError(f"{where}: expects input shape {tuple(layer.in_shape)}, gets {shape}")
        if isinstance(layer, (Dense, Conv2d)):
            if is_current:
                raise SnncError(f"{where}: a synapse must take spikes, but follows another synapse")
            _check_synapse(layer, where)
            is_current = True
        elif isinstance(layer, Flatten):
            if is_current:
                raise SnncError(f"{where}: flatten between a synapse and its LIF")
        elif isinstance(layer, LIF):
            if not is_current:
                raise SnncError(f"{where}: a LIF must follow a synapse")
            _check_lif(layer, where)
            is_current = False
        shape = tuple(layer.out_shape)
    if not isinstance(net.layers[-1], LIF):
        raise SnncError(f"network '{net.name}': the last layer must be a LIF, not '{net.layers[-1].name}'")
    return net


def _check_synapse(layer: Dense | Conv2d, where: str) -> None:
    lo, hi = weight_range(layer.weight_bits)
    w = layer.weight
    if w.dtype != np.int64 or layer.bias.dtype != np.int64 or layer.shift.dtype != np.int64:
        raise SnncError(f"{where}: weight, bias and shift must be int64")
    if w.size and (w.min() < lo or w.max() > hi or (layer.weight_bits == 1 and np.any(w == 0))):
        raise SnncError(f"{where}: weights outside the {layer.weight_bits}-bit range [{lo}, {hi}]")
    n_out = layer.weight.shape[0]
    if layer.bias.shape != (n_out,) or layer.shift.shape != (n_out,):
        raise SnncError(f"{where}: bias and shift must have shape ({n_out},)")
    if np.any(layer.shift < 0):
        raise SnncError(f"{where}: negative weight shift")
    if isinstance(layer, Conv2d):
        if w.ndim != 4 or w.shape[1] != layer.in_shape[0] or layer.stride < 1 or layer.padding < 0:
            raise SnncError(f"{where}: weight shape {w.shape} does not fit input {layer.in_shape}")
        if min(layer.out_shape[1:]) < 1:
            raise SnncError(f"{where}: kernel larger than the padded input {layer.in_shape}")


def _check_lif(layer: LIF, where: str) -> None:
    if layer.theta <= 0:
        raise SnncError(f"{where}: threshold must be > 0 LSB, got {layer.theta}")
    if layer.leak_f < 0 or not 0 <= layer.leak_b <= (1 << layer.leak_f):
        raise SnncError(f"{where}: leak {layer.leak_b}/2**{layer.leak_f} is not in [0, 1]")
    if layer.reset not in RESET_MODES:
        raise SnncError(f"{where}: reset must be one of {', '.join(RESET_MODES)}, got '{layer.reset}'")
    if layer.state_quant == "none":
        if layer.levels is not None or not layer.v_min <= 0 <= layer.v_max:
            raise SnncError(f"{where}: unquantized state needs v_min <= 0 <= v_max and no levels")
    elif layer.state_quant in STATE_QUANT_MODES:
        lv = layer.levels
        k = 0 if lv is None else len(lv)
        if k < 2 or k & (k - 1) or np.any(np.diff(lv) <= 0):
            raise SnncError(f"{where}: levels must be 2**bits strictly ascending integers")
        if (layer.v_min, layer.v_max) != (int(lv[0]), int(lv[-1])):
            raise SnncError(f"{where}: v_min/v_max must equal the first and last level")
    else:
        raise SnncError(f"{where}: unknown state_quant '{layer.state_quant}'")


def _entries(net: Network) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Each layer's fields as JSON values, its arrays by .npz key."""
    arrays, layers = {}, []
    for i, layer in enumerate(net.layers):
        entry = {"kind": type(layer).__name__}
        for f in dataclasses.fields(layer):
            value = getattr(layer, f.name)
            if isinstance(value, np.ndarray):
                arrays[f"{i}.{f.name}"] = value
                entry[f.name] = {"npz": f"{i}.{f.name}"}
            else:
                entry[f.name] = list(value) if isinstance(value, tuple) else value
        layers.append(entry)
    return layers, arrays


def fingerprint(net: Network) -> str:
    """sha256 (hex) of what the network computes: its input shape, layers and integer arrays
    (not its name or notes).  Builds put it in the board's identity word."""
    layers, arrays = _entries(net)
    h = hashlib.sha256(json.dumps({"input_shape": list(net.input_shape), "layers": layers}, sort_keys=True).encode())
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(f"{key}:{a.dtype.str}:{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save(net: Network, stem: Path) -> None:
    """Write stem.json and stem.npz."""
    layers, arrays = _entries(net)
    doc = {"format": "snnc-ir", "version": FORMAT_VERSION, "name": net.name,
           "input_shape": list(net.input_shape), "notes": list(net.notes), "layers": layers}
    Path(stem).with_suffix(".json").write_text(json.dumps(doc, indent=1) + "\n")
    np.savez(Path(stem).with_suffix(".npz"), **arrays)


def load(stem: Path) -> Network:
    """Read a network written by `save`; raise SnncError if the files are missing or malformed."""
    jpath, npath = Path(stem).with_suffix(".json"), Path(stem).with_suffix(".npz")
    try:
        doc = json.loads(jpath.read_text())
        arrays = dict(np.load(npath))
        if doc.get("format") != "snnc-ir" or doc.get("version") != FORMAT_VERSION:
            raise ValueError(f"not an snnc IR v{FORMAT_VERSION}")
        layers = []
        for entry in doc["layers"]:
            entry = dict(entry)
            cls = KINDS[entry.pop("kind")]
            kw = {}
            for k, v in entry.items():
                if isinstance(v, dict) and "npz" in v:
                    v = arrays[v["npz"]]
                elif isinstance(v, list):
                    v = tuple(v)
                kw[k] = v
            layers.append(cls(**kw))
        net = Network(doc["name"], tuple(doc["input_shape"]), tuple(layers), tuple(doc["notes"]))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SnncError(f"cannot read the IR at {jpath}: {e}") from None
    return validate(net)
