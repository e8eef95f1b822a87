"""Kernel columns side by side (LayerImpl.columns, docs/rtl.md "Kernel columns side by side"): a
convolution's lanes cover every output channel times the kernel columns one input feeds, each column
in its own accumulator RAM (output column mod columns), so a spike costs its kernel rows' cycles,
not its taps'.  The lanes are spelled and read back, the geometry counts the steps the RTL takes,
and the RTL in Verilator equals the golden model with its counters equal to the engine model's
counts (event-driven updates and pools included)."""
import numpy as np
import onnx
import pytest

from netgen import LayerSpec, lif_params
from rtl_cases import rtl_equals_golden
from snnc.autolanes import choose_lanes, expected_run
from snnc.compiler import compile_model, ir
from snnc.compiler.dialect import ModelWriter
from snnc.compiler.engine_model import network_models
from snnc.compiler.errors import SnncError
from snnc.compiler.geometry import LayerGeometry
from snnc.compiler.layer_impl import LayerImpl, check_implementation, column_taps, implement, lanes_text, parse_lanes


def conv(co: int, ci: int, k: int, stride: int = 1, pad: int = 1, h: int = 8, bits: int = 4) -> ir.Conv2d:
    w = np.random.default_rng(co + k).integers(-7, 8, (co, ci, k, k)) if bits > 1 else \
        np.where(np.random.default_rng(co).random((co, ci, k, k)) < 0.5, -1, 1)
    zeros = np.zeros(co, np.int64)
    return ir.Conv2d("conv", w, zeros, zeros, bits, (ci, h, h), stride, pad)


def test_lanes_spell_the_columns():
    """C_out x column taps lanes put the columns side by side (every channel, dense weights, units
    dividing the channels); any other count is channel lanes as before; build.json keeps the field
    only where it is not 1, and a build without it reads as one column."""
    syn = conv(8, 2, 3)
    assert column_taps(syn) == 3 and column_taps(conv(4, 2, 3, stride=2)) == 2 and column_taps(conv(4, 2, 1, pad=0)) == 1
    wide = LayerImpl.of(syn, 24, 4, weights="sparse")
    assert (wide.lanes, wide.units, wide.columns, wide.weights, wide.adders) == (8, 4, 3, "dense", 24)
    assert LayerImpl.of(syn, 16) == LayerImpl(8, 8) and LayerImpl.of(syn, 23).columns == 1
    assert wide.to_json() == {"lanes": 8, "units": 4, "banks": 2, "weights": "dense", "columns": 3}
    assert LayerImpl.from_json(wide.to_json(), "b") == wide and "columns" not in LayerImpl(8, 8).to_json()
    with pytest.raises(SnncError, match="columns >= 1"):
        LayerImpl.from_json({**wide.to_json(), "columns": 0}, "build.json")
    dense = ir.Dense("fc", np.ones((10, 64), np.int64), np.zeros(10, np.int64), np.zeros(10, np.int64), 4)
    net_impl = (wide, LayerImpl.of(dense, 10))
    assert lanes_text(net_impl) == "24:4,10" and parse_lanes("24:4,10") == ((24, 4), 10)
    assert lanes_text((LayerImpl.of(syn, 24),)) == "24"
    with pytest.raises(SnncError, match="no engine"):
        LayerGeometry(syn, LayerImpl(8, 8, 2, "dense", 2))  # fewer RAMs than column taps


