"""NIR graphs: `snnc compile model.nir` against NIR's semantics as docs/interop.md states them (a
float64 reference below, written from those equations), against snnTorch's and Norse's own
simulations of the same file (their NIR importers), and through the RTL; bad graphs are one line."""
import shutil
from dataclasses import replace
from pathlib import Path
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

nir = pytest.importorskip("nir")
torch = pytest.importorskip("torch")
F = torch.nn.functional

from rtl_cases import rtl_equals_golden  # noqa: E402
from snnc.compiler.layer_impl import implement  # noqa: E402
from snnc.cli import main  # noqa: E402
from snnc.compiler import Options, SnncError, compile_model  # noqa: E402
from snnc.sim import golden, rtl  # noqa: E402


def loops(graph) -> dict:
    """{id(neuron node): its recurrent Affine or Linear}: the edges neuron -> synapse -> neuron."""
    edges = {tuple(e) for e in graph.edges}
    return {id(graph.nodes[a]): graph.nodes[b] for a, b in edges
            if (b, a) in edges and isinstance(graph.nodes[b], (nir.Affine, nir.Linear))}


def chain(graph) -> list:
    """The graph's nodes from its Input's successor to its Output's predecessor (recurrent loops aside)."""
    back = {id(v) for v in loops(graph).values()}
    succ = {a: b for a, b in graph.edges if id(graph.nodes[b]) not in back}
    name = next(n for n, node in graph.nodes.items() if isinstance(node, nir.Input))
    out = []
    while not isinstance(graph.nodes[succ[name]], nir.Output):
        name = succ[name]
        out.append(graph.nodes[name])
    return out


def reference(graph, spikes: np.ndarray, dt: float) -> np.ndarray:
    """docs/interop.md's discrete NIR semantics in float64: spikes [T, B, *in] -> [T, B, n_out]."""
    nodes, t_steps, back = chain(graph), spikes.shape[0], loops(graph)
    d = lambda a: torch.as_tensor(np.asarray(a, np.float64))
    state, out = {}, []
    for t in range(t_steps):
        x = d(spikes[t])
        for i, n in enumerate(nodes):
            if isinstance(n, (nir.Affine, nir.Linear)):
                x = x @ d(n.weight).T + (d(n.bias) if isinstance(n, nir.Affine) else 0)
            elif isinstance(n, nir.Conv2d):
                x = F.conv2d(x, d(n.weight), d(n.bias), stride=n.stride, padding=n.padding)
            elif isinstance(n, (nir.SumPool2d, nir.AvgPool2d)):
                k = int(np.asarray(n.kernel_size).reshape(-1)[0])
                x = F.avg_pool2d(x, k) * (k * k if isinstance(n, nir.SumPool2d) else 1)
            elif isinstance(n, nir.Flatten):
                x = x.reshape(x.shape[0], -1)
            else:
                p = lambda f: d(getattr(n, f)).reshape(x.shape[1:]) if np.size(getattr(n, f)) > 1 else d(getattr(n, f))
                v = state.get(i, torch.zeros_like(x))
                if id(n) in back:  # the sum of its inputs: the spikes of the step before, through their weights
                    r, s_prev = back[id(n)], state.get((i, "spikes"), torch.zeros_like(x))
                    x = x + s_prev @ d(r.weight).T + (d(r.bias) if isinstance(r, nir.Affine) else 0)
                if isinstance(n, (nir.IF, nir.I)):
                    v = v + dt * p("r") * x
                else:
                    cuba = isinstance(n, (nir.CubaLIF, nir.CubaLI))
                    tau = p("tau_mem" if cuba else "tau")
                    if cuba:  # the synaptic current's Euler step, then the membrane's with it
                        syn = state.get((i, "syn"), torch.zeros_like(x))
                        x = state[(i, "syn")] = (1 - dt / p("tau_syn")) * syn + dt / p("tau_syn") * p("w_in") * x
                    v = (1 - dt / tau) * v + dt / tau * (p("v_leak") + p("r") * x)
                if isinstance(n, (nir.LI, nir.I, nir.CubaLI)):  # a readout: the membrane is the output
                    state[i] = x = v
                    continue
                x = state[(i, "spikes")] = (v > p("v_threshold")).double()
                state[i] = v * (1 - x)
        out.append(x.reshape(x.shape[0], -1).numpy())
    out = np.stack(out)
    return out if isinstance(nodes[-1], (nir.LI, nir.I, nir.CubaLI, nir.Affine, nir.Linear)) else out.astype(np.uint8)


def dyadic(rng, shape, bits=4, exp=-3) -> np.ndarray:
    """Weights on a power-of-two grid (so snnc keeps them exactly), float32 as exporters write them."""
    hi = (1 << (bits - 1)) - 1
    return (rng.integers(-hi, hi + 1, shape) * 2.0 ** exp).astype(np.float32)


DT = 2.0 ** -10  # a time step that makes tau = dt/(1-beta) and r = tau/dt exact in float32


def lif(n, beta: float, theta=1.0, dt=DT, **kw) -> "nir.LIF":
    """A NIR LIF written as snnTorch's exporter writes a Leaky: tau = dt/(1-beta), r = tau/dt."""
    tau = np.full(n, dt / (1 - beta), np.float32)
    return nir.LIF(tau=tau, r=(tau / dt).astype(np.float32), v_leak=kw.get("v_leak", np.zeros(n, np.float32)),
                   v_threshold=np.broadcast_to(np.float32(theta), (n,)).astype(np.float32),
                   v_reset=kw.get("v_reset", np.zeros(n, np.float32)))


def sequential(nodes: dict, input_shape) -> "nir.NIRGraph":
    names = list(nodes)
    return nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array(input_shape)), **nodes,
                               "output": nir.Output(output_type=list(nodes.values())[-1].output_type["output"])},
                        edges=list(zip(["input"] + names, names + ["output"])), type_check=False)


