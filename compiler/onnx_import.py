"""ONNX import: read a dialect model (docs/spec.md section 3) into a real-valued `Graph`.

The graph must be one chain from the spike input to the last LIF.  Time and batch may be folded
into one axis by `Reshape` (for `Conv` and `Gemm`, which want [N, ...]) and unfolded again; the
nodes that compute such Reshape targets (Shape, Slice, Concat, ...) are plumbing and are skipped.
Anything else is reported by node name and op type.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from .errors import SnncError
from .files import regular_file
from .dialect import DOMAIN, is_snnc_lif_function
from .graph import Flatten, Graph, Neuron, Pool, Synapse
from .onnx_lif import neuron, node_where

# Nodes that only compute Reshape targets from shapes; they never touch spike or current data.
SHAPE_PLUMBING = {"Shape", "Slice", "Concat", "Gather", "Unsqueeze", "Squeeze", "Cast", "Constant", "Identity"}
QUANT_DTYPE_BITS = {"int4": 4, "int8": 8}


def load_model(path: str | Path) -> onnx.ModelProto:
    """Read and check an ONNX file; SnncError for a missing, unreadable or invalid file."""
    path = Path(path)
    regular_file(path)  # a FIFO would block the reader, a folder or device is no model
    try:
        model = onnx.load(str(path))
    except Exception as e:  # protobuf raises several types for a corrupt file
        raise SnncError(f"{path}: not a readable ONNX model ({type(e).__name__})") from None
    if not model.graph.node:
        raise SnncError(f"{path}: not an ONNX model (no graph nodes)")
    g = model.graph
    names = [("graph name", g.name)] + [(f"node {i} name", n.name) for i, n in enumerate(g.node)] + \
        [(f"op type of node {i}", n.op_type) for i, n in enumerate(g.node)] + \
        [(f"domain of node {i}", n.domain) for i, n in enumerate(g.node)] + \
        [(f"tensor name of node {i}", t) for i, n in enumerate(g.node) for t in (*n.input, *n.output)] + \
        [("initializer name", t.name) for t in g.initializer] + [("graph input or output name", v.name)
                                                                  for v in (*g.input, *g.output)]
    bad = next((what for what, name in names if not isinstance(name, str)), None)
    if bad:  # protobuf hands out bytes where a string field is not valid UTF-8
        raise SnncError(f"{path}: the {bad} is not valid UTF-8 text")
    _check(model, path, full_check=False)
    for function in model.functions:
        if function.domain == DOMAIN and function.name in ("LIF", "RLIF") and not is_snnc_lif_function(function):
            raise SnncError(f"{path}: its snnc.{function.name} function is not one snnc wrote (the file was altered, or written "
                            "by another tool): onnxruntime would run it differently; export it again")
    return model


def _check(model: onnx.ModelProto, path: Path, full_check: bool) -> None:
    """onnx.checker.check_model; its errors, and the UnicodeDecodeError it raises for a text field
    that is not UTF-8 (a function's node, an attribute's name ...), as one line naming the file."""
    try:
        onnx.checker.check_model(model, full_check=full_check)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as e:
        raise SnncError(f"{path}: invalid ONNX model: {str(e).strip().splitlines()[0]}") from None
    except UnicodeDecodeError:
        raise SnncError(f"{path}: invalid ONNX model: a text field (a name, an op type, a domain) is not valid "
                        f"UTF-8") from None


class _Reader:
    """Walks the chain of one model, tracking the per-sample shape and whether T and B are folded."""

    def __init__(self, model: onnx.ModelProto, path: str):
        g = model.graph
        self.path = path
        self.consts = {t.name: t for t in g.initializer}
        self.producer = {o: n for n in g.node for o in n.output}
        self.consumers: dict[str, list[onnx.NodeProto]] = {}
        for n in g.node:
            for i in n.input:
                self.consumers.setdefault(i, []).append(n)
        inputs = [i for i in g.input if i.name not in self.consts]
        if len(inputs) != 1 or len(g.output) != 1:
            raise SnncError(f"{path}: the graph must have one spike input and one output, "
                            f"has {len(inputs)} inputs and {len(g.output)} outputs")
        self.input, self.output = inputs[0], g.output[0].name
        dims = self.input.type.tensor_type.shape.dim
        feats = [d.dim_value if d.HasField("dim_value") else None for d in dims[2:]]
        if len(dims) < 3 or any(f is None or f <= 0 for f in feats):
            raise SnncError(f"{path}: input '{self.input.name}' must be [T, B, features...] with fixed features")
        self.input_shape = tuple(feats)

    def value(self, name: str, node: onnx.NodeProto) -> np.ndarray:
        """A constant tensor (initializer or Constant node, any of its value_* forms) as numpy,
        checked finite."""
        src = self.producer.get(name)
        try:
            if name in self.consts:
                array = numpy_helper.to_array(self.consts[name])
            elif src is not None and src.op_type == "Constant" and len(src.attribute) == 1:
                value = onnx.helper.get_attribute_value(src.attribute[0])
                array = numpy_helper.to_array(value) if isinstance(value, onnx.TensorProto) else np.asarray(value)
            else:
                raise SnncError(f"{node_where(node)}: input '{name}' must be a constant")
        except (ValueError, TypeError) as e:  # a tensor whose data does not match its type or shape
            raise SnncError(f"{node_where(node)}: constant '{name}' is malformed ({e})") from None
        if array.dtype.kind not in "biuf" and str(array.dtype) not in QUANT_DTYPE_BITS:  # int4 is ml_dtypes
            raise SnncError(f"{node_where(node)}: constant '{name}' must be numeric, not {array.dtype}")
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            raise SnncError(f"{node_where(node)}: constant '{name}' holds NaN or infinite values")
        return array

    def weight(self, name: str, node: onnx.NodeProto, out_axis: int):
        """(real weight, q or None, per-output scale or None, bits or None) of a weight input."""
        src = self.producer.get(name)
        if src is None or src.op_type != "DequantizeLinear":
            w = self.value(name, node)
            if not np.issubdtype(w.dtype, np.floating):
                raise SnncError(f"{node_where(node)}: integer weight '{name}' needs a DequantizeLinear")
            return w.astype(np.float64), None, None, None
        q_raw = self.value(src.input[0], src)
        bits = QUANT_DTYPE_BITS.get(str(q_raw.dtype))
        if bits is None:
            raise SnncError(f"{node_where(src)}: weights must be INT8 or INT4, not {q_raw.dtype}")
        q = q_raw.astype(np.int64)
        scale = self.value(src.input[1], src).astype(np.float64)
        if len(src.input) > 2 and src.input[2] and np.any(self.value(src.input[2], src).astype(np.int64) != 0):
            raise SnncError(f"{node_where(src)}: zero point must be 0 (symmetric quantization)")
        attrs = _attrs(src)
        if attrs.get("block_size", 0):
            raise SnncError(f"{node_where(src)}: blocked quantization is not supported")
        n_out = q.shape[out_axis]
        if scale.size == 1:
            scale = np.full(n_out, float(scale.reshape(())))
        elif attrs.get("axis", 1) % q.ndim != out_axis or scale.shape != (n_out,):
            raise SnncError(f"{node_where(src)}: per-axis scales must run along the output channels")
        if np.any(scale <= 0):
            raise SnncError(f"{node_where(src)}: scales must be > 0")
        bshape = [1] * q.ndim
        bshape[out_axis] = n_out
        return q * scale.reshape(bshape), q, scale, bits

    def synapse_weight(self, node: onnx.NodeProto, ndim: int, out_axis: int):
        """weight() of a synapse's weight input, checked for its rank and for neurons."""
        w, q, scale, bits = self.weight(node.input[1], node, out_axis)
        if w.ndim != ndim:
            raise SnncError(f"{node_where(node)}: weight must have {ndim} dimensions, has shape {list(w.shape)}")
        if 0 in w.shape:
            raise SnncError(f"{node_where(node)}: weight shape {list(w.shape)} has a zero-sized dimension (a layer "
                            "without neurons or inputs)")
        return w, q, scale, bits

    def data_consumer(self, name: str) -> onnx.NodeProto | None:
        """The one node that reads `name`'s values (Shape nodes read only its shape)."""
        users = [n for n in self.consumers.get(name, []) if n.op_type != "Shape"]
        if len(users) > 1:
            raise SnncError(f"tensor '{name}' feeds {len(users)} nodes ({', '.join(node_where(n) for n in users)}); "
                            "snnc needs a single chain of layers")
        return users[0] if users else None


