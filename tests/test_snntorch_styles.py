"""snnTorch models written as snnTorch's tutorials write them (snnc.interop.from_snntorch): a class
whose forward runs its own time loop with explicit membrane state (tutorials 5 and 7), functional
pooling and `.view(batch, -1)`, BatchNorm, Dropout, learned beta and thresholds (without
torch.no_grad), Lapicque, padding='same', membrane readouts.  Each is traced from what it does on its example input;
the golden model agrees with snnTorch on the quantized copy (>= 99.9% of spikes), the report gives
the agreement with the model as given too, and the RTL equals the golden model."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
snn = pytest.importorskip("snntorch")
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from snnc.compiler import compile_model  # noqa: E402
from snnc.compiler.errors import SnncError  # noqa: E402
from snnc.compiler.layer_impl import implement  # noqa: E402
from snnc.frontend import from_snntorch  # noqa: E402
from snnc.sim import golden, rtl  # noqa: E402


class LoopMLP(nn.Module):
    """Tutorial 5: Leaky layers without init_hidden, membranes passed by hand, records stacked."""

    def __init__(self, n_in=24, n_hidden=16, n_out=6, beta=0.75, dropout=0.0, **leaky):
        super().__init__()
        self.fc1 = nn.Linear(n_in, n_hidden)
        self.drop = nn.Dropout(dropout)
        self.lif1 = snn.Leaky(beta=beta, **leaky)
        self.fc2 = nn.Linear(n_hidden, n_out)
        self.lif2 = snn.Leaky(beta=beta, **leaky)

    def forward(self, x):
        mem1, mem2 = self.lif1.init_leaky(), self.lif2.init_leaky()
        spk2_rec, mem2_rec = [], []
        for step in range(x.size(0)):
            cur1 = self.drop(self.fc1(x[step]))
            spk1, mem1 = self.lif1(cur1, mem1)
            cur2 = self.fc2(spk1)
            spk2, mem2 = self.lif2(cur2, mem2)
            spk2_rec.append(spk2)
            mem2_rec.append(mem2)
        return torch.stack(spk2_rec, dim=0), torch.stack(mem2_rec, dim=0)


class LoopCSNN(nn.Module):
    """Tutorial 7: conv -> F.max_pool2d -> Leaky, twice, then spk.view(batch, -1) -> Linear -> Leaky;
    with batch_norm, a BatchNorm2d after each conv and a BatchNorm1d after the Linear."""

    def __init__(self, batch_norm=False, beta=0.5, padding=1):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 4, 3, padding=padding)
        self.bn1 = nn.BatchNorm2d(4) if batch_norm else nn.Identity()
        self.lif1 = snn.Leaky(beta=beta)
        self.conv2 = nn.Conv2d(4, 8, 3, padding=padding)
        self.bn2 = nn.BatchNorm2d(8) if batch_norm else nn.Identity()
        self.lif2 = snn.Leaky(beta=beta)
        self.fc1 = nn.Linear(8 * 3 * 3, 5)
        self.bn3 = nn.BatchNorm1d(5) if batch_norm else nn.Identity()
        self.lif3 = snn.Leaky(beta=beta)

    def forward(self, x):
        mem1, mem2, mem3 = self.lif1.init_leaky(), self.lif2.init_leaky(), self.lif3.init_leaky()
        spk3_rec = []
        for step in range(x.shape[0]):
            cur1 = F.max_pool2d(self.bn1(self.conv1(x[step])), 2)
            spk1, mem1 = self.lif1(cur1, mem1)
            cur2 = F.max_pool2d(self.bn2(self.conv2(spk1)), 2)
            spk2, mem2 = self.lif2(cur2, mem2)
            cur3 = self.bn3(self.fc1(spk2.view(x.shape[1], -1)))
            spk3, mem3 = self.lif3(cur3, mem3)
            spk3_rec.append(spk3)
        return torch.stack(spk3_rec)


def scaled(net: nn.Module, gain: float) -> nn.Module:
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                m.weight.mul_(gain)
    return net


def check(net, x, tmp_path, rtl_lanes=None, exact=False):
    """Import, compare, and (rtl_lanes) run the RTL; returns the report."""
    report = from_snntorch(net, x, tmp_path / "m.onnx", bits=4)
    assert report.spike_agreement >= (1.0 if exact else 0.999), report
    assert 0 <= report.original_spike_agreement <= 1 and 0 <= report.original_class_agreement <= 1
    assert [name for name, _ in report.layer_agreement] == [n for n, m in net.named_modules()
                                                             if isinstance(m, snn.SpikingNeuron)]
    assert report.worst_layer in dict(report.layer_agreement)
    net_ir = compile_model(tmp_path / "m.onnx")
    spikes = x.numpy().astype(np.uint8)
    want = golden.run(net_ir, spikes.reshape(*spikes.shape[:2], *net_ir.input_shape))
    assert want.sum() > 0
    if rtl_lanes:
        got = rtl.run(net_ir, spikes.reshape(*spikes.shape[:2], *net_ir.input_shape), implement(net_ir, rtl_lanes),
                      work_dir=tmp_path / "rtl")
        np.testing.assert_array_equal(got.outputs, want.reshape(got.outputs.shape))
    return report


def test_class_with_loop_mlp(tmp_path):
    torch.manual_seed(0)
    net = scaled(LoopMLP(dropout=0.2), 4)
    report = check(net, (torch.rand(16, 32, 24) < 0.3).float(), tmp_path, rtl_lanes=2)
    assert any("drop (Dropout): dropped" in n for n in report.notes)
    # the model as given has float weights: agreement with it is reported, not assumed
    assert report.original_spike_agreement < 1.0


def test_class_with_loop_csnn_with_functional_pools_and_view(tmp_path):
    torch.manual_seed(1)
    net = scaled(LoopCSNN(), 3)
    check(net, (torch.rand(10, 8, 2, 12, 12) < 0.3).float(), tmp_path, rtl_lanes=2)


def test_batch_norm_is_folded(tmp_path):
    torch.manual_seed(2)
    net = LoopCSNN(batch_norm=True)
    net.train()
    with torch.no_grad():  # running statistics that differ from identity
        net((torch.rand(4, 16, 2, 12, 12) < 0.4).float())
        for bn in (net.bn1, net.bn2, net.bn3):
            bn.weight.uniform_(0.5, 2.0)
            bn.bias.uniform_(-0.2, 0.4)
    # in the RTL with both convolutions' kernel columns side by side (4 x 3 and 8 x 3 lanes) and
    # their pools of currents read from the columns' RAMs
    report = check(net, (torch.rand(10, 8, 2, 12, 12) < 0.3).float(), tmp_path, rtl_lanes=((12, 2), (24, 4), 5))
    assert sum("(BatchNorm) folded" in n for n in report.notes) == 3
    assert net.training  # the user's model is left as it was


def test_learned_beta_and_threshold_need_no_torch_no_grad(tmp_path):
    torch.manual_seed(3)
    net = scaled(LoopMLP(beta=0.875, threshold=1.0, learn_beta=True, learn_threshold=True), 4)
    assert net.lif1.beta.requires_grad and net.lif1.threshold.requires_grad
    check(net, (torch.rand(12, 16, 24) < 0.3).float(), tmp_path)


def test_sequential_with_init_hidden_and_dropout(tmp_path):
    torch.manual_seed(4)
    net = scaled(nn.Sequential(nn.Linear(20, 12), nn.Dropout(0.5), snn.Leaky(beta=0.5, init_hidden=True),
                               nn.Sequential(nn.Linear(12, 4), snn.Leaky(beta=0.5, init_hidden=True, output=True))), 4)
    report = check(net, (torch.rand(12, 16, 20) < 0.3).float(), tmp_path)
    assert [name for name, _ in report.layer_agreement] == ["2", "3.1"]


def test_lapicque_is_a_leaky_with_its_gain_folded(tmp_path):
    """Lapicque: v = I dt/C + (1 - dt/(R C)) v; R = C = 2, dt = 1: gain 1/2, beta 3/4, exact."""
    torch.manual_seed(5)
    net = scaled(nn.Sequential(nn.Linear(20, 12, bias=False), snn.Lapicque(R=2.0, C=2.0, time_step=1.0, init_hidden=True),
                               nn.Linear(12, 4, bias=False),
                               snn.Lapicque(R=2.0, C=2.0, time_step=1.0, init_hidden=True, output=True)), 6)
    with torch.no_grad():
        for m in net:
            if isinstance(m, nn.Linear):
                m.weight.copy_(torch.randint(-7, 8, m.weight.shape) / 4.0)
    check(net, (torch.rand(12, 16, 20) < 0.3).float(), tmp_path, exact=True)
    assert [lif.leak_b / 2 ** lif.leak_f for lif in compile_model(tmp_path / "m.onnx").lifs] == [0.75, 0.75]
    zero = nn.Sequential(nn.Linear(4, 2), snn.Lapicque(R=2.0, C=2.0, init_hidden=True, reset_mechanism="zero"))
    with pytest.raises(SnncError, match="Lapicque's zero reset also discards the step's input"):
        from_snntorch(zero, torch.zeros(3, 2, 4), tmp_path / "z.onnx", bits=4)


def test_per_channel_beta(tmp_path):
    """beta per conv channel ([C, 1, 1]) and per Linear neuron: a leak per channel in the IR, the
    golden model and the RTL; a beta that differs within a conv channel is refused with the reason."""
    torch.manual_seed(7)
    net = scaled(LoopCSNN(), 3)
    net.lif1 = snn.Leaky(beta=torch.tensor([0.5, 0.75, 0.875, 0.25]).reshape(4, 1, 1))
    net.lif3 = snn.Leaky(beta=torch.tensor([0.5, 0.9375, 0.0, 1.0, 0.625]))
    check(net, (torch.rand(10, 8, 2, 12, 12) < 0.3).float(), tmp_path, rtl_lanes=3)
    lifs = compile_model(tmp_path / "m.onnx").lifs
    assert list(lifs[0].leak_b) == [4, 6, 7, 2] and (lifs[1].leak_b, lifs[1].leak_f) == (1, 1) and list(lifs[2].leak_b) == [8, 15, 0, 16, 10]
    within = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), snn.Leaky(beta=torch.rand(2, 4, 4), init_hidden=True))
    with pytest.raises(SnncError, match="per-neuron beta must be one per output channel .* one per channel"):
        from_snntorch(within, torch.zeros(3, 2, 1, 4, 4), tmp_path / "w.onnx", bits=4)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
def test_padding_same(tmp_path):
    torch.manual_seed(6)
    net = scaled(LoopCSNN(padding="same"), 3)
    check(net, (torch.rand(8, 8, 2, 12, 12) < 0.3).float(), tmp_path)
    even = nn.Sequential(nn.Conv2d(1, 2, 4, padding="same"), snn.Leaky(beta=0.5, init_hidden=True))
    with pytest.raises(SnncError, match="padding 'same' is supported with stride 1 and an odd square kernel"):
        from_snntorch(even, torch.zeros(3, 2, 1, 6, 6), tmp_path / "e.onnx", bits=4)


@pytest.mark.parametrize("make, message", [
    (lambda: LoopReLU(), "fc1 \\(Linear\\): the forward applies torch's relu"),
    (lambda: nn.Sequential(nn.Linear(6, 3), snn.Leaky(beta=0.5, init_hidden=True), nn.MaxPool1d(1)),
     "2 \\(MaxPool1d\\): not supported"),
    (lambda: nn.Sequential(nn.Linear(6, 3), snn.Alpha(alpha=0.6, beta=0.5, init_hidden=True)),
     "1 \\(Alpha\\): its membrane is a scaled sum of two synaptic currents"),
    (lambda: nn.Sequential(nn.Linear(6, 3), snn.Synaptic(alpha=0.5, beta=0.5, init_hidden=True, reset_mechanism="zero")),
     "1 \\(Synaptic\\): Synaptic's zero reset also discards the step's input"),
    (lambda: nn.Sequential(nn.Linear(6, 3), snn.RLeaky(beta=0.5, linear_features=3, init_hidden=True,
                                                       reset_mechanism="zero")),
     "1 \\(RLeaky\\): RLeaky's zero reset also discards the step's input"),
    (lambda: nn.Sequential(nn.Linear(6, 3), snn.RLeaky(beta=0.5, linear_features=3, init_hidden=True,
                                                       reset_mechanism="none")),
     "1 \\(RLeaky\\): a recurrent layer's output must be spikes, not a membrane readout"),
])
def test_what_does_not_map_is_named(make, message, tmp_path):
    with pytest.raises(SnncError, match=message):
        from_snntorch(make(), torch.zeros(3, 2, 6), tmp_path / "x.onnx", bits=4)


def test_a_convolutional_recurrence_is_named(tmp_path):
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1),
                        snn.RLeaky(beta=0.5, conv2d_channels=2, kernel_size=3, init_hidden=True))
    with pytest.raises(SnncError, match="1 \\(RLeaky\\): a convolutional recurrence"):
        from_snntorch(net, torch.zeros(3, 2, 1, 6, 6), tmp_path / "x.onnx", bits=4)
    assert not (tmp_path / "x.onnx").exists()
    assert not (tmp_path / "x.onnx").exists()


class LoopReLU(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.lif1 = nn.Linear(6, 3), snn.Leaky(beta=0.5)

    def forward(self, x):
        mem, out = self.lif1.init_leaky(), []
        for step in range(x.shape[0]):
            spk, mem = self.lif1(torch.relu(self.fc1(x[step])), mem)
            out.append(spk)
        return torch.stack(out)


class Wrapped(nn.Module):
    """A class around an init_hidden Sequential: per step (forward(x_t)), or with its own loop."""

    def __init__(self, own_loop: bool):
        super().__init__()
        self.own_loop = own_loop
        self.net = nn.Sequential(nn.Linear(20, 12), snn.Leaky(beta=0.5, init_hidden=True),
                                 nn.Linear(12, 4), snn.Leaky(beta=0.5, init_hidden=True))

    def forward(self, x):
        if not self.own_loop:
            return self.net(x)
        return torch.stack([self.net(x[step]) for step in range(x.shape[0])])


@pytest.mark.parametrize("own_loop", [False, True])
def test_a_class_around_an_init_hidden_sequential(own_loop, tmp_path):
    torch.manual_seed(8)
    report = check(scaled(Wrapped(own_loop), 4), (torch.rand(12, 16, 20) < 0.3).float(), tmp_path)
    assert [name for name, _ in report.layer_agreement] == ["net.1", "net.3"]


class LoopReadout(nn.Module):
    """Tutorial 5 with a membrane readout: a last Leaky (reset_mechanism "none", or the loss on its
    membrane with the default subtract reset), or a last Linear, and (spk_rec, mem_rec) returned."""

    def __init__(self, last: str = "none", beta=0.9):
        super().__init__()
        self.last = last
        self.fc1, self.lif1 = nn.Linear(20, 16), snn.Leaky(beta=0.95)
        self.fc2 = nn.Linear(16, 5)
        self.lif2 = snn.Leaky(beta=beta, reset_mechanism="subtract" if last == "subtract" else "none")

    def forward(self, x):
        mem1, mem2 = self.lif1.init_leaky(), self.lif2.init_leaky()
        spk_rec, mem_rec = [], []
        for step in range(x.shape[0]):
            spk1, mem1 = self.lif1(self.fc1(x[step]), mem1)
            cur2 = self.fc2(spk1)
            if self.last == "linear":
                mem2, spk2 = cur2, cur2
            else:
                spk2, mem2 = self.lif2(cur2, mem2)
            spk_rec.append(spk2)
            mem_rec.append(mem2)
        return torch.stack(spk_rec), torch.stack(mem_rec)


@pytest.mark.parametrize("last, output", [("none", "auto"), ("subtract", "membrane"), ("linear", "auto")])
def test_membrane_readouts(last, output, tmp_path):
    """The readout's membranes equal snnTorch's (quantized copy) within the rounding of both, on
    every value; the RTL gives the golden model's; spikes are refused where there are none."""
    torch.manual_seed(3)
    net = LoopReadout(last)
    x = (torch.rand(25, 16, 20) < 0.3).float()
    report = from_snntorch(net, x, tmp_path / "m.onnx", bits=4, output=output)
    assert report.spike_agreement == 1.0 and report.class_agreement == 1.0, report
    assert report.membrane_error < 1e-4
    assert report.layer_agreement[-1][0] == ("fc2" if last == "linear" else "lif2")
    net_ir = compile_model(tmp_path / "m.onnx")
    assert net_ir.lifs[-1].readout and net_ir.lifs[-1].reset == ("subtract" if last == "subtract" else "none")
    spikes = x.numpy().astype(np.uint8)
    want = golden.run(net_ir, spikes)
    if last == "linear":
        got = rtl.run(net_ir, spikes, implement(net_ir, 2), work_dir=tmp_path / "rtl")
        np.testing.assert_array_equal(got.outputs, want.reshape(got.outputs.shape))
        with pytest.raises(SnncError, match="ends in a Linear, whose output is currents"):
            from_snntorch(net, x, tmp_path / "s.onnx", bits=4, output="spikes")


