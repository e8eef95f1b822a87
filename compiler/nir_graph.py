"""A NIR file's structure and fields: reading it (`nir.read`), nested graphs inlined into their
parent (node names may hold dots), the one chain of nodes from the Input to the Output that the
importer (nir_import) turns into layers (anything else is refused with one line naming the node),
and a node's numeric fields, checked."""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

from .errors import SnncError
from .files import regular_file

NEURONS = ("LIF", "IF", "CubaLIF")
READOUTS = ("LI", "I", "CubaLI")  # non-spiking: only as the last node before the Output, a membrane readout
SUPPORTED = ("Input", "Output", "Affine", "Linear", "Conv2d", "Flatten", "SumPool2d", "AvgPool2d") + NEURONS + READOUTS


def read(path: Path):
    import nir

    regular_file(path)  # a FIFO would block the reader, a folder or device is no model
    try:
        with warnings.catch_warnings():  # nir warns of what it reads; the importer's one line says what matters
            warnings.simplefilter("ignore")
            return nir.read(str(path), type_check=False)
    except Exception as e:  # h5py and nir raise many types for a file that is not a NIR graph
        why = str(e).splitlines()[0] if str(e) else ""
        raise SnncError(f"{path}: not a readable NIR graph ({type(e).__name__}: {why})") from None


def _inline_graphs(graph, path: Path, prefix: str = "") -> tuple[dict[str, object], list[tuple[str, str]]]:
    """The graph's nodes by full name (a nested graph's as "outer.inner") and its edges between them.
    An edge end names a node (names may hold dots, the longest one that fits wins) and perhaps a
    port after it; an end at a nested graph goes to its Input (or from its Output) of that port
    name, or to its only one.  A nested graph's Input and Output nodes stay, to be spliced out."""
    nodes, edges, names = {}, [], sorted(graph.nodes, key=len, reverse=True)

    def node_of(end) -> tuple[str, str | None]:
        end = str(end)
        for name in names:
            if end == name or end.startswith(name + "."):
                return name, end[len(name) + 1:] or None
        raise SnncError(f"{path}: edge end '{prefix}{end}' names no node")

    def endpoint(end, kind: str) -> str:
        name, port = node_of(end)
        inner = graph.nodes[name]
        if type(inner).__name__ != "NIRGraph":
            return prefix + name
        ends = [n for n, v in inner.nodes.items() if type(v).__name__ == kind]
        pick = port if port in ends else ends[0] if port is None and len(ends) == 1 else None
        if pick is None:
            raise SnncError(f"{path}: edge end '{prefix}{end}' names no {kind} of the nested graph '{prefix}{name}'")
        return f"{prefix}{name}.{pick}"

    for name, node in graph.nodes.items():
        if type(node).__name__ == "NIRGraph":
            inner_nodes, inner_edges = _inline_graphs(node, path, f"{prefix}{name}.")
            nodes.update(inner_nodes)
            edges += inner_edges
        else:
            nodes[prefix + name] = node
    edges += [(endpoint(src, "Output"), endpoint(dst, "Input")) for src, dst in graph.edges]
    return nodes, edges


