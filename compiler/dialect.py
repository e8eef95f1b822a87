"""The snnc ONNX dialect (docs/spec.md section 3): the `snnc.LIF` model-local function and a model writer.

The LIF node is defined as an ONNX function built from standard ops (a `Scan` over time), so
onnxruntime runs an exported model as it is.  With power-of-two scales and every value on the
state grid, the float arithmetic below is exact and equals the integer semantics of docs/spec.md section 2:

    u = floor(beta * v / lsb) * lsb + I;  s = u >= theta;  r = u - theta*s  (or u*(1-s), or u);
    v = L[#{k : M_k < r}]  with M_k = floor((L_k + L_{k+1}) / (2 lsb)) * lsb,   or clip(r, vmin, vmax)

With `alpha` (a synaptic current, docs/spec.md section 2) I is c' = floor(alpha * c / lsb) * lsb + I,
and the stored c is c' quantized as v is.

and the node's output Y is s, or with output = "membrane" (a readout) v, in real units.

`snnc.RLIF` is the same neuron with recurrent input: a second input R [N, N] (MatMul layout, real
units) and I_t = X_t + s_{t-1} R, the layer's own spikes of the step before (0 at the first).

`ModelWriter` assembles dialect models from integer arrays; the tests and the PyTorch exporter use it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import AttributeProto, TensorProto, helper, numpy_helper

from .shapes import conv_out_shape, pool_out_shape

DOMAIN = "snnc"
DOMAIN_VERSION = 1
OPSET = 21
IR_VERSION = 10
FLOAT_MAX = float(np.finfo(np.float32).max)


# sha256 of the snnc.LIF functions earlier revisions of this dialect wrote into their files (each
# computes the same as today's for the attributes it has): a file carrying one of them, or today's,
# runs in onnxruntime as snnc compiles it; any other body was altered.
EARLIER_LIF_FUNCTIONS = frozenset({
    "f1ebd0dc22cc8392b203b794945d3724a7e808647af0468f11edb60727241ae7",  # the first
    "63f183d0bcb9721d552fd2d7c7fa359be446cf79d679dd42c31c8d7b984540cb",  # pools
    "f060264fb2fe4fd10268ded8c9d94e954db23508b54ee25bd7b29c560ee26f69",  # order
    "474ec69e49d8cdcb8e4b6e395868c6ad4384c13291214ac5bc7f5675703c11d4",  # betas
    "dfbf5bb975ec204a43ed3bb05670e186591edbad1cc3f6f275d66a19531c0136",  # output, reset none
})


def function_digest(function: onnx.FunctionProto) -> str:
    return hashlib.sha256(function.SerializeToString(deterministic=True)).hexdigest()


def is_snnc_lif_function(function: onnx.FunctionProto) -> bool:
    """Whether a model's snnc.LIF (or snnc.RLIF) function is one this dialect wrote (today's or an
    earlier one)."""
    digest = function_digest(function)
    if function.name == "RLIF":
        return digest == function_digest(lif_function(recurrent=True))
    return digest in EARLIER_LIF_FUNCTIONS or digest == function_digest(lif_function())


def _attr_ref(node: onnx.NodeProto, attr: str, ref: str, kind: int) -> onnx.NodeProto:
    node.attribute.append(helper.make_attribute_ref(attr, kind, ref_attr_name=ref))
    return node


def _default(name: str, value) -> AttributeProto:
    if isinstance(value, list):  # helper.make_attribute cannot type an empty list
        return AttributeProto(name=name, type=AttributeProto.FLOATS, floats=value)
    return helper.make_attribute(name, value)


def _attr_equals(attr: str, value: str, out: str) -> list[onnx.NodeProto]:
    """out = (the string attribute `attr` == value), a boolean in the function's scope."""
    mk = helper.make_node
    return [_attr_ref(mk("Constant", [], [f"{out}_attr"]), "value_string", attr, AttributeProto.STRING),
            mk("Constant", [], [f"{out}_str"], value=helper.make_tensor(f"{out}_str", TensorProto.STRING, [], [value.encode()])),
            mk("Equal", [f"{out}_attr", f"{out}_str"], [out])]