def _attrs(node: onnx.NodeProto) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def import_onnx(path: str | Path) -> Graph:
    """Read the dialect model at `path` into a Graph (pass 1 of the pipeline)."""
    model = load_model(path)
    r = _Reader(model, str(path))
    unknown = [n for n in model.graph.node if n.domain not in ("", "ai.onnx", DOMAIN)]
    if unknown:
        raise SnncError(f"{node_where(unknown[0])}: domain '{unknown[0].domain}' is not supported")
    layers: list = []
    shape, folded = r.input_shape, False
    pending_synapse: Synapse | None = None  # a synapse waiting for its bias and its LIF
    pending_pool: Pool | None = None  # a pool of that synapse's currents
    pending_flatten = False  # a flatten of currents, moved behind the LIF (which is elementwise)
    cur, visited = r.input.name, set()
    while cur != r.output:
        node = r.data_consumer(cur)
        if node is None:
            raise SnncError(f"tensor '{cur}' ends the chain but is not the graph output '{r.output}'")
        op, where = node.op_type, node_where(node)
        if node.domain == DOMAIN:
            if folded:
                raise SnncError(f"{where}: LIF input must be [T, B, ...]; time and batch are still folded")
            if pending_synapse is None:
                raise SnncError(f"{where}: a LIF must follow a synapse (MatMul, Gemm or Conv)")
            if op == "RLIF":
                if pending_pool is not None or pending_flatten:
                    raise SnncError(f"{where}: a recurrent LIF takes a MatMul's or Gemm's currents directly")
                pending_synapse = _with_recurrent(r, node, pending_synapse)
            current_shape = (pending_pool or pending_synapse).out_shape
            layers += [pending_synapse] + ([pending_pool] if pending_pool else []) + [neuron(node, current_shape)]
            if pending_flatten:
                layers.append(Flatten(node.name + "_flatten", current_shape))
            pending_synapse, pending_pool, pending_flatten = None, None, False
        elif op in ("MatMul", "Gemm", "Conv"):
            if pending_synapse is not None:
                raise SnncError(f"{where}: a synapse must take spikes, but follows '{pending_synapse.name}' without a LIF")
            pending_synapse = _synapse(r, node, shape, folded)
            shape = pending_synapse.out_shape
        elif op in ("MaxPool", "AveragePool"):
            pool = _pool(node, shape, folded)
            if pending_synapse is not None:
                if pending_pool is not None or pending_flatten:
                    raise SnncError(f"{where}: one pool of a synapse's currents, before any Flatten")
                pending_pool = pool
            elif not layers or not isinstance(layers[-1], Neuron):
                raise SnncError(f"{where}: a pool must take a synapse's currents or a LIF's spikes "
                                f"({'pool the network input before the model' if not layers else 'one pool per LIF'})")
            else:
                layers.append(pool)
            shape = pool.out_shape
        elif op == "Add":
            if pending_synapse is None:
                raise SnncError(f"{where}: Add is only supported as the bias of a synapse")
            other = node.input[1] if node.input[0] == cur else node.input[0]
            pending_synapse = _add_bias(pending_synapse, r.value(other, node), shape, where)
        elif op in ("Reshape", "Flatten"):
            shape, folded, flat = _reshape(r, node, shape, folded)
            if flat:
                if pending_synapse is not None:
                    pending_flatten = True
                else:
                    layers.append(Flatten(node.name or node.output[0], flat))
        elif op == "Identity":
            pass
        else:
            raise SnncError(f"{where}: op not supported by the snnc dialect")
        visited.add(id(node))
        cur = node.output[0]
    for node in model.graph.node:
        if id(node) not in visited and node.op_type not in SHAPE_PLUMBING | {"DequantizeLinear"}:
            raise SnncError(f"{node_where(node)}: op not supported by the snnc dialect (outside the layer chain)")
    if pending_synapse is not None or not layers:
        raise SnncError(f"{path}: the graph output must be the spikes of the last LIF")
    _check(model, path, full_check=True)  # the dialect holds; now ONNX's own type and shape inference, as onnxruntime will run it
    if isinstance(layers[-1], Flatten):
        layers.pop()  # a trailing flatten only reshapes the output; the IR reports it flat anyway
    if not isinstance(layers[-1], Neuron):
        raise SnncError(f"{path}: the graph output must be the spikes of the last LIF, not of '{layers[-1].name}'")
    return Graph(model.graph.name or Path(path).stem, r.input_shape, tuple(layers))