def chain(graph, path: Path) -> tuple[list[tuple[str, object]], dict[str, tuple[str, object]]]:
    """The nodes from the Input to the Output, which must form one chain (nested graphs flattened),
    and the recurrent connections taken out of it: {neuron: (name, node)} of the Affine or Linear
    through which a neuron's spikes come back to its own input."""
    nodes, edges = _inline_graphs(graph, path)
    for inner in [n for n, v in nodes.items() if "." in n and n not in graph.nodes
                  and type(v).__name__ in ("Input", "Output")]:  # a nested graph's ends: spliced out
        into, out = [s for s, d in edges if d == inner], [d for s, d in edges if s == inner]
        edges = [e for e in edges if inner not in e] + [(s, d) for s in into for d in out]
        del nodes[inner]
    kinds = {name: type(node).__name__ for name, node in nodes.items()}
    for name, kind in kinds.items():
        if kind not in SUPPORTED:
            raise SnncError(f"node '{name}' ({kind}): not supported (snnc reads {', '.join(SUPPORTED)})")
    succ: dict[str, list[str]] = {}
    pred: dict[str, list[str]] = {}
    for src, dst in edges:
        succ.setdefault(src, []).append(dst)
        pred.setdefault(dst, []).append(src)
    recurrent = {}  # a layer that feeds itself (an RNN): the neuron, its recurrent weights, back
    for name in list(nodes):
        for via in succ.get(name, []):
            if via == name:
                raise SnncError(f"node '{name}' ({kinds[name]}) feeds itself directly: a recurrent connection "
                                "needs its weights (an Affine or Linear from the neuron back to it)")
            if name in succ.get(via, []):
                if kinds[name] in ("Affine", "Linear") and kinds[via] in NEURONS:
                    continue  # the same loop, seen from its weights: judged from the neuron's side
                if kinds[name] not in NEURONS or kinds[via] not in ("Affine", "Linear") or \
                        pred.get(via) != [name] or succ.get(via) != [name]:
                    raise SnncError(f"node '{name}' ({kinds[name]}) feeds itself through '{via}' ({kinds[via]}): "
                                    f"snnc's recurrent layer is a spiking neuron ({', '.join(NEURONS)}) whose spikes "
                                    "come back through one Affine or Linear of its own")
                recurrent[name] = (via, nodes[via])
    for name, (via, _) in recurrent.items():  # the loop leaves the chain: the importer puts it into the layer
        succ[name].remove(via)
        pred[name].remove(via)
        del succ[via], pred[via], nodes[via], kinds[via]
    for name in nodes:
        for links, what in ((succ, "outputs"), (pred, "inputs")):
            if len(links.get(name, [])) > 1:
                raise SnncError(f"node '{name}' ({kinds[name]}) has {len(links[name])} {what} "
                                f"({', '.join(links[name])}): snnc needs one chain, without branches or recurrence")
    inputs = [n for n, k in kinds.items() if k == "Input"]
    outputs = [n for n, k in kinds.items() if k == "Output"]
    if len(inputs) != 1 or len(outputs) != 1:
        raise SnncError(f"{path}: the graph must have one Input and one Output node, has {len(inputs)} and "
                        f"{len(outputs)}")
    chain, name = [], inputs[0]
    while name != outputs[0]:
        nxt = succ.get(name)
        if not nxt:
            raise SnncError(f"node '{name}' ({kinds[name]}) ends the chain but is not the Output")
        name = nxt[0]
        if name == inputs[0] or any(name == n for n, _ in chain):
            raise SnncError(f"node '{name}' ({kinds[name]}) closes a loop: recurrent graphs are not supported")
        chain.append((name, nodes[name]))
    chain.pop()  # the Output
    off = sorted(set(nodes) - {n for n, _ in chain} - {inputs[0], outputs[0]})
    if off:
        raise SnncError(f"node '{off[0]}' ({kinds[off[0]]}) is not on the chain from the Input to the Output")
    return [(inputs[0], nodes[inputs[0]])] + chain, recurrent


def where(name: str, node) -> str:
    return f"node '{name}' ({type(node).__name__})"


def real(value, what: str) -> np.ndarray | None:
    """`value` as a float64 array, None if it is not numeric; complex values are refused (numpy would
    drop their imaginary parts with a warning)."""
    try:
        raw = np.asarray(value)
        if np.iscomplexobj(raw):
            raise SnncError(f"{what} holds complex values")
        return raw.astype(np.float64)
    except (TypeError, ValueError):
        return None


def array(node, field: str, where: str) -> np.ndarray:
    """A node's numeric field as float64, checked finite."""
    a = real(getattr(node, field), f"{where}: {field}")
    if a is None:
        raise SnncError(f"{where}: {field} is not numeric")
    if not np.all(np.isfinite(a)):
        raise SnncError(f"{where}: {field} holds NaN or infinite values")
    return a


def per_neuron(node, field: str, shape: tuple[int, ...], where: str) -> np.ndarray:
    """A neuron parameter broadcast to the layer's shape (a scalar or one value per neuron)."""
    a = array(node, field, where)
    if a.size == 1:
        return np.full(shape, float(a.reshape(-1)[0]))
    if a.size != math.prod(shape):
        raise SnncError(f"{where}: {field} has {a.size} values, the layer has {math.prod(shape)} neurons")
    return a.reshape(shape)