def test_an_init_hidden_sequential_ending_in_a_linear(tmp_path):
    torch.manual_seed(4)
    seq = nn.Sequential(nn.Linear(20, 16), snn.Leaky(beta=0.9, init_hidden=True), nn.Linear(16, 5))
    x = (torch.rand(20, 8, 20) < 0.3).float()
    report = from_snntorch(seq, x, tmp_path / "m.onnx", bits=4)
    assert report.spike_agreement == 1.0 and report.membrane_error == 0.0
    assert any("its currents are the output" in n for n in report.notes)


class LoopSynaptic(nn.Module):
    """snnTorch's Synaptic (tutorial style): spk, syn, mem = self.lif(cur, syn, mem) in the loop."""

    def __init__(self, reset="subtract"):
        super().__init__()
        self.fc1, self.lif1 = nn.Linear(20, 16), snn.Synaptic(alpha=0.9, beta=0.8)
        self.fc2, self.lif2 = nn.Linear(16, 5), snn.Synaptic(alpha=0.8, beta=0.9, reset_mechanism=reset)

    def forward(self, x):
        syn1, mem1 = self.lif1.init_synaptic()
        syn2, mem2 = self.lif2.init_synaptic()
        spk_rec, mem_rec = [], []
        for step in range(x.shape[0]):
            spk1, syn1, mem1 = self.lif1(self.fc1(x[step]), syn1, mem1)
            spk2, syn2, mem2 = self.lif2(self.fc2(spk1), syn2, mem2)
            spk_rec.append(spk2)
            mem_rec.append(mem2)
        return torch.stack(spk_rec), torch.stack(mem_rec)