def _synapse(r: _Reader, node: onnx.NodeProto, shape: tuple[int, ...], folded: bool) -> Synapse:
    where, op, a = node_where(node), node.op_type, _attrs(node)
    name = node.name or node.output[0]
    if op == "MatMul":
        if len(shape) != 1:
            raise SnncError(f"{where}: MatMul needs flat features, gets shape {shape} (add a Flatten/Reshape)")
        w, q, scale, bits = r.synapse_weight(node, 2, out_axis=1)
        to_out = lambda x: None if x is None else x.T
        w, q = w.T, to_out(q)
        bias = np.zeros(w.shape[0])
    elif op == "Gemm":
        if not folded or len(shape) != 1:
            raise SnncError(f"{where}: Gemm needs input [T*B, features] (fold time and batch with a Reshape)")
        if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
            raise SnncError(f"{where}: only Gemm with transA=0, alpha=1, beta=1 is supported")
        trans_b = a.get("transB", 0)
        w, q, scale, bits = r.synapse_weight(node, 2, out_axis=0 if trans_b else 1)
        if not trans_b:
            w, q = w.T, None if q is None else q.T
        bias = r.value(node.input[2], node).astype(np.float64).reshape(-1) if len(node.input) > 2 and node.input[2] else np.zeros(w.shape[0])
    else:  # Conv
        if not folded or len(shape) != 3:
            raise SnncError(f"{where}: Conv needs input [T*B, C, H, W] (fold time and batch with a Reshape)")
        w, q, scale, bits = r.synapse_weight(node, 4, out_axis=0)
        strides, pads = list(a.get("strides", [1, 1])), list(a.get("pads", [0, 0, 0, 0]))
        if a.get("group", 1) != 1 or list(a.get("dilations", [1, 1])) != [1, 1] or len(strides) != 2 \
                or len(set(strides)) != 1 or len(pads) != 4 or len(set(pads)) != 1 \
                or a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise SnncError(f"{where}: only group=1, dilation 1, equal strides and equal explicit pads are supported")
        if not 1 <= strides[0] <= max(shape[1:]) or not 0 <= pads[0] <= max(shape[1:]):
            raise SnncError(f"{where}: strides must be 1 to the input's size {max(shape[1:])} and pads 0 to it, "
                            f"got {strides} and {pads}")
        if "kernel_shape" in a and list(a["kernel_shape"]) != list(w.shape[2:]):
            raise SnncError(f"{where}: kernel_shape {list(a['kernel_shape'])} differs from the weight's {list(w.shape[2:])}")
        bias = r.value(node.input[2], node).astype(np.float64).reshape(-1) if len(node.input) > 2 and node.input[2] else np.zeros(w.shape[0])
        if bias.shape != (w.shape[0],):
            raise SnncError(f"{where}: bias has shape {list(bias.shape)}, expected [{w.shape[0]}]")
        syn = Synapse(name, "conv2d", w, bias, shape, q, scale, bits, int(strides[0]), int(pads[0]))
        if w.shape[1] != shape[0]:
            raise SnncError(f"{where}: weight has {w.shape[1]} input channels, input has {shape[0]}")
        if min(syn.out_shape[1:]) < 1:
            raise SnncError(f"{where}: kernel {w.shape[2:]} does not fit input {shape}")
        return syn
    if w.shape[1] != shape[0]:
        raise SnncError(f"{where}: weight expects {w.shape[1]} inputs, input has {shape[0]} features")
    if bias.shape != (w.shape[0],):
        raise SnncError(f"{where}: bias has shape {bias.shape}, expected ({w.shape[0]},)")
    return Synapse(name, "dense", w, bias, shape, q, scale, bits)


