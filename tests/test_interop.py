"""snnTorch models into snnc (snnc.frontend.from_snntorch, docs/interop.md): snnTorch's own forward
pass is the reference; snnc's golden model (and the RTL, which equals it) must agree on at least
99.9% of spikes and 99% of classifications, and exactly where snnTorch's float32 arithmetic is
exact on the grid."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
snn = pytest.importorskip("snntorch")
from torch import nn  # noqa: E402
from snntorch.functional import quant  # noqa: E402

from snnc.compiler.layer_impl import implement
from snnc.compiler import compile_model  # noqa: E402
from snnc.compiler.errors import SnncError  # noqa: E402
from snnc.frontend.interop import from_snntorch  # noqa: E402


def mlp(state_quant_fn, reset: str, beta=(0.9, 0.8), sizes=(40, 32, 10), gain=4.0) -> nn.Sequential:
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers += [nn.Linear(n_in, n_out), snn.Leaky(beta=beta[i], threshold=1.0, init_hidden=True, reset_mechanism=reset,
                                                      state_quant=state_quant_fn(), output=i == len(sizes) - 2)]
    net = nn.Sequential(*layers)
    with torch.no_grad():
        for m in net:
            if isinstance(m, nn.Linear):
                m.weight.mul_(gain)
    return net


@pytest.mark.parametrize("uniform", [True, False])
@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_squat_models_agree_with_snntorch(uniform, reset, tmp_path):
    """4-bit state_quant, uniform and threshold-centered, both resets, 4-bit weights, random spikes."""
    torch.manual_seed(int(uniform) * 2 + (reset == "zero"))
    net = mlp(lambda: quant.state_quant(num_bits=4, uniform=uniform, threshold=1.0), reset)
    x = (torch.rand(25, 128, 40) < 0.3).float()
    report = from_snntorch(net, x, tmp_path / "m.onnx", bits=4)
    assert report.spike_agreement >= 0.999 and report.class_agreement >= 0.99, report
    net_ir = compile_model(tmp_path / "m.onnx")
    assert [lif.order for lif in net_ir.lifs] == ["snntorch"] * 2
    assert any("state_quant levels rounded" in n for n in report.notes)  # linspace levels are not on a power-of-two grid


def test_exact_where_float32_is_exact(tmp_path):
    """beta 1/2, levels every 1/4 (uniform 4-bit over [-1.75, 2.0], threshold 1), power-of-two
    weights and no biases: every value snnTorch computes is a float32-exact multiple of the grid,
    so the golden model equals it spike for spike, by construction."""
    for seed in range(3):
        torch.manual_seed(seed)
        levels = lambda: quant.state_quant(num_bits=4, uniform=True, threshold=1.0, lower_limit=0.75, upper_limit=1.0)
        net = nn.Sequential(nn.Linear(30, 24, bias=False),
                            snn.Leaky(beta=0.5, threshold=1.0, init_hidden=True, state_quant=levels()),
                            nn.Linear(24, 8, bias=False),
                            snn.Leaky(beta=0.5, threshold=1.0, init_hidden=True, state_quant=levels(), output=True))
        x = (torch.rand(30, 64, 30) < 0.4).float()
        report = from_snntorch(net, x, tmp_path / "e.onnx", bits=4)
        assert report.exact and report.class_agreement == 1.0, report
        assert not any("levels rounded" in n or "threshold" in n for n in report.notes)


def csnn(pool: nn.Module, channels: int, hw: int, outputs: int, first: nn.Module, second: nn.Module,
         gain: float) -> nn.Sequential:
    """conv 3x3 2->channels (padding 1), pool of its currents, first Leaky, flatten, dense, second Leaky."""
    net = nn.Sequential(nn.Conv2d(2, channels, 3, padding=1), pool, first, nn.Flatten(),
                        nn.Linear(channels * (hw // 2) ** 2, outputs), second)
    with torch.no_grad():
        net[0].weight.mul_(gain)
        net[4].weight.mul_(gain)
    return net


def test_a_conv_net_with_pooling_agrees(tmp_path):
    torch.manual_seed(5)
    q = lambda: quant.state_quant(num_bits=4, uniform=False, threshold=1.0)
    net = csnn(nn.MaxPool2d(2), 6, 12, 10, snn.Leaky(beta=0.9, threshold=1.0, init_hidden=True, state_quant=q()),
               snn.Leaky(beta=0.9, threshold=1.0, init_hidden=True, state_quant=q(), output=True), gain=3)
    x = (torch.rand(20, 32, 2, 12, 12) < 0.3).float()
    report = from_snntorch(net, x, tmp_path / "c.onnx", bits=4)
    assert report.spike_agreement >= 0.999 and report.class_agreement >= 0.99, report


@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_per_neuron_parameters(reset, tmp_path):
    """Per-neuron thresholds (one per Linear output, one per conv channel) become one threshold with
    each neuron's weights and bias scaled; per-neuron beta tensors of one value are one beta."""
    torch.manual_seed(11)
    conv_theta = torch.tensor([0.5, 1.0, 2.0, 1.0]).reshape(4, 1, 1)
    net = csnn(nn.AvgPool2d(2), 4, 8, 6, snn.Leaky(beta=torch.full((4, 1, 1), 0.5), threshold=conv_theta,
                                                   init_hidden=True, reset_mechanism=reset),
               snn.Leaky(beta=0.75, threshold=torch.tensor([1.0, 2.0, 0.5, 1.0, 4.0, 1.0]), init_hidden=True,
                         reset_mechanism=reset, output=True), gain=4)
    x = (torch.rand(20, 32, 2, 8, 8) < 0.3).float()
    report = from_snntorch(net, x, tmp_path / "p.onnx", bits=4)
    assert report.spike_agreement >= 0.999 and report.class_agreement >= 0.99, report
    assert sum("per-neuron thresholds made" in n for n in report.notes) == 2
    assert [lif.theta * lif.lsb for lif in compile_model(tmp_path / "p.onnx").lifs] == [2.0, 4.0]