def compiled(graph, tmp_path, dt: float, **opts):
    path = tmp_path / "g.nir"
    nir.write(path, graph)
    return compile_model(path, Options(dt=dt, **opts))


def mlp_graph(rng, sizes=(12, 10, 4), betas=(0.75, 0.5)) -> "nir.NIRGraph":
    nodes = {}
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        nodes[f"fc{i}"] = nir.Affine(dyadic(rng, (n_out, n_in)), dyadic(rng, n_out, bits=3, exp=-4))
        nodes[f"lif{i}"] = lif(n_out, betas[i])
    return sequential(nodes, [sizes[0]])


def spikes(rng, shape, rate=0.4) -> np.ndarray:
    return (rng.random(shape) < rate).astype(np.uint8)


def agreement(a, b) -> float:
    return float((a == b).mean())


# ---- NIR's semantics -----------------------------------------------------------------------------

def test_per_neuron_tau_is_a_leak_per_channel(tmp_path):
    """tau per neuron of a dense layer (NIR's own snnTorch/Norse example writes one per neuron): one
    leak per neuron, exact against NIR's equations where the values are on the grid."""
    rng = np.random.default_rng(9)
    graph = mlp_graph(rng)
    betas = np.array([0.5, 0.75, 0.875, 0.9375, 0.5, 0.75, 0.25, 0.625, 0.5, 0.75])
    tau = (DT / (1 - betas)).astype(np.float32)
    graph.nodes["lif0"] = nir.LIF(tau=tau, r=(tau / DT).astype(np.float32), v_leak=np.zeros(10, np.float32),
                                  v_threshold=np.ones(10, np.float32), v_reset=np.zeros(10, np.float32))
    net = compiled(graph, tmp_path, DT)
    assert net.lifs[0].leak_per_channel and list(net.lifs[0].leak_b / 2 ** net.lifs[0].leak_f) == list(betas)
    x = spikes(rng, (16, 8, 12))
    graph.nodes["lif0"].tau = graph.nodes["lif0"].r = 1 / (1 - betas)  # the values the float32 file stands for
    graph.nodes["lif1"].tau = graph.nodes["lif1"].r = np.full(4, 2.0)
    assert np.array_equal(golden.run(net, x), reference(graph, x, 1.0))


def test_dotted_names_and_nested_chains(tmp_path):
    """Node names with dots ("block.fc") name nodes, not ports; a nested graph that is a chain is
    flattened into its parent (edges to "block" or "block.input"); all compute the plain graph."""
    rng = np.random.default_rng(8)
    plain = mlp_graph(rng)
    x = spikes(rng, (12, 6, 12))
    want = golden.run(compiled(plain, tmp_path, DT), x)
    dotted = sequential({f"block.{k}": v for k, v in plain.nodes.items() if k not in ("input", "output")}, [12])
    assert np.array_equal(golden.run(compiled(dotted, tmp_path, DT), x), want)
    inner = {k: v for k, v in plain.nodes.items() if k not in ("input", "output")}
    for into in ("block", "block.input"):
        block = nir.NIRGraph(nodes={"input": nir.Input(np.array([12])), **inner, "output": nir.Output(np.array([4]))},
                             edges=list(zip(["input", *inner], [*inner, "output"])), type_check=False)
        nested = nir.NIRGraph(nodes={"input": nir.Input(np.array([12])), "block": block,
                                     "output": nir.Output(np.array([4]))},
                              edges=[("input", into), ("block.output", "output")], type_check=False)
        net = compiled(nested, tmp_path, DT)
        assert [lif.name for lif in net.lifs] == ["block.lif0", "block.lif1"]
        assert np.array_equal(golden.run(net, x), want)



def test_exact_while_the_grid_holds_every_fraction(tmp_path):
    """beta 1/2 adds one fraction bit per step to weights of 2**-3: 12 steps stay within the state grid
    of 2**-16 (and float32), so every spike matches; IF (beta 1) is exact at any length."""
    rng = np.random.default_rng(1)
    g = mlp_graph(rng, betas=(0.5, 0.5))
    x = spikes(rng, (12, 16, 12))
    want, got = reference(g, x, DT), golden.run(compiled(g, tmp_path, DT), x)
    assert want.sum() > 10
    np.testing.assert_array_equal(got, want)

    nodes = {"fc": nir.Linear(dyadic(rng, (8, 12))), "if": nir.IF(r=np.full(8, 2.0, np.float32),
                                                                     v_threshold=np.full(8, 0.75, np.float32))}
    g = sequential(nodes, [12])
    x = spikes(rng, (60, 8, 12))
    want, got = reference(g, x, 0.5), golden.run(compiled(g, tmp_path, 0.5), x)  # gain dt r = 1
    assert want.sum() > 10
    np.testing.assert_array_equal(got, want)


def test_fires_strictly_above_the_threshold(tmp_path):
    """v = theta exactly does not fire in NIR (z = v > v_thr); the dialect's u >= theta would."""
    g = sequential({"fc": nir.Linear(np.ones((1, 1), np.float32)),
                    "if": nir.IF(r=np.ones(1, np.float32), v_threshold=np.ones(1, np.float32))}, [1])
    x = np.ones((4, 1, 1), np.uint8)
    np.testing.assert_array_equal(golden.run(compiled(g, tmp_path, 1.0), x).ravel(), [0, 1, 0, 1])


