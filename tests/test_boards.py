"""Board registry, board builds (Vivado script, XDC pins against amaranth-boards), `snnc boards`."""
import json
import re
import shlex
from pathlib import Path

import numpy as np
import pytest

from snnc.boards import BOARDS, get_board
from snnc.cli import main
from netgen import float_mlp_model as float_model

# Pins from each board's documentation (Digilent reference manuals and master XDC files, Alchitry Au
# schematic): clock, UART (FPGA rx, FPGA tx), first LED, reset.  amaranth-boards must agree.
DOCUMENTED = {
    "arty-a7-35": ("xc7a35ticsg324-1L", "E3", "A9", "D10", "H5", "C2"),
    "arty-a7-100": ("xc7a100ticsg324-1L", "E3", "A9", "D10", "H5", "C2"),
    "nexys-a7-100": ("xc7a100tcsg324-1", "E3", "C4", "D4", "H17", "C12"),
    "cmod-a7-35": ("xc7a35tcpg236-1", "L17", "J17", "J18", "A17", None),
    "alchitry-au": ("XC7A35TFTG256-1", "N14", "P15", "P16", "K13", None),
    "basys3": ("xc7a35tcpg236-1", "W5", "B18", "A18", "U16", "U18"),
}


def xdc_pins(text: str) -> dict[str, str]:
    return dict((port, pin) for pin, port in re.findall(r'set_property LOC (\S+) \[get_ports "([^"]+)"\]', text))


@pytest.fixture(scope="module")
def board_builds(tmp_path_factory):
    root = tmp_path_factory.mktemp("boards")
    model = float_model(root / "m.onnx", np.random.default_rng(0))
    for name in BOARDS:
        assert main(["compile", str(model), "--bits", "4", "--board", name, "-o", str(root / name)]) == 0
    return root


def test_registry_matches_documentation():
    assert set(BOARDS) == set(DOCUMENTED)
    for name, (part, clk, rx, tx, led0, rst) in DOCUMENTED.items():
        b = get_board(name)
        res, rx_sub, tx_sub = b.uart
        p = b.make_platform()
        assert (b.part, b.pins(p.default_clk), b.pins(res, 0, rx_sub), b.pins(res, 0, tx_sub)) == (part, [clk], [rx], [tx])
        assert b.leds()[0] == led0 and b.reset_pin() == rst
        assert b.clock_hz == (12e6 if name == "cmod-a7-35" else 100e6)


@pytest.mark.parametrize("name", list(DOCUMENTED))
def test_board_build_files(board_builds, name):
    folder = board_builds / name
    config = json.loads((folder / "build.json").read_text())
    assert config["board"] == name and config["part"] == DOCUMENTED[name][0]
    tcl = (folder / "vivado" / "top.tcl").read_text()
    assert f"-part {DOCUMENTED[name][0]}" in tcl and "synth_design -top top" in tcl and "write_bitstream" in tcl
    assert (folder / "vivado" / "build_top.sh").exists() and (folder / "snnc_board.v").exists()
    pins = xdc_pins((folder / "vivado" / "top.xdc").read_text())
    b = get_board(name)
    p = b.make_platform()
    res, rx, tx = b.uart
    assert pins[f"{p.default_clk}_0__io"] == b.pins(p.default_clk)[0]
    assert pins[f"{res}_0__{rx}__io"] == b.pins(res, 0, rx)[0]
    assert pins[f"{res}_0__{tx}__io"] == b.pins(res, 0, tx)[0]
    leds = [pins[f"led_{i}__io"] for i in range(min(3, len(b.leds())))]
    assert leds == b.leds()[:len(leds)]
    if b.reset_pin():
        assert pins[f"{p.default_rst}_0__io"] == b.reset_pin()
    assert re.search(r"create_clock .*-period (\d+\.?\d*)", (folder / "vivado" / "top.xdc").read_text())


def test_snnc_boards_lists_every_board(capsys):
    assert main(["boards"]) == 0
    out = capsys.readouterr().out
    for name, (part, clk, rx, tx, led0, rst) in DOCUMENTED.items():
        line = next(l for l in out.splitlines() if l.startswith(name + " "))
        assert part in line and f"{rx}/{tx}" in line and led0 in line