def _with_recurrent(r: _Reader, node: onnx.NodeProto, syn: Synapse) -> Synapse:
    """The dense synapse before an RLIF node with the node's recurrent weight R [N, N] (MatMul
    layout) as its last N columns (graph.Synapse.recurrent): integer where both carry the same
    per-output scales, else real (quantize_weights then puts both on one scale)."""
    where = node_where(node)
    if syn.kind != "dense":
        raise SnncError(f"{where}: a recurrent LIF needs flat currents from a MatMul or Gemm, not a Conv")
    if len(node.input) != 2 or not node.input[1]:
        raise SnncError(f"{where}: RLIF takes the currents and the recurrent weight R")
    w, q, scale, bits = r.weight(node.input[1], node, out_axis=1)
    n = syn.weight.shape[0]
    if w.shape != (n, n):
        raise SnncError(f"{where}: recurrent weight R must be [{n}, {n}], has shape {list(w.shape)}")
    weight = np.hstack([syn.weight, w.T])
    if q is not None and syn.q is not None and np.array_equal(scale, syn.scale):
        return replace(syn, weight=weight, q=np.hstack([syn.q, q.T]), bits=max(bits, syn.bits), recurrent=True)
    return replace(syn, weight=weight, q=None, scale=None, bits=None, recurrent=True)