@pytest.mark.parametrize("seed", range(3))
def test_conv_pool_graphs_with_per_neuron_parameters(seed, tmp_path):
    """Conv2d (stride, padding) -> SumPool2d of currents -> LIF with per-channel thresholds, r and
    v_leak -> AvgPool2d of spikes -> Flatten -> Affine -> CubaLIF (tau_syn = dt), on the float
    state grid: at least 99.9% of spikes as the reference."""
    rng = np.random.default_rng(seed)
    c, dt = 4, DT
    per_channel = lambda values: np.repeat(np.asarray(values, np.float32), 16).reshape(c, 4, 4)
    theta = per_channel(rng.choice([0.5, 1.0, 2.0], c))
    conv_lif = nir.LIF(tau=np.full((c, 4, 4), 4 * dt, np.float32), r=per_channel(rng.choice([1.0, 2.0], c)),
                       v_leak=per_channel(rng.choice([0.0, 0.25], c)), v_threshold=theta,
                       v_reset=np.zeros((c, 4, 4), np.float32))
    nodes = {"conv": nir.Conv2d((8, 8), dyadic(rng, (c, 2, 3, 3)), 1, 1, 1, 1, dyadic(rng, c, 3, -4)),
             "sum": nir.SumPool2d(np.array([2, 2]), np.array([2, 2]), np.array([0, 0])),
             "lif0": conv_lif,
             "avg": nir.AvgPool2d(np.array([2, 2]), np.array([2, 2]), np.array([0, 0])),
             "flat": nir.Flatten(input_type=None, start_dim=0, end_dim=-1),
             "fc": nir.Affine(dyadic(rng, (5, c * 4)), np.zeros(5, np.float32)),
             "cuba": nir.CubaLIF(tau_syn=np.full(5, dt, np.float32), tau_mem=np.full(5, 2 * dt, np.float32),
                                 r=np.full(5, 2.0, np.float32), v_leak=np.zeros(5, np.float32),
                                 v_threshold=np.full(5, 0.5, np.float32), w_in=np.full(5, 2.0, np.float32))}
    g = sequential(nodes, [2, 8, 8])
    g.infer_types()  # the pools' and the flatten's shapes, which nir.write needs
    x = spikes(rng, (20, 6, 2, 8, 8), 0.3)
    want, got = reference(g, x, dt), golden.run(compiled(g, tmp_path, dt), x)
    assert want.sum() > 10
    assert agreement(got, want) >= 0.999


def random_graph(rng, conv: bool, current_pool: str | None, spike_pool: bool, neuron: str) -> "nir.NIRGraph":
    """A random chain on which the docs' semantics is exact in float64 and on snnc's grid: weights on
    2**-3, biases on 2**-4, gains and threshold ratios powers of two, beta 1/2 (for at most 8 steps)
    or IF."""
    def cell(shape):
        pow2 = lambda lo, hi: 2.0 ** rng.integers(lo, hi + 1, shape[:1])
        per = lambda values: np.broadcast_to(values.reshape((-1,) + (1,) * (len(shape) - 1)), shape).astype(np.float32)
        theta = per(pow2(-1, 1))
        if neuron == "IF":
            return nir.IF(r=per(pow2(0, 2) / DT), v_threshold=theta)  # gain dt r = 1, 2 or 4
        v_leak = per(rng.choice([0.0, 0.25, -0.5], shape[0]))
        return nir.LIF(tau=np.full(shape, 2 * DT, np.float32), r=per(pow2(0, 1)), v_leak=v_leak, v_threshold=theta,
                       v_reset=np.zeros(shape, np.float32))

    nodes, shape = {}, ((2, 8, 8) if conv else (12,))
    if conv:
        c, stride, pad = int(rng.integers(2, 5)), int(rng.integers(1, 3)), int(rng.integers(0, 2))
        nodes["conv"] = nir.Conv2d((8, 8), dyadic(rng, (c, 2, 3, 3)), stride, pad, 1, 1, dyadic(rng, c, 3, -4))
        hw = (8 + 2 * pad - 3) // stride + 1
        if current_pool:
            nodes["pool0"] = (nir.SumPool2d if current_pool == "sum" else nir.AvgPool2d)(
                np.array([2, 2]), np.array([2, 2]), np.array([0, 0]))
            hw //= 2
        nodes["n0"] = cell((c, hw, hw))
        if spike_pool and hw >= 2:
            nodes["pool1"] = nir.AvgPool2d(np.array([2, 2]), np.array([2, 2]), np.array([0, 0]))
            hw //= 2
        nodes["flat"] = nir.Flatten(input_type={"input": np.array([c, hw, hw])}, start_dim=0)
        shape = (c * hw * hw,)
    n_out = int(rng.integers(2, 8))
    nodes["fc"] = nir.Affine(dyadic(rng, (n_out, shape[0])), dyadic(rng, n_out, 3, -4))
    nodes["n1"] = cell((n_out,))
    g = sequential(nodes, [2, 8, 8] if conv else [12])
    g.infer_types()
    return g


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31 - 1), conv=st.booleans(), current_pool=st.sampled_from([None, "sum", "avg"]),
       spike_pool=st.booleans(), neuron=st.sampled_from(["IF", "LIF"]))
def test_random_graphs_are_exact(seed, conv, current_pool, spike_pool, neuron, tmp_path):
    """Property: on random chains whose values stay on the grid, snnc equals the docs' equations."""
    rng = np.random.default_rng(seed)
    g = random_graph(rng, conv, current_pool if conv else None, spike_pool, neuron)
    x = spikes(rng, (8, 4, *((2, 8, 8) if conv else (12,))), 0.4)
    want = reference(g, x, DT)
    got = golden.run(compiled(g, tmp_path, DT), x)
    np.testing.assert_array_equal(got.reshape(want.shape), want)


# ---- the frameworks' own simulations of the same file --------------------------------------------

