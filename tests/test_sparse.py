"""Sparse weights (sparse.SparseRows, rtl_gen/sparse_scatter.py): the format holds exactly the
weights, the compiler picks it where it is cheaper, and pruned networks (dense layers and
convolutions, with pools) on the sparse engine equal the golden model spike for spike and state for
state in Verilator."""
from dataclasses import replace

import numpy as np
import onnx
import pytest

from netgen import prune, random_model, random_spikes
from rtl_cases import active_pool_case, case_specs, check_cycles, expected_final_states
from snnc.compiler import compile_model, ir
from snnc.compiler.errors import SnncError
from snnc.compiler.engine_model import EngineModel, network_memories, network_models
from snnc.compiler.geometry import LayerGeometry, network_geometry
from snnc.compiler.layer_impl import LayerImpl, implement, with_banks
from snnc.compiler.sparse import sparse_rows
from snnc.sim import golden, rtl


def decode(rows, n_out: int, n_in: int, lanes: int) -> np.ndarray:
    """Walk the entries as the sparse scatter does (SparseRows' docstring): the dense matrix they
    add up to.  Checks that every written group is in range."""
    go = -(-n_out // lanes)
    w = np.zeros((go * lanes, n_in), np.int64)
    signed = lambda c: c - (1 << rows.code_bits) if c >> (rows.code_bits - 1) else c
    for j in range(n_in):
        for lane in range(lanes):
            og = -1
            for r in range(rows.row_start[j], rows.row_start[j + 1]):
                delta, code = int(rows.delta[r, lane]), int(rows.code[r, lane])
                if delta:
                    og += delta
                    assert 0 <= og < go
                    w[og * lanes + lane, j] += rows.values[code] if rows.values is not None else signed(code)
                elif code == 1:
                    og += (1 << rows.delta_bits) - 1
    return w[:n_out]


@pytest.mark.parametrize("seed", range(40))
def test_sparse_rows_hold_exactly_the_weights(seed):
    rng = np.random.default_rng(seed)
    n_out, n_in, lanes = int(rng.integers(1, 70)), int(rng.integers(1, 12)), int(rng.integers(1, 7))
    density = [0.0, 0.05, 0.3, 1.0][seed % 4]
    pool = [np.arange(-7, 8), np.array([-7, -6, 6, 7]), np.array([5]), np.array([-8, -1, 3])][seed // 4 % 4]
    w = rng.choice(pool, (n_out, n_in)) * (rng.random((n_out, n_in)) < density)
    w[:, rng.integers(0, n_in)] = 0  # an input with no synapse at all
    for delta_bits in (None, 1, 2, 3):
        rows = sparse_rows(w, lanes, 4, delta_bits)
        np.testing.assert_array_equal(decode(rows, n_out, n_in, lanes), w, err_msg=f"delta bits {delta_bits}")
        assert rows.delta.min(initial=0) >= 0 and rows.delta.max(initial=0) < 1 << rows.delta_bits
        assert rows.code.min(initial=0) >= 0 and rows.code.max(initial=0) < 1 << rows.code_bits
        # an input's rows are its longest lane list: no row is all padding
        assert all(np.any((rows.delta[a:b] != 0) | (rows.code[a:b] != 0), axis=1).all()
                   for a, b in zip(rows.row_start[:-1], rows.row_start[1:]) if b > a)
    # codes: the fewest bits that tell the distinct non-zero weights apart, when fewer than the weights'
    distinct = len(np.unique(w[w != 0]))
    shared = max(1, int(distinct - 1).bit_length())
    assert rows.code_bits == (shared if shared < 4 else 4) and (rows.values is not None) == (shared < 4)
    # the chosen delta width stores no more than any other
    best = sparse_rows(w, lanes, 4)
    assert all(best.bits <= sparse_rows(w, lanes, 4, d).bits for d in range(1, 8))


def mlp(weight: np.ndarray, bits: int = 4) -> ir.Network:
    n_out, n_in = weight.shape
    syn = ir.Dense("fc", weight.astype(np.int64), np.zeros(n_out, np.int64), np.zeros(n_out, np.int64), bits,
                   accumulator_bits=12, current_bits=12)
    lif = ir.LIF("lif", (n_out,), 8, 1, 1, "subtract", "none", -64, 63, membrane_bits=8, state_bits=7)
    return ir.validate(ir.Network("mlp", (n_in,), (syn, lif)))


def geometry(synapse, lanes: int, weights: str = "auto") -> LayerGeometry:
    """The synapse's geometry at `lanes` with the weight storage --weights `weights` gives."""
    return LayerGeometry(synapse, LayerImpl.of(synapse, lanes, weights=weights))


def weights_line(synapse, lanes: int, weights: str = "auto") -> str:
    """The report's line on a synapse's weights at `lanes` (EngineModel.weights_line)."""
    return EngineModel(geometry(synapse, lanes, weights), None).weights_line


def test_pruned_784_128_goes_sparse_and_costs_less():
    """80% unstructured pruning of 4-bit 784-128: at 1 lane the compiler stores sparse weights in
    under 45% of the dense bits, and a spike costs under 25% of the dense cycles on average."""
    rng = np.random.default_rng(0)
    w = rng.integers(-7, 8, (128, 784)) * (rng.random((128, 784)) < 0.2)
    geo = geometry(mlp(w).layers[0], 1)
    assert geo.sparse is not None
    dense_bits = 128 * 784 * 4
    assert geo.sparse.bits < 0.45 * dense_bits
    model = EngineModel(geo, None)
    assert geo.spike_steps.mean() < 0.25 * 128 and model.cycles_per_spike == geo.sparse.row_lengths.max()
    assert model.weights_line.startswith("sparse: ")
    kinds = {m.kind: m for m in network_memories(mlp(w), implement(mlp(w)))}
    assert kinds["weights"].bits + kinds["row starts"].bits == geo.sparse.bits == geo.weight_bits  # no code table
    assert kinds["accumulators"].count == 2  # the lane's RAM of both banks, a copy per read port


def test_auto_keeps_dense_weights_dense():
    rng = np.random.default_rng(1)
    full = rng.integers(1, 8, (64, 100)) * rng.choice([-1, 1], (64, 100))
    assert geometry(mlp(full).layers[0], 1).sparse is None  # no zeros: sparse costs more
    assert geometry(mlp(full).layers[0], 1, "sparse").sparse is not None  # unless asked for
    pruned = full * (rng.random(full.shape) < 0.2)
    assert geometry(mlp(pruned).layers[0], 1).sparse is not None
    assert geometry(mlp(pruned).layers[0], 1, "dense").sparse is None
    # many lanes pad every row to its longest lane list: 80% pruning no longer pays at 32 lanes
    assert geometry(mlp(pruned).layers[0], 32).sparse is None
    assert geometry(mlp(np.sign(full), bits=1).layers[0], 1, "sparse").sparse is None  # binary: no zeros
    # the report says why each stays dense, with what sparse rows would cost
    assert weights_line(mlp(full).layers[0], 1).startswith("dense (fewer bits): sparse would take ")
    assert weights_line(mlp(pruned).layers[0], 1, "dense").startswith(
        "dense (--weights dense): sparse would take ")
    assert weights_line(mlp(pruned).layers[0], 32).startswith("dense (fewer ")
    assert weights_line(mlp(np.sign(full), bits=1).layers[0], 1) == "dense (binary weights have no zeros)"
    assert weights_line(mlp(full).layers[0], 1, "sparse").endswith("(--weights sparse)")


def test_weights_option_and_its_notes(tmp_path):
    specs, _ = case_specs(3)  # a convolution first, then dense layers
    model = random_model(np.random.default_rng(3), 8, specs)
    onnx.save(model, tmp_path / "m.onnx")
    net = compile_model(tmp_path / "m.onnx")
    impl = implement(net, 1, "sparse")
    assert isinstance(net.layers[0], ir.Conv2d) and all(li.weights == "sparse" for li in impl)
    assert all(m.weights_line.endswith("(--weights sparse)") for m in network_models(net, impl))
    with pytest.raises(SnncError, match="--weights must be one of auto, dense, sparse"):
        implement(net, 1, "csr")


def pruned_case(i: int, tmp_path, keep: float, by_magnitude: bool = False):
    """An active random network of case i with its synapses (dense and convolutions) pruned to
    `keep` of their weights and stored sparse."""
    specs, lanes = case_specs(i)
    for attempt in range(80):
        rng = np.random.default_rng(50_000 + i * 7919 + attempt)
        model = random_model(rng, int(rng.integers(4, 20)), specs)
        onnx.save(model, tmp_path / f"case{i}.onnx")
        net = compile_model(tmp_path / f"case{i}.onnx")
        layers = tuple(replace(layer, weight=prune(layer.weight, keep, rng, by_magnitude))
                       if isinstance(layer, (ir.Dense, ir.Conv2d)) and layer.weight_bits > 1 else layer
                       for layer in net.layers)
        net = ir.validate(replace(net, layers=layers))
        x = random_spikes(rng, model, 8, 2)
        out, trace = golden.run(net, x, trace=True)
        if all(trace.outputs[lif.name].any() for lif in net.lifs):
            return net, x, lanes, out, trace
    raise AssertionError(f"no active pruned network for case {i}")


slow = pytest.mark.slow


@pytest.mark.parametrize("i, keep, single_bank, by_magnitude", [
    (2, 0.5, False, False), (5, 0.2, False, False), (6, 0.3, True, False), (13, 0.5, True, False),
    (2, 0.2, False, True), (3, 0.3, True, True),
    *(pytest.param(*case, marks=slow) for case in ((1, 0.3, False, False), (3, 0.3, False, False), (7, 0.4, True, False),
                                                   (9, 0.4, False, False), (11, 0.3, False, False), (14, 0.2, False, False),
                                                   (15, 0.5, False, False), (9, 0.2, False, True)))])
def test_pruned_networks_on_the_sparse_engine_equal_golden(i, keep, single_bank, by_magnitude, tmp_path):
    """Random or magnitude pruning; the latter leaves a few large values per layer, stored as
    codes into a table of them (SparseRows.values)."""
    net, x, lanes, out, trace = pruned_case(i, tmp_path, keep, by_magnitude)
    banks = frozenset(lif.name for lif in net.lifs) if single_bank else frozenset()
    impl = with_banks(implement(net, lanes, "sparse"), net, banks)
    geos = network_geometry(net, impl)
    assert any(g.sparse is not None for g in geos)
    assert not by_magnitude or any(g.sparse is not None and g.sparse.values is not None for g in geos)
    result = rtl.run(net, x, impl, simulator="verilator", work_dir=tmp_path / "rtl")
    np.testing.assert_array_equal(result.outputs, out.reshape(result.outputs.shape))
    for name, states in expected_final_states(net, trace).items():
        np.testing.assert_array_equal(result.final_states[name], states, err_msg=f"final states of {name}")
    check_cycles(net, x, impl, trace, result)


@pytest.mark.parametrize("kind,on,k,lanes,by_magnitude", [("max", "currents", 2, 2, False), ("avg", "spikes", 3, 1, False),
                                                          pytest.param("max", "currents", 3, 1, True, marks=slow)])
def test_pruned_conv_nets_with_pools_on_the_sparse_engine(kind, on, k, lanes, by_magnitude, tmp_path):
    """A convolution's lists are (input channel, kernel tap): a spike walks its taps, each tap its
    entry rows, into the pooled accumulator grid; spikes, states, cycle bounds and counters equal."""

    net, x, _, _, _ = active_pool_case(kind, on, k, tmp_path, t_steps=6, batch=2)
    rng = np.random.default_rng(k * 10 + lanes)
    net = ir.validate(replace(net, layers=tuple(
        replace(layer, weight=prune(layer.weight, 0.5, rng, by_magnitude))
        if isinstance(layer, (ir.Dense, ir.Conv2d)) and layer.weight_bits > 1 else layer for layer in net.layers)))
    impl = implement(net, lanes, "sparse")
    geos = network_geometry(net, impl)
    assert any(g.sparse is not None and g.kh * g.kw > 1 for g in geos)
    out, trace = golden.run(net, x, trace=True)
    result = rtl.run(net, x, impl, simulator="verilator", work_dir=tmp_path / "rtl")
    np.testing.assert_array_equal(result.outputs, out.reshape(result.outputs.shape))
    for name, states in expected_final_states(net, trace).items():
        np.testing.assert_array_equal(result.final_states[name], states, err_msg=f"final states of {name}")
    check_cycles(net, x, impl, trace, result)


def test_conv_spike_cycles_walk_the_taps():
    """A convolution's spike costs, over the kernel taps it feeds, max(1, the tap's entry rows)."""
    rng = np.random.default_rng(4)
    w = rng.integers(-7, 8, (6, 2, 3, 3)) * (rng.random((6, 2, 3, 3)) < 0.3)
    conv = ir.Conv2d("conv", w, np.zeros(6, np.int64), np.zeros(6, np.int64), 4, (2, 5, 5), 1, 1, 12, 12)
    geo = geometry(conv, 2, "sparse")
    rows = geo.sparse.row_lengths.reshape(2, 3, 3)
    for c, y, x in [(0, 0, 0), (1, 2, 2), (1, 4, 1)]:
        taps = [(ky, kx) for _, ky in geo.row_taps[y] for _, kx in geo.col_taps[x]]
        assert geo.spike_steps[c, y, x] == sum(rows[c, ky, kx] for ky, kx in taps)
        assert EngineModel(geo, None).spike_cycles[c, y, x] == max(1, sum(max(1, rows[c, ky, kx]) for ky, kx in taps))
    dense = geometry(conv, 2, "dense")
    assert dense.spike_steps[0, 2, 2] == 9 * 3 and dense.spike_steps[0, 0, 0] == 4 * 3


def test_cli_builds_a_sparse_design_that_runs(tmp_path, capsys):
    """snnc compile --weights sparse: the report says which layers and why, the build folder holds
    the row-start images, and simulate --engine rtl equals golden."""
    import json

    from netgen import float_mlp_model
    from snnc.cli import main

    model = float_mlp_model(tmp_path / "m.onnx", np.random.default_rng(0))
    build = tmp_path / "b"
    assert main(["compile", str(model), "--bits", "4", "--weights", "sparse", "--lanes", "2", "-o", str(build)]) == 0
    assert (build / "layer0_weights_starts.mem").is_file()
    capsys.readouterr()
    assert main(["report", str(build), "--no-synth"]) == 0
    assert "weights sparse: " in capsys.readouterr().out
    assert main(["report", str(build), "--no-synth", "--json"]) == 0
    layers = json.loads(capsys.readouterr().out)["design"]["layers"]
    assert all(d["weights"].startswith("sparse") for d in layers)
    x = (np.random.default_rng(1).random((10, 3, 24)) < 0.4).astype(np.uint8)
    np.save(tmp_path / "x.npy", x)
    for engine in ("golden", "rtl"):
        assert main(["simulate", str(build), "--input", str(tmp_path / "x.npy"), "--output",
                     str(tmp_path / f"{engine}.npy"), "--engine", engine]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "rtl.npy"), np.load(tmp_path / "golden.npy"))
    with pytest.raises(SystemExit) as usage:  # argparse's choices: a usage error
        main(["compile", str(model), "--weights", "csr", "-o", str(tmp_path / "c")])
    assert usage.value.code == 2
