"""Reading and writing the files a build folder holds or a user names.  A damaged one is one line
naming it: only regular files are opened (a FIFO in place of a build file would block the reader
forever, a device or folder would be read as garbage), deeply nested JSON is refused before it is
parsed, and a file's sha256 is read in chunks (a 4M-weight memory image is 30 MB).  A file is
written where the user named it (a symlink followed, a pipe written through) and whole: to a
temporary file beside it, renamed over it, so a failure leaves the old one."""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

import numpy as np

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


MAX_JSON_DEPTH = 64  # snnc's own JSON files nest 5 deep at most


def read_json(path: Path):
    """A regular file's JSON value; SnncError naming the file if it is not one.  Nesting deeper than
    MAX_JSON_DEPTH is refused before json.loads, which recurses once per level in C (a RecursionError
    in the main thread, a crash in one with a smaller stack)."""
    text = read_text(path, "JSON")
    if _nesting(text) > MAX_JSON_DEPTH:
        raise SnncError(f"{path}: not readable JSON (nested deeper than {MAX_JSON_DEPTH} levels)")
    try:
        return json.loads(text)
    except ValueError as e:
        raise SnncError(f"{path}: not readable JSON ({type(e).__name__})") from None


def _nesting(text: str) -> int:
    """The deepest nesting of JSON arrays and objects in `text` (brackets inside strings do not count)."""
    code = np.frombuffer(re.sub(r'"(?:[^"\\]|\\.)*"', '""', text).encode(), np.uint8)
    steps = np.isin(code, (ord("["), ord("{"))).astype(np.int64) - np.isin(code, (ord("]"), ord("}")))
    return int(np.cumsum(steps).max(initial=0))


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


def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_json(path: Path, doc: dict) -> None:
    """Write a JSON file of a build folder (its sub-folder made if needed) so that a failure
    leaves the old file (or none), never a partial one."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(Path(path), lambda f: f.write((json.dumps(doc, indent=1) + "\n").encode()))


def load_array(path: Path) -> np.ndarray:
    """A .npy file the user names (input spikes), or a pipe (read whole: np.load seeks);
    SnncError if it is missing, another kind of file, or not an array."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise SnncError(f"{path}: no such file") from None
    except OSError as e:
        raise SnncError(f"{path}: cannot read ({e.strerror})") from None
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
        raise SnncError(f"{path}: not a .npy file ({'a folder' if stat.S_ISDIR(mode) else 'a special file'})")
    try:
        with open(path, "rb") as f:
            return np.load(f if stat.S_ISREG(mode) else io.BytesIO(f.read()), allow_pickle=False)
    except Exception as e:  # numpy raises ValueError, OSError, EOFError ... for a bad file
        raise SnncError(f"{path}: not a readable .npy array ({type(e).__name__})") from None


def save_array(path: Path, array: np.ndarray) -> None:
    """Write a .npy file where the user named it (save_as_named)."""
    save_as_named(path, lambda f: np.save(f, array))


def copy_to(source: Path, path: Path) -> None:
    """Copy the file `source` (one snnc made) to where the user named `path` (save_as_named)."""
    def write(f):
        with open(source, "rb") as src:
            shutil.copyfileobj(src, f)
    save_as_named(path, write)


def save_as_named(path: Path, write) -> None:
    """Write a file where the user named it, write(f) giving its bytes to a binary file: a symlink
    is followed, a special file (/dev/null, a pipe) is written to, a regular file is replaced whole
    (a failure leaves the old one)."""
    path = Path(path)
    target = Path(os.path.realpath(path))
    try:
        if os.path.islink(target):  # realpath stops inside a loop of links: there is nothing to follow
            os.stat(target)
        if target.is_dir():
            raise SnncError(f"{path}: is a folder; name a file to write")
        if target.exists() and not target.is_file():  # np.save asks a file for its position: a pipe has none
            buffer = io.BytesIO()
            write(buffer)
            with open(target, "wb") as f:
                f.write(buffer.getbuffer())
            return
    except OSError as e:
        raise SnncError(f"{path}: cannot write ({e.strerror})") from None
    _write_atomic(target, write, shown=path)


def _write_atomic(path: Path, write, shown: Path | None = None) -> None:
    """Write to a temporary file beside `path` and rename it over `path`: the file keeps the mode
    of the one it replaces, or gets the user's umask."""
    shown = shown or path
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise SnncError(f"{shown}: folder {folder} does not exist")
    try:
        mode = path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~umask()
        fd, tmp = tempfile.mkstemp(prefix=".snnc-", dir=folder)  # short: a 250-byte name stays writable
    except OSError as e:
        raise SnncError(f"{shown}: cannot write ({e.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise SnncError(f"{shown}: cannot write ({e.strerror})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