# the frameworks call nirtorch.extract_nir_graph and nirtorch.load, which nirtorch 2 deprecates
@pytest.mark.filterwarnings("ignore:nirtorch.extract_nir_graph:DeprecationWarning")
@pytest.mark.filterwarnings("ignore:nirtorch.load:DeprecationWarning")
def test_snntorch_exporter_round_trip(tmp_path):
    """snnTorch Leaky -> export_to_nir -> file -> snnc, against snnTorch's import_from_nir of that
    file (zero reset, no reset delay: what its exporter makes of a Leaky)."""
    snn = pytest.importorskip("snntorch")
    pytest.importorskip("nirtorch")
    from snntorch.export_nir import export_to_nir
    from snntorch.import_nir import import_from_nir
    from snntorch import utils

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    fc1, fc2 = torch.nn.Linear(16, 12), torch.nn.Linear(12, 5)
    for fc in (fc1, fc2):
        with torch.no_grad():
            fc.weight.copy_(torch.from_numpy(dyadic(rng, tuple(fc.weight.shape))))
            fc.bias.copy_(torch.from_numpy(dyadic(rng, tuple(fc.bias.shape), 3, -4)))
    # per-neuron beta and threshold: the exporter's NIR graph type-checks only with them
    net = torch.nn.Sequential(fc1, snn.Leaky(beta=torch.full((12,), 0.75), threshold=torch.ones(12), init_hidden=True),
                              fc2, snn.Leaky(beta=torch.full((5,), 0.5), threshold=torch.ones(5), init_hidden=True,
                                             output=True))
    graph = export_to_nir(net, torch.zeros(16))
    nir.write(tmp_path / "snntorch.nir", graph)
    assert main(["compile", str(tmp_path / "snntorch.nir"), "--dt", "1e-4", "-o", str(tmp_path / "b")]) == 0

    x = spikes(rng, (40, 32, 16), 0.3)
    imported = import_from_nir(nir.read(tmp_path / "snntorch.nir"))
    utils.reset(imported)
    with torch.no_grad():
        theirs = np.stack([imported(torch.from_numpy(x[t]).float())[0].numpy() for t in range(len(x))])
    ours = golden.run(compile_model(tmp_path / "snntorch.nir", Options(dt=1e-4)), x)
    assert theirs.sum() > 50
    assert agreement(ours, theirs) >= 0.999
    # NIR's semantics as the docs state them, with the parameters the file's float32 values stand
    # for (beta 3/4 and 1/2, gain 1): the reference in float64 at dt = 1, tau = r = 1/(1 - beta)
    for name, beta in (("1", 0.75), ("3", 0.5)):
        graph.nodes[name].tau = graph.nodes[name].r = np.full(graph.nodes[name].tau.shape, 1 / (1 - beta))
    assert agreement(ours, reference(graph, x, 1.0)) >= 0.999


def test_snntorch_exports_a_nested_sequential_with_dotted_names(tmp_path):
    """snnTorch names a nested Sequential's nodes "0.0", "0.1": they are nodes, not ports, and the
    graph computes what the same layers exported flat compute."""
    snn = pytest.importorskip("snntorch")
    pytest.importorskip("nirtorch")
    from snntorch.export_nir import export_to_nir

    torch.manual_seed(1)
    fc1, fc2 = torch.nn.Linear(16, 12), torch.nn.Linear(12, 5)
    with torch.no_grad():
        fc1.weight.mul_(6)
        fc2.weight.mul_(6)
    leaky = lambda n, beta, **kw: snn.Leaky(beta=torch.full((n,), beta), threshold=torch.ones(n), init_hidden=True, **kw)
    nested = torch.nn.Sequential(torch.nn.Sequential(fc1, leaky(12, 0.75)), fc2, leaky(5, 0.5, output=True))
    flat = torch.nn.Sequential(fc1, leaky(12, 0.75), fc2, leaky(5, 0.5, output=True))
    x = spikes(np.random.default_rng(1), (20, 8, 16), 0.5)
    runs = []
    for name, net in (("nested", nested), ("flat", flat)):
        graph = export_to_nir(net, torch.zeros(16))
        nir.write(tmp_path / f"{name}.nir", graph)
        runs.append(golden.run(compile_model(tmp_path / f"{name}.nir", Options(dt=1e-4)), x))
    assert "0.0" in export_to_nir(nested, torch.zeros(16)).nodes and runs[0].sum() > 0
    np.testing.assert_array_equal(runs[0], runs[1])