@pytest.mark.parametrize("threshold, state_quant, message", [
    (torch.rand(4, 3, 3) + 0.5, False, "must be one per output channel"),
    (torch.tensor([1.0, 2.0, 1.0, 1.0]).reshape(4, 1, 1), True, "with state_quant are not supported"),
])
def test_per_neuron_thresholds_that_cannot_fold(threshold, state_quant, message, tmp_path):
    sq = quant.state_quant(num_bits=4, uniform=True, threshold=1.0) if state_quant else False
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), snn.Leaky(beta=0.5, threshold=threshold, init_hidden=True,
                                                                 state_quant=sq))
    with pytest.raises(SnncError, match=message):
        from_snntorch(net, torch.zeros(3, 2, 1, 3, 3), tmp_path / "n.onnx", bits=4)


@pytest.mark.parametrize("threshold", [torch.ones(8), torch.ones(3), torch.ones(2, 4)])
def test_thresholds_of_the_wrong_length_are_one_line(threshold, tmp_path):
    """A Linear of 4 outputs and 8, 3 or 2 x 4 thresholds: snnc's one-line refusal (the model
    cannot run, or its thresholds are not one per neuron), not snnTorch's RuntimeError."""
    net = nn.Sequential(nn.Linear(6, 4), snn.Leaky(beta=0.5, threshold=threshold, init_hidden=True))
    with pytest.raises(SnncError, match="one per output channel|forward pass fails on example_input: The size"):
        from_snntorch(net, torch.zeros(3, 2, 6), tmp_path / "t.onnx", bits=4)
    assert not (tmp_path / "t.onnx").exists()


def test_the_rtl_runs_an_imported_model(tmp_path):
    from snnc.sim import golden, rtl

    torch.manual_seed(7)
    net = mlp(lambda: quant.state_quant(num_bits=4, uniform=False, threshold=1.0), "subtract", sizes=(24, 12, 6), gain=5)
    x = (torch.rand(12, 3, 24) < 0.4).float()
    report = from_snntorch(net, x, tmp_path / "r.onnx", bits=4)
    net_ir = compile_model(tmp_path / "r.onnx")
    want = golden.run(net_ir, x.numpy().astype(np.uint8))
    got = rtl.run(net_ir, x.numpy().astype(np.uint8), implement(net_ir, 2), work_dir=tmp_path / "rtl")
    assert want.sum() > 0 and report.spike_agreement >= 0.99
    np.testing.assert_array_equal(got.outputs, want.reshape(got.outputs.shape))


