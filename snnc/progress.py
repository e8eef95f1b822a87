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