@pytest.mark.parametrize("k, stride, pad, h", [(3, 1, 1, 8), (3, 1, 0, 7), (2, 1, 0, 6), (3, 2, 1, 9), (5, 2, 2, 9)])
def test_a_step_is_a_kernel_row(k, stride, pad, h):
    """A spike's scatter steps are its kernel rows (each feeding some column) x channel groups; each
    step's columns land in distinct RAMs; a weight row holds the kernel row's columns, channel-major
    within each column."""
    syn = conv(3, 2, k, stride, pad, h)
    geo = LayerGeometry(syn, LayerImpl.of(syn, 3 * column_taps(syn)))
    assert geo.columns == column_taps(syn) > 1
    for y, x in np.ndindex(h, h):
        rows, cols = geo.row_taps[y], geo.col_taps[x]
        assert geo.spike_steps[0, y, x] == (len(rows) if cols else 0) * geo.go
        rams = [geo.acc_address(0, 0, ox)[0] for ox, _ in cols]
        assert len(set(rams)) == len(rams)
    steps, taps = geo.spike_steps.sum(), geo.tap_sum(1).sum()
    assert geo.words_per_step == pytest.approx(taps / steps)
    rows = geo.weight_rows.reshape(2, k, geo.go, k, geo.lanes)  # [c, ky, og, kx, lane]
    for c, ky, kx, lane in np.ndindex(2, k, k, 3):
        assert rows[c, ky, 0, kx, lane] == syn.weight[lane, c, ky, kx]


def wide_csnn(tmp_path, rng: np.random.Generator, binary: bool = False):
    """2x10x10 -> conv 6 3x3 / max pool 2 of currents -> LIF -> conv 3 2x2 (binary weights with
    `binary`) -> LIF / max pool 2 of spikes -> dense 4 -> LIF; no biases, threshold-centered states."""
    writer = ModelWriter((2, 10, 10))
    spec = LayerSpec(6, 4, "threshold_centered", 4, "subtract", conv=True)
    attrs = lambda: {**lif_params(rng, spec), "beta": 0.75}
    writer.conv2d(rng.integers(-2, 8, (6, 2, 3, 3)), 1.0, 4, padding=1)
    writer.pool("max", 2)
    writer.lif(**attrs())
    second = np.where(rng.random((3, 6, 2, 2)) < 0.7, 1, -1) if binary else rng.integers(-3, 8, (3, 6, 2, 2))
    writer.conv2d(second, 1.0, 1 if binary else 4, padding=1)
    writer.lif(**attrs())
    writer.pool("max", 2)
    writer.flatten()
    writer.dense(rng.integers(-2, 8, (int(np.prod(writer.shape)), 4)), 1.0, 4)
    writer.lif(**attrs())
    onnx.save(writer.model(), tmp_path / "csnn.onnx")
    return compile_model(tmp_path / "csnn.onnx")


@pytest.mark.parametrize("seed, binary, lanes", [(0, False, ((18, 2), (6, 3), 4)), (1, True, (18, (6, 1), 2))])
def test_verilator_equals_golden_with_columns(seed, binary, lanes, tmp_path):
    """Both convolutions with their columns side by side (3 and 2 RAMs; an event-driven update at
    18:2, binary weights): every output spike and final state is the golden model's, the activity
    counters its counts, and a spike costs a third (a half) of the taps it feeds."""
    rng = np.random.default_rng(seed)
    net = wide_csnn(tmp_path, rng, binary)
    impl = implement(net, lanes)
    assert [li.columns for li in impl] == [3, 2, 1]
    models = network_models(net, impl)
    assert models[0].event_driven == (impl[0].units == 2)
    x = (rng.random((6, 2, 2, 10, 10)) < 0.25).astype(np.uint8)
    rtl_equals_golden(net, x, impl, tmp_path / "rtl")
    narrow = network_models(net, implement(net, (6, 3, 4)))
    for wide, one in zip(models[:2], narrow):
        assert wide.cycles_per_spike * wide.geo.columns == one.cycles_per_spike
    check_implementation(impl, net, "build.json")


def test_auto_lanes_puts_columns_side_by_side(tmp_path):
    """With LUTs to spare, --lanes auto takes the convolutions' columns side by side (fewer cycles
    than every channel alone), and the report's lanes spell them."""
    net = wide_csnn(tmp_path, np.random.default_rng(2))
    inputs, updates = expected_run(net, 8, rate=0.2)
    impl, _ = choose_lanes(net, inputs, 100e6, max_luts=100_000, updates=updates)
    assert [li.columns for li in impl[:2]] == [3, 2]
    assert lanes_text(impl).split(",")[0].split(":")[0] == "18"
