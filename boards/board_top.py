"""BoardTop: the BoardCore's Verilog (module `snnc_board`, elaborated once by the compile) on a
board's pins (the UART lines and the first LEDs), and the build files Amaranth's Xilinx platform
makes from it (the top's Verilog, the core's Verilog as an added file, XDC, Vivado Tcl and its
shell script)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from amaranth import ClockSignal, Elaboratable, Instance, Module, ResetSignal, Signal
from amaranth.lib import io

from snnc.compiler.errors import SnncError
from snnc.compiler.contracts import BOARD_LEDS, BOARD_TOP

from .registry import Board

PLATFORM_TOP = "top"


class BoardTop(Elaboratable):
    def __init__(self, board: Board):
        self.board = board

    def elaborate(self, platform):
        m = Module()
        resource, rx, tx = self.board.uart
        uart = platform.request(resource, 0, dir="-")
        m.submodules.rx = rx_buf = io.Buffer("i", getattr(uart, rx))
        m.submodules.tx = tx_buf = io.Buffer("o", getattr(uart, tx))
        leds = Signal(len(BOARD_LEDS))
        m.submodules.core = Instance(BOARD_TOP, i_clk=ClockSignal(), i_rst=ResetSignal(allow_reset_less=True),
                                     i_rx=rx_buf.i, o_tx=tx_buf.o, o_leds=leds)
        for i in range(min(len(BOARD_LEDS), len(self.board.leds()))):
            m.submodules[f"led{i}"] = led = io.Buffer("o", platform.request("led", i, dir="-"))
            m.d.comb += led.o.eq(leds[i])
        return m


def write_board_build(board: Board, core_verilog: str, memories: dict[str, str], folder: Path) -> list[str]:
    """Write the platform's build files for the core (its Verilog text and the memory images it
    loads) on `board` into `folder`; returns their names."""
    platform = board.make_platform()
    platform.add_file(f"{BOARD_TOP}.v", core_verilog)
    for name, image in memories.items():
        platform.add_file(name, image)
    # Vivado finds a $readmemh image by name once it is a source of the project
    add_images = "\n".join(f"add_files {{{name}}}" for name in sorted(memories))
    plan = platform.build(BoardTop(board), name=PLATFORM_TOP, do_build=False, script_after_read=add_images)
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
