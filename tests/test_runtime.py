"""The host runtime against the simulated board: the UART path in co-simulation equals the golden
model, and a faulty link gives a bounded retry or a clear error, never a hang or a wrong answer."""
import json

import numpy as np
import pytest

from netgen import float_mlp_model as float_model
from rtl_cases import waveform_signals
from snnc.cli import main
from snnc.compiler import build_folder
from snnc.compiler import host_protocol as hp
from snnc.runtime import Device, LinkError
from snnc.runtime.sim_link import FaultyLink, SimLink
from snnc.sim import rtl

BAUD = "3000000"  # the simulation runs every UART bit; the fastest rate keeps the tests short


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    root = tmp_path_factory.mktemp("runtime")
    model = float_model(root / "m.onnx", np.random.default_rng(0))
    assert main(["compile", str(model), "--bits", "4", "--state-bits", "4", "--state-quant", "threshold-centered",
                 "--lanes", "2", "--board", "arty-a7-35", "--baud", BAUD, "-o", str(root / "b")]) == 0
    return root / "b"


@pytest.fixture(scope="module")
def spikes():
    return (np.random.default_rng(1).random((8, 4, 24)) < 0.35).astype(np.uint8)


@pytest.fixture(scope="module")
def reference(build, spikes):
    with Device.golden(build) as d:
        return d.run(spikes)[0]


def test_uart_cosim_equals_golden(build, spikes, reference):
    with Device.simulated(build) as d:
        assert d.identity["n_in"] == 24 and d.identity["n_out"] == 5 and d.identity["lanes"] == 2
        out, cycles = d.run(spikes)
        assert d.protocol.retried == 0
    assert np.array_equal(out, reference) and out.sum() > 0
    assert all(c > 8 for c in cycles)


# Bytes written: the IDENT frame is 0..5, the first LOAD frame is sync 6, command 7, length 8-9,
# payload from 10.  Bytes read: the IDENT reply is 0..25 (10 words), the LOAD reply 26..31.
@pytest.mark.parametrize("faults", [
    dict(flip_writes={12}),       # a LOAD payload byte corrupted on the way to the board: it answers BAD_CRC
    dict(flip_writes={7}),        # the command corrupted (LOAD -> RUN): BAD_CRC, nothing runs
    dict(drop_writes={10}),       # a LOAD byte lost: the board's frame timeout, then the host's
    dict(flip_writes={9}),        # the LOAD length grown by 256: the board waits for bytes that never come
    dict(flip_reads={30}),        # the LOAD reply's CRC corrupted on the way to the host
    dict(flip_reads={3}),         # the IDENT reply's length corrupted: the host reads a cut-short reply
])
def test_faults_are_retried(build, spikes, reference, faults):
    wrap = lambda link: FaultyLink(link, **faults)
    with Device.simulated(build, wrap=wrap) as d:
        out, _ = d.run(spikes[:, :2])
        assert d.protocol.retried >= 1
    assert np.array_equal(out, reference[:, :2])


def test_dead_link_gives_a_clear_error(build):
    with pytest.raises(LinkError, match=r"IDENT: no valid reply after 4 attempts \(timeout"):
        Device.simulated(build, wrap=lambda link: FaultyLink(link, silent=True))


def test_persistent_corruption_is_an_error_not_an_answer(build, spikes):
    with pytest.raises(LinkError, match="LOAD: no valid reply after 4 attempts"):
        with Device.simulated(build, wrap=lambda link: FaultyLink(link, flip_writes=set(range(9, 4000, 5)))) as d:
            d.run(spikes[:, :1])


def test_board_with_another_network_is_refused(build, tmp_path):
    other = tmp_path / "other"
    model = float_model(tmp_path / "m2.onnx", np.random.default_rng(7))
    assert main(["compile", str(model), "--bits", "4", "--board", "arty-a7-35", "--baud", BAUD, "-o", str(other)]) == 0
    # the other build's design answers on the link, while the host holds this build
    config = json.loads((build / "build.json").read_text())
    other_config = json.loads((other / "build.json").read_text())
    assert other_config["identity"] != config["identity"]
    link = SimLink((other / "snnc_board.v").read_text(), 100e6, hp.uart_divisor(100e6, int(BAUD)), work_dir=other / "sim")
    try:
        with pytest.raises(LinkError, match=f"the board runs another network \\(design {other_config['identity']:08x}, "
                                            f"this build is {config['identity']:08x}\\)"):
            Device(*build_folder.load(build), link)
    finally:
        link.close()