def _attribute_constants() -> list[onnx.NodeProto]:
    """The LIF's numeric attributes as constants in the function's scope."""
    F, FS = AttributeProto.FLOAT, AttributeProto.FLOATS
    mk = helper.make_node
    return [_attr_ref(mk("Constant", [], [name]), "value_floats" if kind == FS else "value_float", attr, kind)
            for name, attr, kind in (("beta_scalar", "beta", F), ("betas_attr", "betas", FS), ("theta", "threshold", F),
                                     ("alpha", "alpha", F), ("lsb_attr", "state_lsb", F), ("vmin", "state_min", F),
                                     ("vmax", "state_max", F), ("levels", "state_levels", FS))]


def lif_function(recurrent: bool = False) -> onnx.FunctionProto:
    """The `snnc.LIF` function: input X [T, B, ...] currents, output Y [T, B, ...] spikes (float 0/1);
    recurrent: `snnc.RLIF`, with the input R [N, N] that weights the spikes of the step before."""
    mk = helper.make_node
    c = lambda name, value: mk("Constant", [], [name], value=numpy_helper.from_array(np.asarray(value, np.float32)))
    nodes = [
        *_attribute_constants(),
        *_attr_equals("reset", "zero", "is_zero"),
        *_attr_equals("reset", "none", "is_none"),
        *_attr_equals("output", "membrane", "is_membrane"),
        *_attr_equals("order", "snntorch", "is_snntorch"),
        c("f0", 0.0), c("f1", 1.0), c("f2", 2.0),
        # A float model has no grid (state_lsb = 0): leak and midpoints are then not floored.
        mk("Greater", ["lsb_attr", "f0"], ["has_lsb"]),
        mk("Where", ["has_lsb", "lsb_attr", "f1"], ["lsb"]),
        # Midpoints of adjacent levels, floored onto the grid.  Empty when there are no levels.
        mk("Size", ["levels"], ["n_levels"]),
        mk("Constant", [], ["i0"], value=numpy_helper.from_array(np.array([0], np.int64))),
        mk("Constant", [], ["i1"], value=numpy_helper.from_array(np.array([1], np.int64))),
        mk("Constant", [], ["i_1"], value=numpy_helper.from_array(np.array([-1], np.int64))),
        mk("Constant", [], ["ibig"], value=numpy_helper.from_array(np.array([1 << 40], np.int64))),
        mk("Slice", ["levels", "i0", "i_1"], ["lo_levels"]),
        mk("Slice", ["levels", "i1", "ibig"], ["hi_levels"]),
        mk("Add", ["lo_levels", "hi_levels"], ["pair_sum"]),
        mk("Mul", ["f2", "lsb"], ["two_lsb"]),
        mk("Div", ["pair_sum", "two_lsb"], ["mid_units"]),
        mk("Floor", ["mid_units"], ["mid_floor"]),
        mk("Where", ["has_lsb", "mid_floor", "mid_units"], ["mid_q"]),
        mk("Mul", ["mid_q", "lsb"], ["mids"]),
        mk("Constant", [], ["n_zero"], value=numpy_helper.from_array(np.array(0, np.int64))),
        mk("Greater", ["n_levels", "n_zero"], ["has_levels"]),
        # Gather needs a non-empty table even when has_levels is false and its result is discarded.
        mk("Constant", [], ["f0_vec"], value=numpy_helper.from_array(np.zeros(1, np.float32))),
        mk("Concat", ["levels", "f0_vec"], ["levels_ext"], axis=0),
        # beta: one per output channel (betas, when given) shaped [C, 1, 1] or [N] to broadcast over
        # a state [B, C, H, W] or [B, N]; else the scalar beta, shaped [1, ...].
        mk("Reshape", ["beta_scalar", "i1"], ["beta_1d"]),
        mk("Concat", ["betas_attr", "beta_1d"], ["beta_table"], axis=0),
        mk("Size", ["betas_attr"], ["n_betas"]),
        mk("Greater", ["n_betas", "n_zero"], ["has_betas"]),
        mk("Where", ["has_betas", "i0", "i_1"], ["beta_from"]),
        mk("Where", ["has_betas", "i_1", "ibig"], ["beta_to"]),
        mk("Slice", ["beta_table", "beta_from", "beta_to"], ["beta_values"]),
        mk("Shape", ["X"], ["spatial_shape"], start=3),
        mk("Shape", ["spatial_shape"], ["spatial_rank"]),
        mk("ConstantOfShape", ["spatial_rank"], ["spatial_ones"],
           value=numpy_helper.from_array(np.ones(1, np.int64))),
        mk("Concat", ["i_1", "spatial_ones"], ["beta_shape"], axis=0),
        mk("Reshape", ["beta_values", "beta_shape"], ["beta"]),
        # Initial state v = 0, shaped like one timestep of X.
        mk("Shape", ["X"], ["state_shape"], start=1),
        mk("ConstantOfShape", ["state_shape"], ["v0"], value=numpy_helper.from_array(np.zeros(1, np.float32))),
        mk("Identity", ["v0"], ["c0"]),
        mk("GreaterOrEqual", ["alpha", "f0"], ["has_synapse"]),  # alpha < 0 (the default): no synaptic current
        mk("Scan", ["v0", "c0", *(["v0"] if recurrent else []), "X"],  # v0: no spikes before the first step
           ["v_final", "c_final", *(["s_final"] if recurrent else []), "Y_spikes", "Y_membrane"], num_scan_inputs=1,
           body=_lif_step_graph(recurrent)),
        mk("Where", ["is_membrane", "Y_membrane", "Y_spikes"], ["Y"]),
    ]
    return helper.make_function(
        DOMAIN, "RLIF" if recurrent else "LIF", ["X", "R"] if recurrent else ["X"], ["Y"], nodes,
        [helper.make_opsetid("", OPSET)],
        attributes=["beta", "threshold"],
        attribute_protos=[
            _default("reset", "subtract"), _default("state_lsb", 0.0), _default("state_quant", "none"),
            _default("betas", []),  # one beta per output channel (docs/spec.md: per-channel leak)
            _default("state_levels", []), _default("state_min", -FLOAT_MAX), _default("state_max", FLOAT_MAX),
            _default("order", "snnc"),  # or "snntorch" (docs/spec.md section 2)
            _default("output", "spikes"),  # or "membrane": a readout's state v (docs/spec.md section 2)
            _default("alpha", -1.0),  # the synaptic current's leak; below 0: none (docs/spec.md section 2)
        ],
        doc_string="Leaky integrate-and-fire over time (axis 0); the integer semantics of snnc's docs/spec.md "
                   "section 2 on the state_lsb grid.",
    )


