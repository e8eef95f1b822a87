"""The Artix-7 boards snnc builds for: amaranth-boards platforms where they exist, `basys3` here.

A Board names its platform class, where its USB-UART is (resource and subsignal names differ
between board files) and the resources of its part (for utilisation in percent)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from amaranth.vendor import XilinxPlatform
from amaranth_boards.alchitry_au import AlchitryAuPlatform
from amaranth_boards.arty_a7 import ArtyA7_35Platform, ArtyA7_100Platform
from amaranth_boards.cmod_a7 import CmodA7_35Platform
from amaranth_boards.nexys4ddr import Nexys4DDRPlatform

from snnc.compiler.errors import SnncError

from .basys3 import Basys3Platform

# Artix-7 data sheet (DS180, table 1): slice LUTs, flip-flops, 36 Kb block RAMs, DSP48E1 slices
PART_RESOURCES = {
    "xc7a12t": {"LUT": 8_000, "FF": 16_000, "BRAM36": 20, "DSP": 40},
    "xc7a15t": {"LUT": 10_400, "FF": 20_800, "BRAM36": 25, "DSP": 45},
    "xc7a25t": {"LUT": 14_600, "FF": 29_200, "BRAM36": 45, "DSP": 80},
    "xc7a35t": {"LUT": 20_800, "FF": 41_600, "BRAM36": 50, "DSP": 90},
    "xc7a50t": {"LUT": 32_600, "FF": 65_200, "BRAM36": 75, "DSP": 120},
    "xc7a75t": {"LUT": 47_200, "FF": 94_400, "BRAM36": 105, "DSP": 180},
    "xc7a100t": {"LUT": 63_400, "FF": 126_800, "BRAM36": 135, "DSP": 240},
    "xc7a200t": {"LUT": 134_600, "FF": 269_200, "BRAM36": 365, "DSP": 740},
}


@dataclass(frozen=True)
class Board:
    name: str
    title: str
    platform: type[XilinxPlatform]
    uart: tuple[str, str, str] = ("uart", "rx", "tx")  # resource, rx subsignal, tx subsignal
    loader: tuple[str, str] = ("", "digilent")  # openFPGALoader's board name (-b) and JTAG cable (-c)

    def make_platform(self) -> XilinxPlatform:
        return self.platform()

    @property
    def device(self) -> str:
        return self.platform.device.lower()

    @property
    def part(self) -> str:
        """The Vivado part name, as Amaranth's Xilinx platform writes it into the build script."""
        return self.make_platform()._part

    @property
    def clock_hz(self) -> float:
        p = self.make_platform()
        return p.lookup(p.default_clk).clock.frequency

    def pins(self, name: str, number: int = 0, sub: str | None = None) -> list[str]:
        """Package pins of a resource (or one of its subsignals), as the board file declares them."""
        res = self.make_platform().lookup(name, number)
        ios = res.ios if sub is None else next(s for s in res.ios if getattr(s, "name", None) == sub).ios
        return [n for io in ios if hasattr(io, "names") for n in io.names]

    def leds(self) -> list[str]:
        p = self.make_platform()
        return [pin for r in p.resources.values() if r.name == "led" for pin in self.pins("led", r.number)]

    def reset_pin(self) -> str | None:
        p = self.make_platform()
        return self.pins(p.default_rst)[0] if p.default_rst else None

    @property
    def resources(self) -> dict[str, int]:
        """The part's resources (an industrial-grade "xc7a35ti" has those of "xc7a35t")."""
        return PART_RESOURCES[re.match(r"xc7a\d+t", self.device)[0]]

    def summary(self) -> tuple[str, ...]:
        """name, part, clock, UART pins (FPGA rx/tx), LEDs, reset pin, title: a row of `snnc boards`."""
        res, rx, tx = self.uart
        leds = self.leds()
        return (self.name, self.part, f"{self.clock_hz / 1e6:g} MHz", f"{self.pins(res, 0, rx)[0]}/{self.pins(res, 0, tx)[0]}",
                f"{len(leds)} ({' '.join(leds[:4])}{' ...' if len(leds) > 4 else ''})", self.reset_pin() or "-", self.title)

    def utilisation(self, resources: dict) -> dict:
        """A synthesis estimate's resources in percent of the part: LUTs (logic and LUTRAM), FFs,
        block RAM (36 Kb units, two BRAM18 to one), DSPs."""
        part = self.resources
        used = {"LUT": resources["LUT"] + resources.get("LUTRAM", 0), "FF": resources["FF"],
                "BRAM36": resources["BRAM36"] + resources["BRAM18"] / 2, "DSP": resources["DSP48"]}
        return {k: {"used": used[k], "available": part[k], "percent": round(100 * used[k] / part[k], 2)} for k in used}


# openFPGALoader's names and cables: its board table (src/board.hpp, JTAG_BOARD entries)
BOARDS = {b.name: b for b in [
    Board("arty-a7-35", "Digilent Arty A7-35T", ArtyA7_35Platform, loader=("arty_a7_35t", "digilent")),
    Board("arty-a7-100", "Digilent Arty A7-100T", ArtyA7_100Platform, loader=("arty_a7_100t", "digilent")),
    Board("nexys-a7-100", "Digilent Nexys A7-100T / Nexys 4 DDR", Nexys4DDRPlatform, loader=("nexys_a7_100", "digilent")),
    Board("cmod-a7-35", "Digilent Cmod A7-35T", CmodA7_35Platform, loader=("cmoda7_35t", "digilent")),
    Board("alchitry-au", "Alchitry Au", AlchitryAuPlatform, ("usb", "usb_rx", "usb_tx"), loader=("alchitry_au", "ft2232")),
    Board("basys3", "Digilent Basys 3", Basys3Platform, loader=("basys3", "digilent")),
]}


def board_table() -> str:
    """`snnc boards`: one aligned row per board (Board.summary) under a header."""
    rows = [("name", "part", "clock", "UART rx/tx", "LEDs", "reset", "board")] + [b.summary() for b in BOARDS.values()]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows)


def get_board(name: str) -> Board:
    if name not in BOARDS:
        raise SnncError(f"unknown board '{name}' (snnc boards lists them: {', '.join(BOARDS)})")
    return BOARDS[name]
