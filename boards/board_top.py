"""BoardTop: a BoardCore on a board's pins (the UART lines and the first LEDs), and the build files
Amaranth's Xilinx platform makes from it (Verilog, XDC, Vivado Tcl and its shell script)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from amaranth import Elaboratable, Module

from snnc.compiler.errors import SnncError
from snnc.rtl_gen import BoardCore

from .registry import Board

PLATFORM_TOP = "top"


class BoardTop(Elaboratable):
    def __init__(self, board: Board, core: BoardCore):
        self.board, self.core = board, core

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = self.core
        resource, rx, tx = self.board.uart
        uart = platform.request(resource, 0)
        m.d.comb += [core.rx.eq(getattr(uart, rx).i), getattr(uart, tx).o.eq(core.tx)]
        for i in range(min(len(core.leds), len(self.board.leds()))):
            m.d.comb += platform.request("led", i).o.eq(core.leds[i])
        return m


def write_board_build(board: Board, core: BoardCore, folder: Path) -> list[str]:
    """Write the platform's build files for `core` on `board` into `folder`; returns their names."""
    plan = board.make_platform().build(BoardTop(board, core), name=PLATFORM_TOP, do_build=False)
    plan.extract(folder)
    return sorted(plan.files)


def run_vivado(folder: Path) -> Path:
    """Run the build script in `folder` (Vivado on PATH); returns the bitstream."""
    if shutil.which("vivado") is None:
        raise SnncError("--synth needs Vivado: 'vivado' is not on PATH (the build script is written without it)")
    script = Path(folder) / f"build_{PLATFORM_TOP}.sh"
    done = subprocess.run(["sh", script.name], cwd=folder, capture_output=True, text=True)
    bitstream = Path(folder) / f"{PLATFORM_TOP}.bit"
    if done.returncode != 0 or not bitstream.exists():
        raise SnncError(f"Vivado failed (exit {done.returncode}); see {folder}/{PLATFORM_TOP}.log")
    return bitstream
