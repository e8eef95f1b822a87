"""The IR's file: `save(net, stem)` writes `stem.json` (structure, scalars) and `stem.npz` (integer
arrays); `load(stem)` reads them back, exactly, every field checked; `fingerprint` hashes what a
network computes.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from pathlib import Path

import numpy as np

from .errors import SnncError
from .files import read_json, regular_file
from .ir import KINDS, Network, validate

FORMAT_VERSION = 8  # 2: synapses carry current_bits and accumulator_bits; 3: pools, crops, LIF floor_bits;
#                    4: Dense weight_format, LIF order; 5: Conv2d weight_format; 6: no weight_format
#                    (a build's choice: layer_impl.LayerImpl.weights); LIF leak_b per channel;
#                    7: LIF output (spikes, or a membrane readout), reset "none", alpha_b (a synaptic current);
#                    8: Dense recurrent


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
    np.savez_compressed(Path(stem).with_suffix(".npz"), **arrays)  # small weights held in int64 shrink ~10x


def _field_value(name: str, kind: str, value, arrays: dict, where: str):
    """A layer field from its JSON value, checked against the dataclass field's type."""
    bad = lambda what: SnncError(f"{where}: field '{name}' must be {what}, got {value!r}"[:300])
    if kind == "int | np.ndarray":  # an integer, or one per channel
        if isinstance(value, dict):
            return _field_value(name, "np.ndarray", value, arrays, where)
        return _field_value(name, "int", value, arrays, where)
    if kind == "int | None":
        return None if value is None else _field_value(name, "int", value, arrays, where)
    if kind in ("np.ndarray", "np.ndarray | None"):
        if value is None and kind.endswith("None"):
            return None
        key = value.get("npz") if isinstance(value, dict) else None
        if not isinstance(key, str) or key not in arrays:
            raise bad("a reference to an array of the .npz")
        if arrays[key].dtype != np.int64:
            raise SnncError(f"{where}: array '{key}' must be int64, is {arrays[key].dtype}")
        return arrays[key]
    if kind == "str":
        if not isinstance(value, str):
            raise bad("text")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if kind == "int":
        if not isinstance(value, int) or isinstance(value, bool) or abs(value) > 1 << 62:
            raise bad("an integer")
        return value
    if kind == "float":
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value <= 0:
            raise bad("a positive number")
        return float(value)
    if kind.startswith("tuple[int"):
        if not isinstance(value, list) or not value or not all(isinstance(v, int) and not isinstance(v, bool)
                                                               and 0 < v <= 1 << 31 for v in value):
            raise bad("a list of positive integers")
        return tuple(value)
    raise AssertionError(f"no loader for field type {kind}")


def load(stem: Path) -> Network:
    """Read a network written by `save`, every field checked for its type and range; SnncError naming
    the file and the field if the files are missing, damaged or hold impossible values."""
    jpath, npath = Path(stem).with_suffix(".json"), Path(stem).with_suffix(".npz")
    doc = read_json(jpath)
    regular_file(npath)  # np.load of a FIFO would wait forever
    try:
        with np.load(npath, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception as e:  # numpy and zipfile raise many types for a damaged archive
        raise SnncError(f"{npath}: not a readable .npz archive ({type(e).__name__})") from None
    where = str(jpath)
    if not isinstance(doc, dict) or doc.get("format") != "snnc-ir" or doc.get("version") != FORMAT_VERSION:
        raise SnncError(f"{where}: not an snnc IR of format version {FORMAT_VERSION}")
    if not isinstance(doc.get("layers"), list) or not doc["layers"]:
        raise SnncError(f"{where}: field 'layers' must be a non-empty list")
    name = _field_value("name", "str", doc.get("name"), arrays, where)
    input_shape = _field_value("input_shape", "tuple[int, ...]", doc.get("input_shape"), arrays, where)
    notes = doc.get("notes")
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise SnncError(f"{where}: field 'notes' must be a list of text")
    layers = []
    for i, entry in enumerate(doc["layers"]):
        at = f"{where}: layer {i}"
        if not isinstance(entry, dict) or entry.get("kind") not in KINDS:
            raise SnncError(f"{at}: 'kind' must be one of {', '.join(KINDS)}")
        cls = KINDS[entry["kind"]]
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(entry) - set(fields) - {"kind"})
        missing = sorted(n for n, f in fields.items() if n not in entry and f.default is dataclasses.MISSING)
        if unknown or missing:
            raise SnncError(f"{at}: {'unknown' if unknown else 'missing'} field '{(unknown or missing)[0]}'")
        layers.append(cls(**{n: _field_value(n, fields[n].type, v, arrays, f"{at} ({entry['kind']})")
                             for n, v in entry.items() if n != "kind"}))
    try:
        return validate(Network(name, input_shape, tuple(layers), tuple(notes)))
    except SnncError as e:
        raise SnncError(f"{where}: {e}") from None
