"""Reading the files a build folder holds or a user names, so that a damaged one is one line naming it:
only regular files are opened (a FIFO in place of a build file would block the reader forever, a
device or folder would be read as garbage), JSON of any nesting depth is an error and not a
RecursionError, and a file's sha256 is read in chunks (a 4M-weight memory image is 30 MB)."""
from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

from .errors import SnncError


def regular_file(path: Path) -> os.stat_result:
    """The stat of `path`, which must be a regular file (a symlink to one is followed); SnncError otherwise."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise SnncError(f"{path}: no such file") from None
    except OSError as e:
        raise SnncError(f"{path}: cannot read ({e.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise SnncError(f"{path}: not a regular file")
    return st


def read_bytes(path: Path) -> bytes:
    regular_file(path)
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise SnncError(f"{path}: cannot read ({e.strerror})") from None


def read_text(path: Path, what: str = "text") -> str:
    """A regular file's UTF-8 text; SnncError naming the file if it is not one."""
    try:
        return read_bytes(path).decode()
    except UnicodeDecodeError:
        raise SnncError(f"{path}: not readable {what} (invalid UTF-8)") from None


def read_json(path: Path):
    """A regular file's JSON value; SnncError naming the file if it is not one (RecursionError included:
    json.loads recurses once per nesting level)."""
    text = read_text(path, "JSON")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as e:
        raise SnncError(f"{path}: not readable JSON ({type(e).__name__})") from None


def sha256(path: Path) -> str:
    """The hex sha256 of a regular file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError as e:
        raise SnncError(f"{path}: cannot read ({e.strerror})") from None
    return h.hexdigest()
