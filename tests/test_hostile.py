"""Hostile models: values that cannot be right, malformed nodes and mutated files.  Each one either
stops `snnc compile` with exit 1 and one line naming what is wrong (and nothing left behind), or
compiles to a design whose golden output equals onnxruntime's on the same file."""
import math
import random
import shutil

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper, numpy_helper

from snnc.cli import main
from snnc.compiler import build_folder
from snnc.compiler.dialect import ModelWriter
from snnc.sim import golden

BAD_FLOATS = [0.0, -1.0, math.nan, math.inf, -math.inf, 1e30, 3e38]


def base_model() -> onnx.ModelProto:
    """Conv + dense, exact on the grid, with biases and a level set."""
    rng = np.random.default_rng(0)
    w = ModelWriter((2, 5, 5), name="hostile")
    w.conv2d(rng.integers(-7, 8, (3, 2, 3, 3)), scale=0.25, bits=4, bias=np.array([0.25, -0.5, 0.0]), padding=1,
             name="conv1")
    w.lif(beta=0.75, threshold=1.0, state_lsb=0.25, state_quant="uniform", state_levels=np.arange(-4, 4) * 0.25,
          name="lif1")
    w.flatten(name="flat")
    w.dense(rng.integers(-7, 8, (75, 4)), scale=0.5, bits=4, bias=np.array([0.5, 0, 0, -0.5]), name="fc2")
    w.lif(beta=0.5, threshold=2.0, state_lsb=0.5, state_min=-8.0, state_max=8.0, name="lif2")
    return w.model()


def outcome(tmp_path, capsys, model_bytes: bytes, tag: str) -> tuple[str, str]:
    """Compile the bytes; on success compare golden with onnxruntime.  Returns ('error', the error
    line) or ('exact', '')."""
    path, build = tmp_path / f"{tag}.onnx", tmp_path / f"{tag}_build"
    path.write_bytes(model_bytes)
    capsys.readouterr()
    code = main(["compile", str(path), "-o", str(build)])
    out, err = capsys.readouterr()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert not leftovers, (tag, leftovers)
    if code != 0:
        lines = err.strip().splitlines()
        assert code == 1 and len(lines) == 1 and lines[0].startswith("snnc: error: "), (tag, err)
        assert not build.exists()
        return "error", lines[0]
    net, _ = build_folder.load(build)
    x = (np.random.default_rng(1).random((6, 3, *net.input_shape)) < 0.4).astype(np.float32)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    want = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    got = golden.run(net, x)
    assert "rounded" not in out, (tag, out)  # a rounded model may differ from its float self; these must not
    np.testing.assert_array_equal(got.reshape(want.shape), want, err_msg=tag)
    shutil.rmtree(build)
    return "exact", ""


def node(model, name):
    return next(n for n in model.graph.node if n.name == name)


def set_attr(model, node_name, attr, value):
    n = node(model, node_name)
    keep = [a for a in n.attribute if a.name != attr]
    del n.attribute[:]
    n.attribute.extend(keep + [helper.make_attribute(attr, value)])


def set_init(model, name, fn):
    init = next(i for i in model.graph.initializer if i.name == name)
    init.CopyFrom(numpy_helper.from_array(fn(numpy_helper.to_array(init)), name))


def float_weights(value):
    """Replace conv1's INT4 + DequantizeLinear by a float initializer holding `value` once."""
    m = ModelWriter((2, 5, 5), name="f")
    w = np.full((3, 2, 3, 3), 0.25)
    w.flat[0] = value
    m.conv2d(w, bits=None, padding=1, name="conv1")
    m.lif(beta=0.5, threshold=1.0, name="lif1")
    return m.model()