@pytest.mark.parametrize("reset, output", [("subtract", "spikes"), ("none", "auto"), ("subtract", "membrane")])
def test_synaptic_currents(reset, output, tmp_path):
    """Synaptic: a second state per neuron (docs/spec.md section 2), its spikes or its membrane
    equal to snnTorch's; the RTL gives the golden model's."""
    torch.manual_seed(1)
    x = (torch.rand(25, 16, 20) < 0.3).float()
    report = from_snntorch(LoopSynaptic(reset), x, tmp_path / "m.onnx", bits=4, output=output)
    assert report.spike_agreement >= 0.999 and report.class_agreement == 1.0, report
    net_ir = compile_model(tmp_path / "m.onnx")
    assert all(lif.synaptic for lif in net_ir.lifs) and net_ir.lifs[-1].readout == (output != "spikes")
    if output == "spikes":
        spikes = x.numpy().astype(np.uint8)
        want = golden.run(net_ir, spikes)
        assert want.sum() > 0
        got = rtl.run(net_ir, spikes, implement(net_ir, 4), work_dir=tmp_path / "rtl")
        np.testing.assert_array_equal(got.outputs, want.reshape(got.outputs.shape))


class LoopRecurrent(nn.Module):
    """snnTorch's RLeaky / RSynaptic docstring example: spk and mem passed by hand, the first layer
    all-to-all (a recurrent Linear, with its bias), the second one-to-one (V)."""

    def __init__(self, synaptic: bool, reset="subtract", n_in=20, n_hidden=16, n_out=5):
        super().__init__()
        self.synaptic = synaptic
        self.fc1, self.fc2 = nn.Linear(n_in, n_hidden), nn.Linear(n_hidden, n_out)
        if synaptic:
            self.lif1 = snn.RSynaptic(alpha=0.75, beta=0.875, linear_features=n_hidden, reset_mechanism=reset)
            self.lif2 = snn.RSynaptic(alpha=0.5, beta=0.75, all_to_all=False, V=0.5, reset_mechanism=reset)
        else:
            self.lif1 = snn.RLeaky(beta=0.875, linear_features=n_hidden, reset_mechanism=reset)
            self.lif2 = snn.RLeaky(beta=0.75, all_to_all=False, V=torch.linspace(-0.5, 0.5, n_out))

    def forward(self, x):
        if self.synaptic:
            spk1, syn1, mem1 = self.lif1.init_rsynaptic()
            spk2, syn2, mem2 = self.lif2.init_rsynaptic()
        else:
            spk1, mem1 = self.lif1.init_rleaky()
            spk2, mem2 = self.lif2.init_rleaky()
        spk2_rec = []
        for step in range(x.shape[0]):
            cur1 = self.fc1(x[step])
            if self.synaptic:
                spk1, syn1, mem1 = self.lif1(cur1, spk1, syn1, mem1)
                spk2, syn2, mem2 = self.lif2(self.fc2(spk1), spk2, syn2, mem2)
            else:
                spk1, mem1 = self.lif1(cur1, spk1, mem1)
                spk2, mem2 = self.lif2(self.fc2(spk1), spk2, mem2)
            spk2_rec.append(spk2)
        return torch.stack(spk2_rec)