def _leak_nodes(v: str, out: str) -> list[onnx.NodeProto]:
    """out = beta * v, floored onto the grid when there is one."""
    mk = helper.make_node
    return [mk("Mul", ["beta", v], [f"{out}_bv"]), mk("Div", [f"{out}_bv", "lsb"], [f"{out}_units"]),
            mk("Floor", [f"{out}_units"], [f"{out}_floor"]), mk("Mul", [f"{out}_floor", "lsb"], [f"{out}_grid"]),
            mk("Where", ["has_lsb", f"{out}_grid", f"{out}_bv"], [out])]


def _quantize_nodes(r: str, out: str) -> list[onnx.NodeProto]:
    """out = Q(r): the level whose code is the number of midpoints strictly below r (ties to the lower
    level), or r clipped to [vmin, vmax] without levels."""
    mk = helper.make_node
    return [mk("Unsqueeze", [r, "i_1"], [f"{out}_col"]),
            mk("Less", ["mids", f"{out}_col"], [f"{out}_below"]),
            mk("Cast", [f"{out}_below"], [f"{out}_below_i"], to=TensorProto.INT64),
            mk("ReduceSum", [f"{out}_below_i", "i_1"], [f"{out}_code"], keepdims=0),
            mk("Gather", ["levels_ext", f"{out}_code"], [f"{out}_levels"]),
            mk("Clip", [r, "vmin", "vmax"], [f"{out}_clip"]),
            mk("Where", ["has_levels", f"{out}_levels", f"{out}_clip"], [out])]