def test_snnc_run_cli(build, spikes, reference, tmp_path, capsys):
    """snnc run --sim (with --trace: the board's waveform, each layer engine's busy signal in it)."""
    np.save(tmp_path / "x.npy", spikes[:, :2])
    trace = tmp_path / ("board.fst" if rtl.lz4_headers() else "board.vcd")  # an FST is a tenth of the VCD's 100 MB
    assert main(["run", str(build), "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy"), "--sim",
                 "--trace", str(trace)]) == 0
    assert "on the simulated board" in capsys.readouterr().out
    assert np.array_equal(np.load(tmp_path / "y.npy"), reference[:, :2])
    busy = {name for name in waveform_signals(trace) if name.endswith(".busy")}
    assert any(name.endswith("layer0.busy") for name in busy) and any(name.endswith("layer1.busy") for name in busy)
    assert main(["run", str(build), "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "t.npy"),
                 "--sim", "--engine", "golden", "--trace", str(tmp_path / "g.vcd")]) == 1
    assert "--trace records the simulated board's waveform: it goes with --sim" in capsys.readouterr().err
    assert main(["run", str(build), "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "g.npy"), "--sim",
                 "--engine", "golden"]) == 0
    assert np.array_equal(np.load(tmp_path / "g.npy"), reference[:, :2])


def test_snnc_run_errors(build, tmp_path, capsys):
    np.save(tmp_path / "bad.npy", np.full((4, 1, 24), 2, np.uint8))
    assert main(["run", str(build), "--input", str(tmp_path / "bad.npy"), "--output", str(tmp_path / "y.npy"), "--sim"]) == 1
    err = capsys.readouterr().err
    assert "--input" in err and "bad.npy: spikes must be 0 or 1" in err and not (tmp_path / "y.npy").exists()
    np.save(tmp_path / "ok.npy", np.zeros((4, 1, 24), np.uint8))
    assert main(["run", str(build), "--input", str(tmp_path / "ok.npy"), "--output", str(tmp_path / "y.npy"),
                 "--port", str(tmp_path / "no-such-port")]) == 1
    err = capsys.readouterr().err
    assert "cannot open the serial port" in err and len(err.strip().splitlines()) == 1
    model = float_model(tmp_path / "m.onnx", np.random.default_rng(0))
    assert main(["compile", str(model), "-o", str(tmp_path / "plain")]) == 0
    np.save(tmp_path / "x.npy", np.zeros((4, 1, 24), np.uint8))
    assert main(["run", str(tmp_path / "plain"), "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy"),
                 "--sim"]) == 1
    assert "compile with --board NAME" in capsys.readouterr().err


def test_board_rejects_bad_commands(build, spikes, reference):
    from snnc.runtime import input_tokens

    with Device.simulated(build) as d:
        p = d.protocol
        with pytest.raises(LinkError, match="0x7f: the board answered 'unknown command'"):
            p.transact(0x7F)
        with pytest.raises(LinkError, match="LOAD: the board answered 'bad argument'"):
            p.transact(hp.CMD_LOAD, [4095, 1, 2])  # past the end of the input buffer
        tokens = input_tokens(d.net, spikes[:, 0])
        p.transact(hp.CMD_LOAD, [0, *tokens])
        with pytest.raises(LinkError, match="RUN: the board answered 'bad argument'"):
            p.transact(hp.CMD_RUN, [len(tokens), 9], 4, 0.01)  # 8 timestep ends for 9 timesteps
        with pytest.raises(LinkError, match="RUN: the board answered 'bad argument'"):
            p.transact(hp.CMD_RUN, [len(tokens), 7], 4, 0.01)  # tokens left after the 7th timestep
        with pytest.raises(LinkError, match="READ_SPIKES: the board answered 'bad argument'"):
            p.transact(hp.CMD_READ_SPIKES, [4000, 100], 100)
        assert p.retried == 0
        result = d.infer(spikes[:, 0])  # and the board still works
    assert np.array_equal(result.output, reference[:, 0])


def test_default_baud_rate(tmp_path, spikes, reference):
    """The default 115200 baud (868 clocks per bit at 100 MHz), end to end on the first two timesteps
    of one sample (outputs are causal, so the reference's first two timesteps still hold)."""
    model = float_model(tmp_path / "m.onnx", np.random.default_rng(0))
    build = tmp_path / "b"
    assert main(["compile", str(model), "--bits", "4", "--state-bits", "4", "--state-quant", "threshold-centered",
                 "--lanes", "2", "--board", "basys3", "-o", str(build)]) == 0
    assert json.loads((build / "build.json").read_text())["baud"] == 115200
    with Device.simulated(build) as d:
        result = d.infer(spikes[:2, 0])
    assert np.array_equal(result.output, reference[:2, 0]) and result.counts.sum() == reference[:2, 0].sum()
