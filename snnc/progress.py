"""Progress where a person waits: a bar on a terminal, nothing when piped or without tqdm."""
from __future__ import annotations

import sys


def progress_bar(unit: str):
    """tqdm over a range when tqdm is installed (the [train] extra) and stderr is a terminal."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return lambda it: tqdm(it, unit=unit, disable=not sys.stderr.isatty())


def progress_meter(unit: str):
    """A factory of tqdm bars, (total or None, desc) -> bar, on a terminal; None when piped or
    without tqdm (sim.rtl.run polls a bar for the Verilator build and the samples simulated)."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    if not sys.stderr.isatty():
        return None
    return lambda total, desc: tqdm(total=total, desc=desc, unit=unit, leave=False)
