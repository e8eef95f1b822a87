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