CASES = {
    "NaN bias": (lambda m: set_init(m, "conv1_b", lambda a: np.full_like(a, np.nan)), ["conv1", "NaN"]),
    "1e30 bias": (lambda m: set_init(m, "fc2_b", lambda a: np.full_like(a, 1e30)), ["fc2", "bias"]),
    "NaN state level": (lambda m: set_attr(m, "lif1", "state_levels", [0.0, math.nan, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75]),
                        ["lif1", "state_levels"]),
    "2**100 weight scale": (lambda m: set_init(m, "fc2_W_scale", lambda a: np.float32(2.0 ** 100)),
                            ["fc2", "weight scale"]),
    "infinite state_lsb": (lambda m: set_attr(m, "lif2", "state_lsb", math.inf), ["lif2", "state_lsb"]),
    "infinite threshold": (lambda m: set_attr(m, "lif1", "threshold", math.inf), ["lif1", "threshold"]),
    "string beta": (lambda m: set_attr(m, "lif1", "beta", "0.5"), ["lif1", "beta", "FLOAT"]),
    "zero stride": (lambda m: set_attr(m, "conv1", "strides", [0, 0]), ["conv1", "strides"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_values_are_one_line_errors(tmp_path, capsys, case):
    edit, words = CASES[case]
    model = base_model()
    edit(model)
    kind, message = outcome(tmp_path, capsys, model.SerializeToString(), "m")
    assert kind == "error"
    for word in words:
        assert word in message, (case, word, message)


@pytest.mark.parametrize("value", [math.nan, math.inf, 3e38])
def test_non_finite_or_huge_float_weights(tmp_path, capsys, value):
    kind, message = outcome(tmp_path, capsys, float_weights(value).SerializeToString(), "f")
    assert kind == "error" and "conv1" in message


def test_zero_neuron_layer_invalid_names_and_constant_forms(tmp_path, capsys):
    m = ModelWriter((4,))
    m.dense(np.zeros((4, 0), int), scale=0.5, bits=4, name="empty")
    m.lif(beta=0.5, threshold=1.0, state_lsb=0.5, name="lif")
    kind, message = outcome(tmp_path, capsys, m.model().SerializeToString(), "zero")
    assert kind == "error" and "empty" in message and "zero-sized" in message
    raw = base_model().SerializeToString().replace(b"lif1", b"l\xff\xfe1")  # invalid UTF-8 in names
    assert outcome(tmp_path, capsys, raw, "utf8")[0] == "error"
    for form in (helper.make_attribute("value_float", 0.5), helper.make_attribute("value_floats", [0.5, 0.5, 0.5, 0.5]),
                 helper.make_attribute("value_ints", [1, 1, 1, 1])):
        model = base_model()  # the fc2 bias as a Constant node of another value_* form
        bias = next(i for i in model.graph.initializer if i.name == "fc2_b")
        model.graph.initializer.remove(bias)
        model.graph.node.insert(0, helper.make_node("Constant", [], ["fc2_b"], name="bias_const"))
        model.graph.node[0].attribute.append(form)
        kind, message = outcome(tmp_path, capsys, model.SerializeToString(), f"const_{form.name}")
        assert kind == "exact" or "fc2" in message, message


def mutations(model: onnx.ModelProto, rng: random.Random):
    """(tag, bytes): every float attribute and every float initializer element set to each BAD_FLOAT,
    integer attributes to 0 and -1, and byte flips and truncations of the file."""
    raw = model.SerializeToString()
    for n in model.graph.node:
        for a in n.attribute:
            if a.type == onnx.AttributeProto.FLOAT:
                values = BAD_FLOATS
            elif a.type == onnx.AttributeProto.INTS:
                values = [[0] * len(a.ints), [-1] * len(a.ints)]
            elif a.type == onnx.AttributeProto.FLOATS:
                values = [[v] * len(a.floats) for v in BAD_FLOATS]
            else:
                continue
            for v in values:
                m = onnx.ModelProto()
                m.CopyFrom(model)
                set_attr(m, n.name, a.name, v)
                yield f"{n.name}.{a.name}={v}", m.SerializeToString()
    for init in model.graph.initializer:
        if numpy_helper.to_array(init).dtype.kind == "f":
            for v in BAD_FLOATS:
                m = onnx.ModelProto()
                m.CopyFrom(model)
                set_init(m, init.name, lambda a: np.full_like(a, v))
                yield f"{init.name}={v}", m.SerializeToString()
    for i in range(40):
        data = bytearray(raw)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        yield f"flip{i}", bytes(data)
    for cut in (1, 10, len(raw) // 3, len(raw) // 2, len(raw) - 1):
        yield f"truncate{cut}", raw[:cut]


def test_fuzzed_models_fail_cleanly_or_stay_exact(tmp_path, capsys):
    seen = {"error": 0, "exact": 0}
    for tag, data in mutations(base_model(), random.Random(0)):
        seen[outcome(tmp_path, capsys, data, "fuzz")[0]] += 1
    assert seen["error"] > 100 and seen["exact"] >= 8, seen  # 132 and 10 when written
