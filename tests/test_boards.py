"""Board registry, board builds (Vivado script, XDC pins against amaranth-boards), `snnc boards`."""
import json
import re

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
