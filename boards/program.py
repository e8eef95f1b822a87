"""`snnc program BUILD`: load a board build's bitstream into its FPGA with openFPGALoader (SRAM, over
JTAG), using the board's name and cable from the registry.  The tool is `openFPGALoader` on PATH
(Debian: `apt install openfpgaloader`) or the path in SNNC_OPENFPGALOADER."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from snnc.compiler.build_folder import BuildSettings
from snnc.compiler.errors import SnncError

from .board_top import PLATFORM_TOP
from .registry import get_board

LOADER_ENV = "SNNC_OPENFPGALOADER"
LOADER = "openFPGALoader"


def bitstream_path(build_dir: Path, settings: BuildSettings) -> Path:
    """Where the Vivado script of a board build writes its bitstream."""
    if not settings.board:
        raise SnncError(f"{build_dir}: not a board build (compile it with --board NAME)")
    return Path(build_dir) / settings.board_files / f"{PLATFORM_TOP}.bit"


def loader_path() -> str:
    """The openFPGALoader to run: SNNC_OPENFPGALOADER, else the one on PATH (the name itself if none)."""
    return os.environ.get(LOADER_ENV) or shutil.which(LOADER) or LOADER


def program_command(build_dir: Path, settings: BuildSettings) -> list[str]:
    """The openFPGALoader command line that loads the build's bitstream into its board's FPGA."""
    bitstream = bitstream_path(build_dir, settings)  # a build without a board has none
    board_name, cable = get_board(settings.board).loader
    return [loader_path(), "-b", board_name, "-c", cable, str(bitstream)]


def program(build_dir: Path, settings: BuildSettings) -> Path:
    """Run program_command; returns the bitstream loaded.  SnncError (one line) without the
    bitstream, the tool or the board."""
    command = program_command(build_dir, settings)
    bitstream = Path(command[-1])
    if not bitstream.is_file():
        raise SnncError(f"{bitstream}: no bitstream; build it with Vivado (snnc compile ... --board {settings.board} "
                        f"--synth, or sh {bitstream.parent}/build_{PLATFORM_TOP}.sh)")
    tool = command[0]
    if not (Path(tool).is_file() and os.access(tool, os.X_OK)):
        raise SnncError(f"{LOADER} not found: install it (Debian: apt install openfpgaloader) or set {LOADER_ENV} "
                        "to its path")
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        why = (done.stderr or done.stdout).strip().splitlines()
        raise SnncError(f"{LOADER} failed (exit {done.returncode}): {why[-1] if why else 'no output'}")
    return bitstream