def _lif_step_graph(recurrent: bool = False) -> onnx.GraphProto:
    """One timestep: (v, c, x) -> (v_next, c_next, s, v); recurrent: (v, c, s_prev, x) -> (v_next,
    c_next, s_next, s, v), the input current x + s_prev R.  Reads beta, alpha, theta, lsb, mids,
    levels, is_zero, is_snntorch (and R) from the function scope; both orders are computed and
    `order` picks one.  x below is the step's input: the current, or the synaptic current c' it drives."""
    mk = helper.make_node
    own = [mk("MatMul", ["s_prev", "R"], ["x_own"]), mk("Add", ["x_ff", "x_own"], ["x_in"])] if recurrent else []
    nodes = [
        *own,
        # the synaptic current c' = floor(alpha c) + I, stored quantized; without one, x is I itself
        mk("Mul", ["alpha", "c"], ["syn_ac"]), mk("Div", ["syn_ac", "lsb"], ["syn_units"]),
        mk("Floor", ["syn_units"], ["syn_floor"]), mk("Mul", ["syn_floor", "lsb"], ["syn_grid"]),
        mk("Where", ["has_lsb", "syn_grid", "syn_ac"], ["syn_leak"]),
        mk("Add", ["syn_leak", "x_in"], ["c_raw"]),
        mk("Where", ["has_synapse", "c_raw", "x_in"], ["x"]),
        *_quantize_nodes("c_raw", "c_q"),
        mk("Mul", ["c_q", "f0"], ["c_zero"]),
        mk("Where", ["has_synapse", "c_q", "c_zero"], ["c_next"]),
        *_leak_nodes("v", "leak"),
        mk("Add", ["leak", "x"], ["u"]),
        mk("GreaterOrEqual", ["u", "theta"], ["fire"]),
        mk("Cast", ["fire"], ["s"], to=TensorProto.FLOAT),
        mk("Mul", ["theta", "s"], ["theta_s"]),
        mk("Sub", ["u", "theta_s"], ["r_sub"]),
        mk("Sub", ["f1", "s"], ["not_s"]),
        mk("Mul", ["u", "not_s"], ["r_zero"]),
        mk("Where", ["is_zero", "r_zero", "r_sub"], ["r_reset"]),
        mk("Where", ["is_none", "u", "r_reset"], ["r_snnc"]),
        # snnTorch's order: the pending reset p is the last step's spike, read from the stored state
        mk("Greater", ["v", "theta"], ["pending"]),
        mk("Cast", ["pending"], ["p"], to=TensorProto.FLOAT),
        mk("Sub", ["f1", "p"], ["not_p"]),
        mk("Mul", ["v", "not_p"], ["v_zeroed"]),
        *_leak_nodes("v_zeroed", "leak_zeroed"),
        mk("Add", ["leak_zeroed", "x"], ["u_torch_zero"]),
        mk("Mul", ["theta", "p"], ["theta_p"]),
        mk("Sub", ["u", "theta_p"], ["u_torch_subtract"]),
        mk("Where", ["is_none", "u", "u_torch_subtract"], ["u_torch_sub"]),
        mk("Where", ["is_zero", "u_torch_zero", "u_torch_sub"], ["u_torch"]),
        mk("Where", ["is_snntorch", "u_torch", "r_snnc"], ["r"]),
        *_quantize_nodes("r", "v_next"),
        mk("Greater", ["v_next", "theta"], ["fire_torch"]),  # snnTorch fires strictly above theta, on the stored state
        mk("Cast", ["fire_torch"], ["s_torch"], to=TensorProto.FLOAT),
        mk("Where", ["is_snntorch", "s_torch", "s"], ["s_out"]),
        mk("Identity", ["v_next"], ["v_out"]),  # the state again, as a scan output (the readout's)
        *([mk("Identity", ["s_out"], ["s_next"])] if recurrent else []),  # the spikes, carried to the next step
    ]
    t = lambda n: helper.make_tensor_value_info(n, TensorProto.FLOAT, None)
    if recurrent:
        return helper.make_graph(nodes, "rlif_step", [t("v"), t("c"), t("s_prev"), t("x_ff")],
                                 [t("v_next"), t("c_next"), t("s_next"), t("s_out"), t("v_out")])
    return helper.make_graph(nodes, "lif_step", [t("v"), t("c"), t("x_in")],
                             [t("v_next"), t("c_next"), t("s_out"), t("v_out")])