@pytest.mark.parametrize("args, message", [
    (["--board", "zedboard"], "unknown board 'zedboard'"),
    (["--board", "cmod-a7-35", "--baud", "4000000"], "--baud 4000000"),
    (["--board", "arty-a7-35", "--baud", "4000000"], "from 1200 to 3000000"),
    (["--board", "cmod-a7-35", "--baud", "2500000"], "12 MHz clock cannot make it"),
    (["--synth"], "--synth runs Vivado on a board build"),
])
def test_board_compile_errors(tmp_path, capsys, args, message):
    model = float_model(tmp_path / "m.onnx", np.random.default_rng(0))
    assert main(["compile", str(model), "--bits", "4", *args, "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_synth_without_vivado(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    model = float_model(tmp_path / "m.onnx", np.random.default_rng(0))
    assert main(["compile", str(model), "--board", "basys3", "--synth", "-o", str(tmp_path / "out")]) == 1
    assert "'vivado' is not on PATH" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_report_gives_utilisation(board_builds, capsys):
    assert main(["report", str(board_builds / "arty-a7-35"), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    util = rep["board"]["utilisation"]
    assert rep["synthesis"]["top"] == "snnc_board"
    assert util["LUT"]["available"] == 20800 and 0 < util["LUT"]["percent"] < 100
    assert util["BRAM36"]["used"] >= 2  # the input and output token buffers at least
    assert main(["report", str(board_builds / "arty-a7-35")]) == 0
    assert "arty-a7-35 (xc7a35ticsg324-1L): LUT" in capsys.readouterr().out


# openFPGALoader's board names and cables (its src/board.hpp JTAG_BOARD table)
LOADER = {"arty-a7-35": ("arty_a7_35t", "digilent"), "arty-a7-100": ("arty_a7_100t", "digilent"),
          "nexys-a7-100": ("nexys_a7_100", "digilent"), "cmod-a7-35": ("cmoda7_35t", "digilent"),
          "alchitry-au": ("alchitry_au", "ft2232"), "basys3": ("basys3", "digilent")}


@pytest.mark.parametrize("name", list(DOCUMENTED))
def test_program_dry_run(board_builds, name, capsys):
    """snnc program BUILD --dry-run: the openFPGALoader command for the board's bitstream, run nothing."""
    assert main(["program", str(board_builds / name), "--dry-run"]) == 0
    command = shlex.split(capsys.readouterr().out)
    board, cable = LOADER[name]
    assert Path(command[0]).name == "openFPGALoader" and command[1:5] == ["-b", board, "-c", cable]
    assert command[5] == str(board_builds / name / "vivado" / "top.bit")


def test_program_needs_the_bitstream_and_the_tool(board_builds, tmp_path, capsys, monkeypatch):
    """Without the bitstream, or without openFPGALoader, one line and exit 1; with both it runs the
    command (a stand-in loader records its arguments); a build without a board is refused."""
    build = board_builds / "basys3"
    assert main(["program", str(build)]) == 1
    err = capsys.readouterr().err
    assert "top.bit: no bitstream; build it with Vivado" in err and err.count("\n") == 1
    bitstream = build / "vivado" / "top.bit"
    bitstream.write_bytes(b"bitstream")
    try:
        monkeypatch.setenv("SNNC_OPENFPGALOADER", str(tmp_path / "missing"))
        assert main(["program", str(build)]) == 1
        err = capsys.readouterr().err
        assert "openFPGALoader not found: install it (Debian: apt install openfpgaloader)" in err and err.count("\n") == 1
        loader = tmp_path / "loader"
        loader.write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path / 'args'}\n")
        loader.chmod(0o755)
        monkeypatch.setenv("SNNC_OPENFPGALOADER", str(loader))
        assert main(["program", str(build)]) == 0
        assert (tmp_path / "args").read_text().split() == ["-b", "basys3", "-c", "digilent", str(bitstream)]
    finally:
        bitstream.unlink()
    model = float_model(tmp_path / "m.onnx", np.random.default_rng(1))
    assert main(["compile", str(model), "--bits", "4", "-o", str(tmp_path / "plain")]) == 0
    capsys.readouterr()
    assert main(["program", str(tmp_path / "plain"), "--dry-run"]) == 1
    assert "not a board build (compile it with --board NAME)" in capsys.readouterr().err


def digits_sized_model(path, rng):
    """A float 64-64-10 MLP, the digits example's shape."""
    from snnc.compiler.dialect import ModelWriter
    import onnx

    w = ModelWriter((64,))
    w.dense(rng.normal(0, 0.3, (64, 64)), bits=None, name="fc1")
    w.lif(beta=0.875, threshold=1.0, name="lif1")
    w.dense(rng.normal(0, 0.4, (64, 10)), bits=None, name="fc2")
    w.lif(beta=0.875, threshold=1.0, name="lif2")
    onnx.save(w.model(), path)
    return path


def test_a_board_build_without_lanes_chooses_them(tmp_path, capsys):
    """No --lanes on a board: the cost model's fastest design in a quarter of the board's LUTs, said in
    the first line and a note; it fits; --lanes 1 still gives the smallest design; without a board,
    the fastest in 3,000 LUTs."""
    model = digits_sized_model(tmp_path / "m.onnx", np.random.default_rng(0))
    assert main(["compile", str(model), "--bits", "4", "--board", "arty-a7-35", "-o", str(tmp_path / "auto")]) == 0
    out = capsys.readouterr().out
    lanes = re.search(r"lanes (\S+),", out.splitlines()[0]).group(1)
    assert lanes != "1" and int(re.match(r"\d+", lanes).group()) > 1, out
    assert "no --lanes: lanes for 25% of the arty-a7-35's LUTs (5200)" in out and "--lanes auto for at most 5200" in out
    assert main(["compile", str(model), "--bits", "4", "--board", "arty-a7-35", "--lanes", "1",
                 "-o", str(tmp_path / "one")]) == 0
    assert "lanes 1," in capsys.readouterr().out.splitlines()[0]
    assert main(["compile", str(model), "--bits", "4", "-o", str(tmp_path / "plain")]) == 0  # no board: 3,000 LUTs
    out = capsys.readouterr().out
    assert re.search(r"lanes (\S+),", out.splitlines()[0]).group(1) != "1"
    assert "no --lanes: lanes for the default budget of 3000 LUTs" in out and "--lanes auto for at most 3000" in out


def test_a_design_too_large_for_the_boards_luts_is_refused(tmp_path, capsys, monkeypatch):
    """The cost model's LUTs beyond the part's: one line, nothing written (as for block RAM); without
    --lanes it falls back to 1 lane, which is judged the same way."""
    from snnc.boards import registry

    monkeypatch.setitem(registry.PART_RESOURCES, "xc7a35t", {**registry.PART_RESOURCES["xc7a35t"], "LUT": 500})
    model = digits_sized_model(tmp_path / "m.onnx", np.random.default_rng(0))
    for lanes in (["--lanes", "16"], []):
        assert main(["compile", str(model), "--bits", "4", "--board", "basys3", *lanes, "-o", str(tmp_path / "b")]) == 1
        err = capsys.readouterr().err
        assert "LUTs by the cost model but basys3's xc7a35tcpg236-1 has 500; use fewer lanes" in err, err
        assert err.count("\n") == 1 and not (tmp_path / "b").exists()


def test_register_accumulators_beyond_the_parts_dsp_slices_are_refused(tmp_path, capsys, monkeypatch):
    """A layer with a lane per output keeps its accumulators in DSP48E1 slices: more slices than the
    part has is one line naming the layers, nothing written; --lanes auto keeps within them, and the
    report counts them."""
    from snnc.boards import registry

    monkeypatch.setitem(registry.PART_RESOURCES, "xc7a35t", {**registry.PART_RESOURCES["xc7a35t"], "DSP": 10})
    model = digits_sized_model(tmp_path / "m.onnx", np.random.default_rng(0))
    assert main(["compile", str(model), "--bits", "4", "--board", "basys3", "--lanes", "64,10", "-o",
                 str(tmp_path / "b")]) == 1
    err = capsys.readouterr().err
    assert re.fullmatch(r"snnc: error: the design's register accumulators need 19 DSP48E1 slices \(lif1 16, lif2 3\) but "
                        r"basys3's xc7a35tcpg236-1 has 10; give those layers fewer lanes than outputs .*\n", err), err
    assert not (tmp_path / "b").exists()
    assert main(["compile", str(model), "--bits", "4", "--board", "basys3", "--lanes", "auto", "--max-luts", "20000",
                 "--spike-rate", "0.2", "-o", str(tmp_path / "auto")]) == 0
    report = (tmp_path / "auto" / "report.txt").read_text()
    slices = int(re.search(r"(\d+) DSP48E1: fits", report).group(1))
    assert 0 < slices <= 10 and "DSP48E1 slices add each weight row" in report, report