def test_weights_already_on_a_power_of_two_grid_are_kept(tmp_path):
    torch.manual_seed(3)
    net = mlp(lambda: quant.state_quant(num_bits=4, uniform=False, threshold=1.0), "subtract", sizes=(16, 8, 4))
    with torch.no_grad():
        for m in net:
            if isinstance(m, nn.Linear):
                m.weight.copy_(torch.randint(-7, 8, m.weight.shape) / 8.0)
    report = from_snntorch(net, (torch.rand(10, 8, 16) < 0.5).float(), tmp_path / "k.onnx")
    assert not any("weights quantized" in n for n in report.notes)
    with pytest.raises(SnncError, match="not integers times a power of two; give bits=N"):
        from_snntorch(mlp(lambda: False, "subtract", sizes=(16, 8, 4)), torch.zeros(4, 2, 16), tmp_path / "f.onnx")


@pytest.mark.parametrize("make, message", [
    (lambda: nn.Sequential(nn.Linear(8, 4), nn.ReLU()), "1 \\(ReLU\\): not supported"),
    (lambda: nn.Sequential(nn.Linear(8, 4), snn.Leaky(beta=torch.rand(2, 4), init_hidden=True)),
     "per-neuron beta must be one per output channel"),
    (lambda: nn.Sequential(nn.Linear(8, 4), snn.Leaky(beta=0.9, init_hidden=True, reset_delay=False)), "reset_delay=False"),
    (lambda: nn.Sequential(snn.Leaky(beta=0.9, init_hidden=True)), "must follow a Linear or Conv2d"),
])
def test_what_is_not_supported_is_named(make, message, tmp_path):
    with pytest.raises(SnncError, match=message):
        from_snntorch(make(), torch.zeros(3, 2, 8), tmp_path / "x.onnx", bits=4)


@pytest.mark.parametrize("x, bits, grid_bits, message", [
    (torch.full((3, 2, 8), float("nan")), 4, 16, "must be 0 or 1"),
    (torch.full((3, 2, 8), float("inf")), 4, 16, "must be 0 or 1"),
    (torch.zeros(0, 2, 8), 4, 16, "empty"),
    (torch.zeros(3, 2, 8), 0, 16, "bits must be 1 to 8"),
    (torch.zeros(3, 2, 8), 4, 0, "grid_bits must be 1 to 24"),
    (torch.zeros(3, 2, 8), 4, 10**6, "grid_bits must be 1 to 24"),
])
def test_bad_inputs_are_one_line_errors_and_write_nothing(x, bits, grid_bits, message, tmp_path):
    net = nn.Sequential(nn.Linear(8, 4), snn.Leaky(beta=0.9, init_hidden=True))
    with pytest.raises(SnncError, match=message):
        from_snntorch(net, x, tmp_path / "x.onnx", bits=bits, grid_bits=grid_bits)
    assert not (tmp_path / "x.onnx").exists()


def test_nan_or_zero_parameters_are_refused(tmp_path):
    for leaky, message in ((snn.Leaky(beta=float("nan"), init_hidden=True), "beta must be finite"),
                           (snn.Leaky(beta=0.9, threshold=0.0, init_hidden=True), "threshold must be > 0")):
        with pytest.raises(SnncError, match=message):
            from_snntorch(nn.Sequential(nn.Linear(8, 4), leaky), torch.zeros(3, 2, 8), tmp_path / "y.onnx", bits=4)
    net = nn.Sequential(nn.Linear(8, 4), snn.Leaky(beta=0.9, init_hidden=True))
    with torch.no_grad():
        net[0].weight[0, 0] = float("inf")
    with pytest.raises(SnncError, match="weights must be finite"):
        from_snntorch(net, torch.zeros(3, 2, 8), tmp_path / "z.onnx", bits=4)
    assert not list(tmp_path.iterdir())


