"""A saved GTKWave layout for an RTL run's waveform: the network's start, done and clock, then one
group per layer engine (its busy signal, its scatter's and update's, and the handshakes of the spike
streams in and out), named as docs/rtl.md names the components.  GTKWave opens it with
`gtkwave FILE.gtkw`; Surfer reads the waveform itself (FST or VCD) and takes the same signal paths."""
from __future__ import annotations

from pathlib import Path

from snnc.compiler import files, ir
from snnc.compiler.contracts import NETWORK_TOP

# GTKWave's trace flags: a 1-bit signal in binary, right-justified; a group's opening and closing row
BINARY, GROUP_BEGIN, GROUP_END = "@28", "@800200", "@1000200"
ENGINE_SIGNALS = ("busy", "scatter.busy", "update.busy", "i_spikes__valid", "i_spikes__ready", "o_spikes__valid",
                  "o_spikes__ready")


def gtkwave_layout(net: ir.Network, waveform: Path, top: str = NETWORK_TOP) -> str:
    """The .gtkw text for `waveform`, a run of `net`'s design whose top module is `top`."""
    lines = [f"[*] snnc: {net.name}, one group per layer engine (docs/rtl.md)", f'[dumpfile] "{Path(waveform).resolve()}"',
             BINARY, *(f"{top}.{s}" for s in ("clk", "start", "done"))]
    for i, lif in enumerate(net.lifs):
        label = f"-layer{i} ({lif.name})"
        lines += [GROUP_BEGIN, label, BINARY, *(f"{top}.layer{i}.{s}" for s in ENGINE_SIGNALS), GROUP_END, label]
    return "\n".join(lines) + "\n"


def write_layout(net: ir.Network, waveform: Path) -> Path:
    """Write gtkwave_layout beside the waveform (its name with .gtkw); returns the layout's path."""
    layout = Path(waveform).with_suffix(".gtkw")
    text = gtkwave_layout(net, waveform)
    files.save_as_named(layout, lambda f: f.write(text.encode()))
    return layout


def cut_vcd(source: Path, windows: list[tuple[int, int]], out) -> None:
    """Copy the VCD file `source` to the binary file `out`, keeping only the times within `windows`
    ((start, end) in the file's time units, ascending): its header, then for each window every
    signal's value at its start (as $dumpvars, then $dumpall) and the changes up to its end."""
    values: dict[str, str] = {}  # id code -> its value line
    windows = sorted(windows)
    k, time, opened, stamped = 0, 0, -1, -1  # the window now or next, the time, the window whose snapshot
    # is out, the last time written
    with open(source, "r", errors="replace") as f:
        for line in f:
            out.write(line.encode())
            if line.startswith("$enddefinitions"):
                break
        for line in f:
            text = line.strip()
            if not text or text in ("$end", "$dumpvars", "$dumpall", "$dumpon", "$dumpoff"):
                continue
            if text[0] == "#":
                time = int(text[1:])
                while k < len(windows) and time > windows[k][1]:
                    k += 1
                if k == len(windows):
                    break
                continue
            code = text.split()[-1] if text[0] in "bBrR" else text[1:]
            values[code] = text
            if k < len(windows) and windows[k][0] <= time:
                if opened < k:  # the window's first change: every value as it stands
                    out.write(f"#{time}\n{'$dumpvars' if opened < 0 else '$dumpall'}\n".encode())
                    out.write("".join(v + "\n" for v in values.values()).encode() + b"$end\n")
                    opened, stamped = k, time
                else:
                    out.write((f"#{time}\n" if time != stamped else "").encode() + f"{text}\n".encode())
                    stamped = time