@dataclass
class ModelWriter:
    """Builds a dialect model node by node: spikes [T, B, *features] in, last LIF's spikes out.

    Each `dense`/`conv2d`/`pool`/`flatten`/`lif` call appends to the chain and returns nothing; `model()`
    finishes it.  Weights are given as integers with a scale (written as INT8/INT4 + DequantizeLinear)
    or as floats (written as float initializers).
    """

    in_features: tuple[int, ...]
    name: str = "snnc_model"
    nodes: list = field(default_factory=list)
    inits: list = field(default_factory=list)
    cur: str = "spikes"
    shape: tuple[int, ...] = ()
    recurrent: bool = False  # an RLIF was written: the model carries the snnc.RLIF function too
    _n: int = 0

    def __post_init__(self):
        self.shape = tuple(self.in_features)

    def _fresh(self, base: str) -> str:
        self._n += 1
        return f"{base}_{self._n}"

    def _weight(self, name: str, w: np.ndarray, scale, bits: int | None, axis: int | None) -> str:
        if bits is None:
            self.inits.append(numpy_helper.from_array(np.asarray(w, np.float32), name))
            return name
        dtype = TensorProto.INT4 if bits <= 4 else TensorProto.INT8
        q = np.asarray(w, np.int64)
        self.inits.append(helper.make_tensor(name + "_q", dtype, q.shape, q.flatten().tolist()))
        scale_arr = np.asarray(scale, np.float32)
        self.inits.append(numpy_helper.from_array(scale_arr, name + "_scale"))
        zp = np.zeros(scale_arr.shape, np.int8)
        zp_t = helper.make_tensor(name + "_zp", dtype, zp.shape, zp.flatten().tolist())
        self.inits.append(zp_t)
        kw = {"axis": axis} if axis is not None else {}
        self.nodes.append(helper.make_node("DequantizeLinear", [name + "_q", name + "_scale", name + "_zp"], [name], name=name + "_dq", **kw))
        return name

    def dense(self, weight: np.ndarray, scale=1.0, bits: int | None = 8, bias: np.ndarray | None = None,
              name: str | None = None, per_axis: bool = False) -> None:
        """weight [N_in, N_out] (MatMul layout); bias float [N_out] in real units."""
        name = name or self._fresh("fc")
        w = self._weight(name + "_W", weight, scale, bits, 1 if per_axis else None)
        out = name + "_mm"
        self.nodes.append(helper.make_node("MatMul", [self.cur, w], [out], name=name))
        if bias is not None:
            self.inits.append(numpy_helper.from_array(np.asarray(bias, np.float32), name + "_b"))
            self.nodes.append(helper.make_node("Add", [out, name + "_b"], [name + "_out"], name=name + "_bias"))
            out = name + "_out"
        self.cur, self.shape = out, (int(np.shape(weight)[1]),)

    def conv2d(self, weight: np.ndarray, scale=1.0, bits: int | None = 8, bias: np.ndarray | None = None,
               stride: int = 1, padding: int = 0, name: str | None = None) -> None:
        """weight [C_out, C_in, kH, kW]; time and batch are folded into one axis around the Conv."""
        name = name or self._fresh("conv")
        c, h, wd = self.shape
        co, _, kh, kw = np.shape(weight)
        _, ho, wo = conv_out_shape(co, (c, h, wd), (kh, kw), stride, padding)
        w = self._weight(name + "_W", weight, scale, bits, 0 if np.ndim(scale) else None)
        ins = [w] + ([name + "_b"] if bias is not None else [])
        if bias is not None:
            self.inits.append(numpy_helper.from_array(np.asarray(bias, np.float32), name + "_b"))
        self._folded(name, helper.make_node("Conv", [name + "_fold", *ins], [name + "_conv"], name=name,
                                            strides=[stride, stride], pads=[padding] * 4, kernel_shape=[kh, kw]),
                     (co, ho, wo))

    def pool(self, kind: str, kernel: int, name: str | None = None) -> None:
        """MaxPool ('max') or AveragePool ('avg'), window = stride = kernel, no padding, of the
        currents after a conv2d or the spikes after a lif."""
        name = name or self._fresh(kind + "pool")
        c, h, w = self.shape
        op = {"max": "MaxPool", "avg": "AveragePool"}[kind]
        self._folded(name, helper.make_node(op, [name + "_fold"], [name + "_conv"], name=name,
                                            kernel_shape=[kernel, kernel], strides=[kernel, kernel]),
                     pool_out_shape(self.shape, kernel))

    def _folded(self, name: str, node: onnx.NodeProto, out_shape: tuple[int, int, int]) -> None:
        """Append `node` (input name_fold, output name_conv) with time and batch folded into one axis
        around it; [T, B] are recovered from the layer input's own shape, so both may stay symbolic."""
        mk = helper.make_node
        self.inits.append(numpy_helper.from_array(np.array([-1, *self.shape], np.int64), name + "_fold_shape"))
        self.nodes += [
            mk("Reshape", [self.cur, name + "_fold_shape"], [name + "_fold"], name=name + "_fold"), node,
            mk("Shape", [self.cur], [name + "_tb"], name=name + "_tb", start=0, end=2),
            mk("Constant", [], [name + "_chw"], name=name + "_chw",
               value=numpy_helper.from_array(np.array(out_shape, np.int64))),
            mk("Concat", [name + "_tb", name + "_chw"], [name + "_unfold_shape"], name=name + "_unfold_shape", axis=0),
            mk("Reshape", [name + "_conv", name + "_unfold_shape"], [name + "_out"], name=name + "_unfold"),
        ]
        self.cur, self.shape = name + "_out", tuple(out_shape)

    def flatten(self, name: str | None = None) -> None:
        name = name or self._fresh("flatten")
        self.inits.append(numpy_helper.from_array(np.array([0, 0, -1], np.int64), name + "_shape"))
        self.nodes.append(helper.make_node("Reshape", [self.cur, name + "_shape"], [name + "_out"], name=name))
        self.cur, self.shape = name + "_out", (int(np.prod(self.shape)),)

    def lif(self, beta, threshold: float, reset: str = "subtract", state_lsb: float | None = None,
            state_quant: str = "none", state_levels=None, state_min: float | None = None,
            state_max: float | None = None, name: str | None = None, order: str = "snnc",
            output: str = "spikes", alpha: float | None = None, recurrent: np.ndarray | None = None,
            recurrent_scale=1.0, recurrent_bits: int | None = 8) -> None:
        """beta: one value, or one per output channel (written as `betas`, with `beta` their largest);
        output "membrane": a readout (the last LIF), whose node outputs its state; alpha: the leak
        of a synaptic current (None: the current drives the membrane directly); recurrent: a
        `snnc.RLIF` whose spikes of the step before feed it through this weight [N_from, N_to]
        (MatMul layout; integers with recurrent_scale per N_to, or floats with recurrent_bits None)."""
        name = name or self._fresh("lif")
        betas = np.asarray(beta, np.float64).ravel()
        attrs = {"beta": float(betas.max()), "threshold": float(threshold), "reset": reset, "state_quant": state_quant}
        if betas.size > 1:
            attrs["betas"] = [float(b) for b in betas]
        if order != "snnc":
            attrs["order"] = order
        if output != "spikes":
            attrs["output"] = output
        if alpha is not None:
            attrs["alpha"] = float(alpha)
        optional = {"state_lsb": state_lsb, "state_min": state_min, "state_max": state_max}
        attrs.update({k: float(v) for k, v in optional.items() if v is not None})
        if state_levels is not None:
            attrs["state_levels"] = [float(x) for x in state_levels]
        out = name + ("_spk" if output == "spikes" else "_mem")
        inputs = [self.cur]
        if recurrent is not None:
            inputs.append(self._weight(name + "_R", recurrent, recurrent_scale, recurrent_bits,
                                       1 if np.ndim(recurrent_scale) else None))
            self.recurrent = True
        self.nodes.append(helper.make_node("RLIF" if recurrent is not None else "LIF", inputs, [out], name=name,
                                           domain=DOMAIN, **attrs))
        self.cur = out

    def model(self) -> onnx.ModelProto:
        inp = helper.make_tensor_value_info("spikes", TensorProto.FLOAT, ["T", "B", *self.in_features])
        out = helper.make_tensor_value_info(self.cur, TensorProto.FLOAT, ["T", "B", *self.shape])
        graph = helper.make_graph(self.nodes, self.name, [inp], [out], self.inits)
        return helper.make_model(
            graph, ir_version=IR_VERSION, functions=[lif_function()] + ([lif_function(recurrent=True)] if self.recurrent else []),
            opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(DOMAIN, DOMAIN_VERSION)],
            producer_name="snnc",
        )