@pytest.mark.filterwarnings("ignore:nirtorch.extract_nir_graph:DeprecationWarning")
@pytest.mark.filterwarnings("ignore:nirtorch.load:DeprecationWarning")
def test_norse_exporter_round_trip(tmp_path):
    """Norse LIFBoxCell -> to_nir -> file -> snnc, against Norse's from_nir of that file at dt = 1e-3."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # norse's torch.jit.script on import
        nt = pytest.importorskip("norse.torch")
    torch.manual_seed(0)
    rng = np.random.default_rng(2)
    # Norse writes tau = dt / tau_mem_inv (not 1 / tau_mem_inv): tau_mem_inv 0.5 becomes tau 2e-3,
    # which its own from_nir reads back as dt/tau = 0.5, so beta 1/2
    cell = lambda n: nt.LIFBoxCell(nt.LIFBoxParameters(tau_mem_inv=torch.full((n,), 0.5), v_th=torch.full((n,), 0.5),
                                                       v_leak=torch.zeros(n), v_reset=torch.zeros(n)))
    fc1, fc2 = torch.nn.Linear(16, 12), torch.nn.Linear(12, 5)
    for fc in (fc1, fc2):
        with torch.no_grad():
            fc.weight.copy_(torch.from_numpy(dyadic(rng, tuple(fc.weight.shape))))
            fc.bias.copy_(torch.from_numpy(dyadic(rng, tuple(fc.bias.shape), 3, -4)))
    graph = nt.to_nir(nt.SequentialState(fc1, cell(12), fc2, cell(5)), torch.zeros(1, 16))
    nir.write(tmp_path / "norse.nir", graph)
    x = spikes(rng, (40, 32, 16), 0.4)
    model, state, theirs = nt.from_nir(nir.read(tmp_path / "norse.nir", type_check=False), dt=1e-3), None, []
    with torch.no_grad():
        for t in range(len(x)):
            z, state = model(torch.from_numpy(x[t]).float(), state)
            theirs.append(z.numpy())
    theirs = np.stack(theirs)
    ours = golden.run(compile_model(tmp_path / "norse.nir", Options(dt=1e-3)), x)
    assert theirs.sum() > 50
    assert agreement(ours, theirs) >= 0.999


def test_the_rtl_runs_a_nir_graph(tmp_path):
    from snnc.sim import rtl

    rng = np.random.default_rng(4)
    g = mlp_graph(rng, sizes=(16, 10, 4))
    net = compiled(g, tmp_path, DT)
    x = spikes(rng, (10, 2, 16))
    want = golden.run(net, x)
    got = rtl.run(net, x, implement(net, 2), work_dir=tmp_path / "rtl")
    assert want.sum() > 0
    np.testing.assert_array_equal(got.outputs, want.reshape(got.outputs.shape))


# ---- what snnc refuses, in one line --------------------------------------------------------------

def _mlp_with(**changes):
    rng = np.random.default_rng(0)
    g = mlp_graph(rng)
    g.nodes.update(changes)
    return g


def _with(graph, name: str, **fields):
    """`graph` with fields of node `name` set after construction, as a hostile file may hold them."""
    for key, value in fields.items():
        setattr(graph.nodes[name], key, value)
    return graph


BAD_GRAPHS = {
    "unsupported": (lambda: _mlp_with(lif0=nir.Threshold(np.ones(10, np.float32))), "node 'lif0' (Threshold): not supported"),
    "v_reset": (lambda: _mlp_with(lif0=lif(10, 0.5, v_reset=np.full(10, 0.25, np.float32))), "node 'lif0' (LIF): v_reset"),
    "tau within a channel": (lambda: sequential(
        {"conv": nir.Conv2d((4, 4), np.ones((2, 1, 3, 3), np.float32), 1, 1, 1, 1, np.zeros(2, np.float32)),
         "lif": nir.LIF(np.linspace(2e-4, 4e-4, 32).reshape(2, 4, 4).astype(np.float32), np.ones((2, 4, 4), np.float32),
                        np.zeros((2, 4, 4), np.float32), np.ones((2, 4, 4), np.float32))}, [1, 4, 4]),
        "node 'lif' (LIF): tau differs within a channel"),
    "unstable": (lambda: _mlp_with(lif0=nir.LIF(np.full(10, 1e-5, np.float32), np.ones(10, np.float32),
                                                np.zeros(10, np.float32), np.ones(10, np.float32))),
                 "node 'lif0' (LIF): dt/tau = 97.6562 is outside [0, 1]"),
    "cuba leak": (lambda: _mlp_with(lif0=nir.CubaLIF(*(np.full(10, v, np.float32) for v in (4 * DT, 2 * DT, 1, 0.5, 1)))),
                  "node 'lif0' (CubaLIF): v_leak with a synaptic current"),
    "cuba tau_syn": (lambda: _mlp_with(lif0=nir.CubaLIF(np.linspace(4 * DT, 5 * DT, 10).astype(np.float32),
                                                        *(np.full(10, v, np.float32) for v in (2 * DT, 1, 0, 1)))),
                     "node 'lif0' (CubaLIF): tau_syn differs between neurons"),
    "nan weight": (lambda: _mlp_with(fc1=nir.Affine(np.full((4, 10), np.nan, np.float32), np.zeros(4, np.float32))),
                   "node 'fc1' (Affine): weight holds NaN"),
    "shape": (lambda: _mlp_with(fc1=nir.Affine(np.ones((4, 9), np.float32), np.zeros(4, np.float32))),
              "node 'fc1' (Affine): weight [4, 9] does not take the input of shape [10]"),
    "recurrent": (lambda: nir.NIRGraph(nodes=_mlp_with().nodes, edges=_mlp_with().edges + [("lif0", "fc0")],
                                       type_check=False), "node 'lif0' (LIF) feeds itself through 'fc0' (Affine): snnc's recurrent layer is a spiking "
                                                          "neuron (LIF, IF, CubaLIF) whose spikes come back through one Affine"),
    "self-loop": (lambda: nir.NIRGraph(nodes=_mlp_with().nodes, edges=_mlp_with().edges + [("lif0", "lif0")],
                                       type_check=False), "node 'lif0' (LIF) feeds itself directly"),
    "nested recurrent": (lambda: _mlp_with(lif0=nir.NIRGraph(
        nodes={"i": nir.Input(np.array([10])), "fc": nir.Linear(np.eye(10, dtype=np.float32)), "lif": lif(10, 0.5),
               "o": nir.Output(np.array([10]))}, edges=[("i", "fc"), ("fc", "lif"), ("lif", "fc"), ("lif", "o")],
        type_check=False)), "node 'lif0.lif' (LIF) feeds itself through 'lif0.fc' (Linear): snnc's recurrent"),
    "readout inside": (lambda: _mlp_with(lif0=nir.LI(*(np.full(10, v, np.float32) for v in (4 * DT, 4, 0)))),
                       "layer 'lif0' (LIF): a membrane readout must be the network's last layer"),
    "conv readout": (lambda: sequential(
        {"conv": nir.Conv2d((4, 4), np.ones((2, 1, 3, 3), np.float32), 1, 1, 1, 1, np.zeros(2, np.float32))}, [1, 4, 4]),
        "a membrane readout must be flat"),
    "only a flatten": (lambda: sequential({"f": nir.Flatten(input_type={"input": np.array([2, 3, 3])}, start_dim=0)}, [2, 3, 3]),
                       "the Output must take the spikes of the last neuron"),
    "string bias": (lambda: _with(mlp_graph(np.random.default_rng(0)), "fc0", bias="a"),
                         "node 'fc0' (Affine): bias is not numeric"),
    "string stride": (lambda: _with(sequential({"conv": nir.Conv2d((4, 4), np.ones((2, 1, 3, 3), np.float32), 1, 0, 1, 1,
                                                                   np.zeros(2, np.float32)),
                                                "if": nir.IF(np.ones(8), np.ones(8))}, [1, 4, 4]), "conv", stride="x"),
                      "not a readable NIR graph (TypeError"),  # nir.read's own Conv2d refuses it
    "complex weight": (lambda: _mlp_with(fc1=nir.Affine(np.full((4, 10), 1 + 1j), np.zeros(4, np.float32))),
                       "node 'fc1' (Affine): weight holds complex values"),
    "complex tau": (lambda: _with(mlp_graph(np.random.default_rng(0)), "lif0", tau=np.full(10, 2e-4 + 1e-5j)),
                    "node 'lif0' (LIF): tau holds complex values"),
}


@pytest.mark.parametrize("case", BAD_GRAPHS)
def test_bad_graphs_are_one_line_errors_that_write_nothing(case, tmp_path, capsys):
    make, message = BAD_GRAPHS[case]
    nir.write(tmp_path / "bad.nir", make())
    assert main(["compile", str(tmp_path / "bad.nir"), "--dt", str(DT), "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args, message", [
    ([], "does not state its time step: give --dt"),
    (["--dt", "0"], "--dt must be a finite time step above 0"),
    (["--dt", "nan"], "--dt must be a finite time step above 0"),
])
def test_the_time_step(args, message, tmp_path, capsys):
    nir.write(tmp_path / "m.nir", mlp_graph(np.random.default_rng(0)))
    assert main(["compile", str(tmp_path / "m.nir"), *args, "-o", str(tmp_path / "out")]) == 1
    assert message in capsys.readouterr().err
    for bad, words in (("soon", "metadata 'dt' must be one number of seconds"), (np.array([1e-4, 2e-4]), "one number"),
                       (np.nan, "metadata 'dt' must be a finite time step"), (1e-4 + 1j, "complex")):
        g = mlp_graph(np.random.default_rng(0))
        g.metadata["dt"] = bad
        nir.write(tmp_path / "bad_dt.nir", g)
        assert main(["compile", str(tmp_path / "bad_dt.nir"), "-o", str(tmp_path / "out")]) == 1
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1, (bad, err)
    g = mlp_graph(np.random.default_rng(0))
    g.metadata["dt"] = DT  # a graph that states its step needs no --dt
    nir.write(tmp_path / "dt.nir", g)
    assert main(["compile", str(tmp_path / "dt.nir"), "-o", str(tmp_path / "ok")]) == 0


def test_files_that_are_not_nir_graphs(tmp_path):
    (tmp_path / "junk.nir").write_bytes(b"not hdf5 at all")
    with pytest.raises(SnncError, match="junk.nir: not a readable NIR graph"):
        compile_model(tmp_path / "junk.nir", Options(dt=1e-4))
    with pytest.raises(SnncError, match="missing.nir: no such file"):
        compile_model(tmp_path / "missing.nir", Options(dt=1e-4))
    onnx_path = tmp_path / "m.onnx"
    onnx_path.write_bytes(b"")
    with pytest.raises(SnncError, match="--dt is the time step of a NIR graph"):
        compile_model(onnx_path, Options(dt=1e-4))


HOSTILE = [np.nan, np.inf, -np.inf, 0.0, -1.0, 1e30, "x", 1 + 1j, np.array([]), np.ones((2, 2, 2)), None, [[1.0]]]
FIELDS = {"fc0": ("weight", "bias"), "fc1": ("weight", "bias"), "lif0": ("tau", "r", "v_leak", "v_threshold", "v_reset"),
          "lif1": ("tau", "r", "v_threshold")}


def test_fuzzed_graph_fields_are_one_line_or_exact(tmp_path, capsys):
    """A field of a node set to a value no exporter writes: one line naming the node, exit 1, nothing
    written beside the build; or, where the value is a valid one, a design exact against the reference."""
    rng = np.random.default_rng(5)
    for case in range(40):
        g = mlp_graph(np.random.default_rng(0))
        name = list(FIELDS)[rng.integers(len(FIELDS))]
        field = FIELDS[name][rng.integers(len(FIELDS[name]))]
        value = HOSTILE[rng.integers(len(HOSTILE))]
        setattr(g.nodes[name], field, value)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                nir.write(tmp_path / "f.nir", g)
        except Exception:  # nir itself cannot write it: no file to import
            continue
        capsys.readouterr()
        code = main(["compile", str(tmp_path / "f.nir"), "--dt", str(DT), "-o", str(tmp_path / "out")])
        err = capsys.readouterr().err
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["f.nir"] + (["out"] if code == 0 else [])), case
        if code == 1:
            assert err.count("\n") == 1 and err.startswith("snnc: error: ") and "Traceback" not in err, (case, err)
            continue
        assert code == 0, (case, name, field, value, err)
        x = spikes(np.random.default_rng(case), (8, 3, 12))
        got = golden.run(compile_model(tmp_path / "f.nir", Options(dt=DT)), x)
        np.testing.assert_array_equal(got.reshape(8, 3, -1), reference(g, x, DT), err_msg=f"{name}.{field} = {value!r}")
        shutil.rmtree(tmp_path / "out")


# ---- a published file: the NIR paper's CNN (paper/02_cnn/cnn_sinabs.nir, BSD-3-Clause, NIR Team) ----

SINABS_CNN = Path(__file__).parent / "data" / "cnn_sinabs.nir"


def sinabs_cnn_on_a_grid() -> "nir.NIRGraph":
    """The file with its weights and biases put on a 2**-6 grid (strides and paddings as ints)."""
    graph = nir.read(SINABS_CNN)
    for node in graph.nodes.values():
        if isinstance(node, (nir.Conv2d, nir.Affine)):
            node.weight = np.clip(np.round(node.weight * 64), -127, 127).astype(np.float32) / 64
            node.bias = (np.round(node.bias * 64) / 64).astype(np.float32)
        if isinstance(node, nir.Conv2d):
            node.stride, node.padding = tuple(int(v) for v in node.stride), tuple(int(v) for v in node.padding)
    return graph


def test_the_nir_papers_sinabs_cnn(tmp_path, capsys):
    """The file as sinabs wrote it (integer node names, IF neurons, strided and padded convolutions,
    sum pools): it compiles; with its weights and biases put on a 2**-6 grid, the golden model equals
    NIR's documented equations (float64) spike for spike; read at --dt 1e-4 (not the step its IF
    neurons were made for) it warns, naming the layer and the step that would fire it."""
    graph = sinabs_cnn_on_a_grid()
    x = spikes(np.random.default_rng(3), (12, 2, 2, 34, 34), 0.3)
    ours = golden.run(compiled(graph, tmp_path, 1.0), x)
    theirs = reference(graph, x, 1.0)
    assert theirs.sum() > 5 and np.array_equal(ours.reshape(theirs.shape), theirs)
    assert main(["compile", str(SINABS_CNN), "--dt", "1e-4", "-o", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert "warning: 1 needs 1,751 steps of its strongest input" in out and "at --dt 0.175 it fires in one step" in out


def test_the_rtl_runs_the_sinabs_cnn_with_kernel_columns(tmp_path):
    """The published CNN in Verilator == golden (spikes, final states, counters) with its first and
    third convolutions' kernel columns side by side (a 5x5 kernel at stride 2 and the sum pool
    folded into a stride-2 6x6 one: 3 columns each) and the second on channel lanes."""
    net = compiled(sinabs_cnn_on_a_grid(), tmp_path, 1.0)
    impl = implement(net, ((48, 4), (16, 4), (24, 2), 4, 2))
    assert [li.columns for li in impl] == [3, 1, 3, 1, 1]
    rtl_equals_golden(net, spikes(np.random.default_rng(3), (8, 1, 2, 34, 34), 0.3), impl, tmp_path / "rtl")


@pytest.mark.parametrize("readout", ["LI", "I", "CubaLI", "Affine"])
def test_readouts_match_the_euler_step(readout, tmp_path):
    """A spiking layer, then a readout: LI (leaky), I (an integrator), CubaLI with tau_syn = dt, or
    the synapse's currents straight to the Output.  The leak is floored on the readout's grid (at
    most 1/(1 - beta) LSB off NIR's float64 step, docs/interop.md); without a leak it is exact."""
    rng = np.random.default_rng(7)
    nodes = {"fc0": nir.Affine(dyadic(rng, (10, 12)), dyadic(rng, 10, bits=3, exp=-4)), "lif0": lif(10, 0.75),
             "fc1": nir.Affine(dyadic(rng, (4, 10)), dyadic(rng, 4, bits=3, exp=-4))}
    tau, n = 3 * DT, np.full(4, 1, np.float32)  # beta = 2/3, not a binary fraction: the leak rounds
    nodes.update({"LI": {"out": nir.LI(tau * n, 3 * n, 0 * n)}, "I": {"out": nir.I(n / DT)},
                  "CubaLI": {"out": nir.CubaLI(DT * n, tau * n, 3 * n, 0 * n, 0.5 * n)}, "Affine": {}}[readout])
    graph = sequential(nodes, [12])
    net = compiled(graph, tmp_path, DT)
    out = net.lifs[-1]
    assert out.readout and out.reset == "none"
    x = spikes(rng, (24, 5, 12))
    want = reference(graph, x, DT)
    got = golden.run(net, x) * out.lsb
    beta = out.leak_b / 2 ** out.leak_f
    if beta in (0, 1):
        np.testing.assert_array_equal(got, want)
    else:
        assert np.abs(got - want).max() <= out.lsb / (1 - beta) + 1e-12
    assert np.abs(want).max() > 0.5


@pytest.mark.parametrize("tau_syn_steps", [2, 4, 8])
def test_a_synaptic_current_matches_the_euler_step(tau_syn_steps, tmp_path):
    """CubaLIF with tau_syn = k dt (alpha = 1 - 1/k, exact for k a power of two): a second state per
    neuron, the gains folded into the weights; spikes equal NIR's Euler step."""
    rng = np.random.default_rng(tau_syn_steps)
    n = lambda v: np.full(10, v, np.float32)
    nodes = {"fc0": nir.Affine(dyadic(rng, (10, 12)), dyadic(rng, 10, bits=3, exp=-4)),
             "lif0": nir.CubaLIF(n(tau_syn_steps * DT), n(2 * DT), n(2), n(0), n(1), w_in=n(1)),
             "fc1": nir.Affine(dyadic(rng, (4, 10)), dyadic(rng, 4, bits=3, exp=-4)), "lif1": lif(4, 0.5)}
    graph = sequential(nodes, [12])
    net = compiled(graph, tmp_path, DT)
    assert net.lifs[0].synaptic and not net.lifs[1].synaptic
    assert net.lifs[0].alpha_b / 2 ** net.lifs[0].leak_f == 1 - 1 / tau_syn_steps
    x = spikes(rng, (30, 6, 12))
    want, got = reference(graph, x, DT), golden.run(net, x)
    assert want[..., :].sum() > 0
    np.testing.assert_array_equal(got.reshape(want.shape), want)



BRAILLE = Path(__file__).parent / "data" / "braille_noDelay_bias_zero.nir"
BRAILLES = [BRAILLE, BRAILLE.with_name("braille_noDelay_noBias_subtract.nir")]  # the paper's two noDelay files


def braille_on_the_grid(path=BRAILLE):
    """The Braille RNN with its weights on a 2**-3 grid, its biases on 2**-4, and its time constants
    2 DT with the gains one (alpha = beta = 1/2): each step adds one fraction bit, so 16 steps stay
    on the 2**-20 grid of theta, as in test_exact_while_the_grid_holds_every_fraction."""
    graph = nir.read(path)
    for node in graph.nodes.values():
        if isinstance(node, (nir.Affine, nir.Linear)):
            node.weight = (np.clip(np.round(node.weight * 8), -127, 127) / 8).astype(np.float32)
        if isinstance(node, nir.Affine):
            node.bias = (np.round(node.bias * 16) / 16).astype(np.float32)
    ones = lambda node: np.ones_like(node.tau_mem)
    for name, (syn_steps, mem_steps) in {"lif1.lif": (2, 2), "lif2": (2, 2)}.items():
        node = graph.nodes[name]
        node.tau_syn, node.w_in = syn_steps * DT * ones(node), syn_steps * ones(node)
        node.tau_mem, node.r = mem_steps * DT * ones(node), mem_steps * ones(node)
    return graph


@pytest.mark.parametrize("path", BRAILLES, ids=lambda p: p.stem)
def test_the_nir_papers_braille_rnn_matches_the_euler_step(path, tmp_path, capsys):
    """paper/03_rnn/braille_noDelay_bias_zero.nir and braille_noDelay_noBias_subtract.nir (BSD-3-Clause,
    NIR Team): CubaLIF layers, the first with a recurrent Affine or Linear (lif1.w_rec) from its spikes
    back to its input.  As written, at dt = 1e-4 s, it compiles and its notes state the rounding (8-bit
    weights).  On the grid
    (braille_on_the_grid) golden equals NIR's documented equations (float64) spike for spike while
    the grid holds every fraction (16 steps), the recurrent spikes arriving one step late, and
    without them it would not; over 100 steps the floored leak (docs/interop.md) moves under 1%."""
    assert main(["compile", str(path), "--dt", "1e-4", "-o", str(tmp_path / "as_written")]) == 0
    assert "fc1: float weights quantized to 8 bits" in capsys.readouterr().out
    graph = braille_on_the_grid(path)
    net = compiled(graph, tmp_path, DT)
    assert [type(layer).__name__ for layer in net.layers] == ["Dense", "LIF", "Dense", "LIF"]
    assert net.layers[0].recurrent and net.layers[0].in_shape == (12,) and net.lifs[0].synaptic
    assert not [n for n in net.notes if "rounded" in n or "quantized" in n], net.notes
    x = spikes(np.random.default_rng(5), (100, 8, 12), 0.3)
    want, (got, trace) = reference(graph, x, DT), golden.run(net, x, trace=True)
    np.testing.assert_array_equal(got[:16].reshape(want[:16].shape), want[:16])
    assert agreement(got.reshape(want.shape), want) >= 0.99
    hidden = trace.outputs["lif1.lif"][:16]
    assert want[:16].sum() > 10 and hidden.sum() > 20
    plain = replace(net.layers[0], weight=net.layers[0].weight[:, :12], recurrent=False)
    without = golden.run(replace(net, layers=(plain, *net.layers[1:])), x, trace=True)[1].outputs["lif1.lif"][:16]
    assert (without != hidden).sum() > 5  # the recurrence matters


def test_the_rtl_runs_the_braille_rnn(tmp_path):
    """The Braille RNN on the grid through Verilator at 4 lanes: RTL == golden, every output spike."""
    net = compiled(braille_on_the_grid(), tmp_path, DT)
    x = spikes(np.random.default_rng(6), (16, 2, 12), 0.3)
    result = rtl.run(net, x, implement(net, ((4, 4), (4, 4))), simulator="verilator", work_dir=tmp_path / "rtl")
    out = golden.run(net, x)
    assert out.sum() > 5
    np.testing.assert_array_equal(result.outputs, out.reshape(result.outputs.shape))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_snntorch_exports_a_synaptic_layer_as_cubalif(tmp_path):
    """snnTorch Synaptic -> export_to_nir (a CubaLIF, tau_syn != dt) -> snnc: a synaptic current,
    spike for spike against snnTorch's own import_from_nir of that file."""
    snn = pytest.importorskip("snntorch")
    pytest.importorskip("nirtorch")
    from snntorch import utils
    from snntorch.export_nir import export_to_nir
    from snntorch.import_nir import import_from_nir

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(12, 10), snn.Synaptic(alpha=torch.full((10,), 0.75), beta=torch.full((10,), 0.5),
                                              threshold=torch.ones(10), init_hidden=True),
        torch.nn.Linear(10, 4), snn.Leaky(beta=torch.full((4,), 0.5), threshold=torch.ones(4), init_hidden=True,
                                          output=True))
    with torch.no_grad():
        for m in net:
            if isinstance(m, torch.nn.Linear):
                m.weight.copy_(torch.randint(-7, 8, m.weight.shape) / 8.0)
                m.bias.zero_()
    nir.write(tmp_path / "syn.nir", export_to_nir(net, torch.zeros(12)))
    n = compile_model(tmp_path / "syn.nir", Options(dt=1e-4))
    assert n.lifs[0].synaptic and n.lifs[0].alpha_b / 2 ** n.lifs[0].leak_f == 0.75
    x = (torch.rand(30, 8, 12) < 0.4).float()
    imported = import_from_nir(nir.read(tmp_path / "syn.nir"))
    utils.reset(imported)
    with torch.no_grad():
        theirs = np.stack([imported(x[t])[0].numpy() for t in range(len(x))])
    ours = golden.run(n, x.numpy().astype(np.uint8))
    assert theirs.sum() > 100
    np.testing.assert_array_equal(ours.reshape(theirs.shape), theirs)