def test_fuzzed_modules_are_one_line_or_agree(tmp_path):
    """Leaky layers with values no trained model has (NaN, infinite, negative or out-of-range beta and
    threshold, tensors of the wrong length, NaN weights): snnTorch refuses to build them, or
    from_snntorch raises SnncError and writes nothing, or the model agrees with snnTorch's forward."""
    import random

    rng = random.Random(3)
    nan, inf = float("nan"), float("inf")
    betas = [0.5, 0.0, 1.0, -0.5, 1.5, nan, inf, torch.full((4,), 0.5), torch.rand(3)]
    thresholds = [1.0, 0.0, -1.0, nan, 1e30, torch.ones(4), torch.ones(3), torch.rand(4) + 0.5, torch.ones(2, 4)]
    x = (torch.rand(6, 8, 6) < 0.5).float()
    for case in range(40):
        beta, threshold = rng.choice(betas), rng.choice(thresholds)
        try:
            net = nn.Sequential(nn.Linear(6, 4), snn.Leaky(beta=beta, threshold=threshold, init_hidden=True,
                                                           reset_mechanism=rng.choice(["subtract", "zero"])))
        except Exception:  # snnTorch's own constructor refuses it
            continue
        if rng.random() < 0.2:
            with torch.no_grad():
                net[0].weight[0, 0] = rng.choice([nan, inf])
        path = tmp_path / f"f{case}.onnx"
        try:
            report = from_snntorch(net, x, path, bits=4)
        except SnncError as e:
            assert "\n" not in str(e) and not path.exists(), (case, e)
            continue
        assert report.spike_agreement >= 0.99, (case, beta, threshold, report)


@pytest.mark.parametrize("theta", [1.0, 1.5, 2.0])
@pytest.mark.parametrize("uniform", [True, False])
def test_level_boundaries_are_snntorchs_on_the_grid(theta, uniform):
    """Every membrane value on the grid near a decision boundary goes to the level snnTorch's
    StateQuant picks in float32 (ties to the lower level): snnc's boundaries floor((L_k + L_k+1)/2)
    are put where snnTorch's fall on the grid, not where the rounded levels' midpoints would."""
    from snnc.compiler import levels as codec
    from snnc.frontend.interop import matched_levels

    lsb = 2.0 ** -16
    q = quant.state_quant(num_bits=4, uniform=uniform, threshold=theta)
    table = next(c.cell_contents for c in q.__closure__ if isinstance(c.cell_contents, torch.Tensor)).float()
    ints = matched_levels(np.sort(table.numpy()), lsb)
    mids = np.floor((table[:-1].double() + table[1:].double()).numpy() / 2 / lsb).astype(np.int64)
    grid = (mids[:, None] + np.arange(-40, 41)).ravel()  # every grid value within 40 LSB of a boundary
    theirs = q(torch.from_numpy((grid * lsb).astype(np.float32))).double().numpy()
    ours = codec.encode(grid, ints)
    np.testing.assert_array_equal(ours, np.searchsorted(np.sort(table.double().numpy()), theirs))
    assert np.abs(ints * lsb - np.sort(table.numpy())).max() <= 2 * lsb


def test_the_threshold_one_and_a_half_case_is_exact(tmp_path):
    """Issue 27's network: threshold 1.5, 4-bit uniform state_quant, beta 1/2 with zero reset then
    15/16 with subtract reset, weights on a 2**-3 grid, 20 steps: membranes from rest land exactly on
    the real midpoints of snnTorch's levels, where its float32 StateQuant decides."""
    torch.manual_seed(18)
    sq = lambda: quant.state_quant(num_bits=4, uniform=True, threshold=1.5)
    net = nn.Sequential(nn.Linear(10, 8), snn.Leaky(beta=0.5, threshold=1.5, init_hidden=True, reset_mechanism="zero",
                                                    state_quant=sq()),
                        nn.Linear(8, 4), snn.Leaky(beta=0.9375, threshold=1.5, init_hidden=True,
                                                   reset_mechanism="subtract", state_quant=sq(), output=True))
    with torch.no_grad():
        for m in net:
            if isinstance(m, nn.Linear):
                m.weight.copy_(torch.randint(-7, 8, m.weight.shape) / 8.0)
                m.bias.zero_()
    report = from_snntorch(net, (torch.rand(20, 16, 10) < 0.4).float(), tmp_path / "h.onnx")
    assert report.exact, report