@pytest.mark.parametrize("synaptic, reset", [(False, "subtract"), (False, "none"), (True, "subtract")])
def test_recurrent_layers(synaptic, reset, tmp_path):
    """RLeaky and RSynaptic (all-to-all and one-to-one): the layer's spikes of the step before come
    back through one weight matrix with the input's (docs/spec.md section 2); golden equals snnTorch
    on the quantized copy, and the RTL the golden model."""
    torch.manual_seed(2)
    net = scaled(LoopRecurrent(synaptic, reset), 2.0)
    x = (torch.rand(25, 16, 20) < 0.3).float()
    report = check(net, x, tmp_path, rtl_lanes=4 if synaptic else None)
    net_ir = compile_model(tmp_path / "m.onnx")
    assert [d.recurrent for d in net_ir.layers if hasattr(d, "recurrent")] == [True, True]
    assert report.class_agreement == 1.0, report


def test_an_init_hidden_sequential_with_an_rleaky(tmp_path):
    """The same in snnTorch's init_hidden style: an nn.Sequential called once per step."""
    torch.manual_seed(3)
    net = nn.Sequential(nn.Linear(20, 16), snn.RLeaky(beta=0.75, linear_features=16, init_hidden=True),
                        nn.Linear(16, 5), snn.Leaky(beta=0.5, init_hidden=True, output=True))
    x = (torch.rand(20, 8, 20) < 0.3).float()
    check(scaled(net, 2.0), x, tmp_path)
    assert compile_model(tmp_path / "m.onnx").layers[0].recurrent