def _pool(node: onnx.NodeProto, shape: tuple[int, ...], folded: bool) -> Pool:
    """A MaxPool/AveragePool node as docs/spec.md section 3 allows it: 2-D, window = stride, no padding."""
    where, a = node_where(node), _attrs(node)
    if not folded or len(shape) != 3:
        raise SnncError(f"{where}: {node.op_type} needs input [T*B, C, H, W] (fold time and batch with a Reshape)")
    kernel, strides = list(a.get("kernel_shape", [])), list(a.get("strides", [1, 1]))
    if len(kernel) != 2 or kernel[0] != kernel[1] or strides != kernel or not 1 <= kernel[0] <= min(shape[1:]):
        raise SnncError(f"{where}: only square 2-D windows with strides equal to kernel_shape, at most the input's "
                        f"size {min(shape[1:])}, are supported (kernel_shape {kernel}, strides {strides})")
    auto_pad = a.get("auto_pad", b"NOTSET")
    if any(a.get("pads", [0])) or (auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad) not in ("NOTSET", "VALID") \
            or a.get("ceil_mode", 0) or any(d != 1 for d in a.get("dilations", [1])):
        raise SnncError(f"{where}: pooling takes no padding, ceil_mode or dilation")
    if len([o for o in node.output if o]) != 1:
        raise SnncError(f"{where}: the Indices output of MaxPool is not supported")
    return Pool(node.name or node.output[0], "max" if node.op_type == "MaxPool" else "avg", int(kernel[0]), tuple(shape))


def _add_bias(syn: Synapse, b: np.ndarray, shape: tuple[int, ...], where: str) -> Synapse:
    """Fold an Add of a per-output-channel constant into the synapse's bias."""
    n = syn.weight.shape[0]
    b = np.asarray(b, np.float64)
    per_channel = (n,) + (1,) * (len(shape) - 1)
    if b.shape[max(b.ndim - len(per_channel), 0):] != per_channel or b.size != n:
        raise SnncError(f"{where}: bias of shape {b.shape} is not one value per output channel ({n})")
    return replace(syn, bias=syn.bias + b.reshape(-1))


def _reshape(r: _Reader, node: onnx.NodeProto, shape: tuple[int, ...], folded: bool):
    """-> (new per-sample shape, folded, flattened-from shape or None)."""
    where, n = node_where(node), int(np.prod(shape))
    if node.op_type == "Flatten":
        if not folded or _attrs(node).get("axis", 1) != 1:
            raise SnncError(f"{where}: Flatten is supported on folded [T*B, ...] data with axis=1 only")
        return (n,), True, (shape if len(shape) > 1 else None)
    try:
        target = [int(x) for x in r.value(node.input[1], node)]
    except SnncError:
        target = None
    if target is None:  # a target computed from Shape(...): the unfold to [T, B, ...] after Conv/Gemm
        if not folded:
            raise SnncError(f"{where}: a computed Reshape target is only supported to unfold time and batch")
        return shape, False, None
    if not folded and len(target) >= 2 and target[0] == -1:
        new, folded = tuple(target[1:]), True  # fold T and B into one axis
    elif len(target) >= 3:
        new, folded = tuple(target[2:]), False  # [T, B, ...] (0 copies the input's T or B)
    elif folded and len(target) == 2 and target[0] == -1:
        new = tuple(target[1:])
    else:
        raise SnncError(f"{where}: cannot interpret Reshape to {target} of per-sample shape {list(shape)}")
    if -1 in new:
        rest = int(np.prod([d for d in new if d != -1]))
        new = tuple(n // rest if d == -1 else d for d in new)
    if int(np.prod(new)) != n or any(d <= 0 for d in new):
        raise SnncError(f"{where}: Reshape to {target} does not fit per-sample shape {shape}")
    if new == shape:
        return shape, folded, None
    if len(new) == 1:
        return new, folded, shape
    raise SnncError(f"{where}: only flattening reshapes are supported ({shape} -> {new})")
