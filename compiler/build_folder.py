"""The BUILD_DIR format (docs/spec.md section 4): file names, the settings file, loading with
checks, and the atomic writes every stage uses.  The build library writes build folders, the
simulators and the host runtime read them; none of it needs Amaranth.

    manifest.json     every file snnc compile wrote, with its size and sha256: runs refuse a changed file,
                      and a new compile keeps (--force) or refuses every entry that is neither listed nor a record
    build.json        BuildSettings: each layer's engine (layer_impl.LayerImpl), Verilog names, and for a board build its clock, baud, identity
    network.json/.npz the fixed-point IR (ir_file.save)
    snnc_top.v        the network's Verilog; snnc_board.v the board core's, for a board build
    layerN_weights.mem  the weight RAM images both load with $readmemh
    vivado/           the board's Vivado project (Amaranth's Xilinx platform)
    report.json/.txt  the build report; synth/ the cached Yosys estimate; rtl_run.json the last RTL run;
                      activity.json the last simulation's counted work (the energy estimate's input)
"""
from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import shutil
import signal
import stat
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path


from . import ir, ir_file
from .artix7 import DEFAULT_CLOCK_HZ
from .errors import SnncError
from .files import read_json, read_text, regular_file, save_json, sha256, umask
from .layer_impl import Implementation, LayerImpl, check_implementation

MANIFEST = "manifest.json"  # every file snnc compile wrote, with its size and sha256 (docs/spec.md section 4)
LEGACY_MARKER = ".snnc-build"  # what marked a build before manifests: such a folder is replaced whole
SETTINGS = "build.json"
IR_STEM = "network"
RTL_RUN = "rtl_run.json"
ACTIVITY = "activity.json"  # the last simulation's counted work per inference (snnc.energy)
REPORT_JSON, REPORT_TEXT = "report.json", "report.txt"
SYNTH_DIR = "synth"
SIM_DIR = "sim"
BOARD_FILES = "vivado"
RECORDS = (RTL_RUN, ACTIVITY, SYNTH_DIR, SIM_DIR)  # what snnc writes into a build after compiling it


@dataclass(frozen=True)
class BuildSettings:
    """build.json.  layers: each LIF's engine (lanes, units, banks, weights), in order; top/verilog:
    the network's module and file; for a board build: board name, part, clock (Hz), UART baud,
    32-bit design identity and the board core's Verilog file; memory_files: the $readmemh images."""

    layers: Implementation
    top: str
    verilog: str
    board: str | None = None
    part: str | None = None
    clk_hz: float | None = None
    baud: int | None = None
    identity: int | None = None
    board_verilog: str | None = None
    board_files: str | None = None
    memory_files: tuple[str, ...] = ()

    @property
    def clock_hz(self) -> float:
        """The design's clock: the board's, else artix7.DEFAULT_CLOCK_HZ."""
        return self.clk_hz or DEFAULT_CLOCK_HZ

    def to_json(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
                if v is not None}

    @classmethod
    def from_json(cls, doc, where: str) -> "BuildSettings":
        if not isinstance(doc, dict):
            raise SnncError(f"{where}: not a JSON object")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(doc) - names)
        if unknown:
            raise SnncError(f"{where}: unknown field '{unknown[0]}'")
        types = {"layers": list, "top": str, "verilog": str, "board": str, "part": str, "clk_hz": (int, float),
                 "baud": int, "identity": int, "board_verilog": str, "board_files": str, "memory_files": list}
        for name in ("layers", "top", "verilog"):
            if name not in doc:
                raise SnncError(f"{where}: field '{name}' is missing")
        for name, value in doc.items():
            if not isinstance(value, types[name]) or isinstance(value, bool):
                raise SnncError(f"{where}: field '{name}' must be {getattr(types[name], '__name__', 'a number')}, "
                                f"got {value!r}")
        layers = tuple(LayerImpl.from_json(entry, f"{where}: field 'layers'") for entry in doc["layers"])
        board_fields = ("part", "clk_hz", "baud", "identity", "board_verilog", "board_files")
        if "board" in doc:
            missing = [f for f in board_fields if f not in doc]
            if missing:
                raise SnncError(f"{where}: board build without field '{missing[0]}'")
            if not doc["clk_hz"] > 0 or not 0 < doc["baud"] or not 0 <= doc["identity"] < 1 << 32:
                raise SnncError(f"{where}: clk_hz, baud or identity out of range")
        names = [(f, doc[f]) for f in ("verilog", "board_verilog", "board_files") if f in doc]
        names += [("memory_files", v) for v in doc.get("memory_files", [])]
        for field, value in names:
            if not isinstance(value, str) or Path(value).name != value or value in ("", ".", ".."):
                raise SnncError(f"{where}: field '{field}' must name a file in the build folder, got {value!r}")
        return cls(**{**doc, "layers": layers, "memory_files": tuple(doc.get("memory_files", ()))})


def _manifest_files(build: Path) -> dict[str, dict]:
    """MANIFEST's files (path relative to the build -> {"sha256", "bytes"}), checked for form."""
    where = build / MANIFEST
    if not build.is_dir():
        raise SnncError(f"{build}: not an snnc build folder; run snnc compile first")
    if not os.path.lexists(where):
        raise SnncError(f"{build}: not an snnc build folder (no {MANIFEST}); run snnc compile first")
    doc = read_json(where)
    files = doc.get("files") if isinstance(doc, dict) and doc.get("format") == "snnc-manifest" else None
    entry = lambda rel, e: isinstance(rel, str) and rel and not rel.startswith("/") and ".." not in rel.split("/") \
        and isinstance(e, dict) and isinstance(e.get("sha256"), str) and isinstance(e.get("bytes"), int)
    if not isinstance(files, dict) or not all(entry(rel, e) for rel, e in files.items()):
        raise SnncError(f"{where}: damaged (not an snnc manifest); compile the model again")
    return files


def check_manifest(build: Path) -> None:
    """Every file a run reads is the one snnc compile wrote: the same size and sha256 as the build's
    manifest says, and a regular file.  The board's Vivado project is listed but not checked: it is
    Vivado's input (an engineer may edit its constraints), never read by simulate, report or run."""
    build = Path(build)
    for rel, entry in _manifest_files(build).items():
        if rel.split("/")[0] == BOARD_FILES:
            continue
        path = build / rel
        if not os.path.lexists(path):
            raise SnncError(f"{path}: missing; the build's {MANIFEST} lists it (compile the model again)")
        if regular_file(path).st_size != entry["bytes"] or sha256(path) != entry["sha256"]:
            raise SnncError(f"{path}: changed since snnc compile wrote it (does not match the build's {MANIFEST}); "
                            f"compile the model again")


def write_manifest(build: Path) -> None:
    """MANIFEST of every file in a finished build folder (its sub-folders included)."""
    files = {}
    for root, _, names in os.walk(build):
        for name in names:
            path = Path(root) / name
            files[path.relative_to(build).as_posix()] = {"sha256": sha256(path), "bytes": path.stat().st_size}
    save_json(build / MANIFEST, {"format": "snnc-manifest", "version": 1, "files": dict(sorted(files.items()))})


def snnc_entries(folder: Path) -> set[str]:
    """The names in `folder` that are snnc's: the manifest, the top-level entries it lists, and the
    records snnc writes into a build after compiling it.  A build of snnc before manifests (its
    marker LEGACY_MARKER, no manifest) is snnc's whole.  Empty where neither is readable."""
    try:
        listed = _manifest_files(Path(folder))
    except SnncError:
        return set(os.listdir(folder)) if os.path.isfile(Path(folder) / LEGACY_MARKER) else set()
    return {MANIFEST, *RECORDS, *(rel.split("/")[0] for rel in listed)}


def load(build: Path) -> tuple[ir.Network, BuildSettings]:
    """The IR and the settings of a BUILD_DIR, checked against its manifest and for form; SnncError
    naming the file and field.  The manifest makes them the files compile wrote, whose widths
    size_registers proved: no compiler pass runs here."""
    build = Path(build)
    check_manifest(build)
    where = str(build / SETTINGS)
    net, settings = ir_file.load(build / IR_STEM), BuildSettings.from_json(read_json(build / SETTINGS), where)
    check_implementation(settings.layers, net, where)
    return net, settings


def memory_images(build: Path, settings: BuildSettings) -> dict[str, str]:
    """The memory image files the build's Verilog loads ($readmemh), by name."""
    return {name: read_text(Path(build) / name, "memory image") for name in settings.memory_files}


def record_folder(build: Path, name: str) -> Path:
    """A sub-folder snnc keeps in a build after compiling it (SIM_DIR, SYNTH_DIR), made if missing;
    SnncError if something else has its name."""
    path = Path(build) / name
    try:
        path.mkdir(exist_ok=True)
    except FileExistsError:
        raise SnncError(f"{path}: not a folder; delete it to start over") from None
    except OSError as e:
        raise SnncError(f"{path}: cannot make the folder ({e.strerror})") from None
    return path


def load_json(path: Path) -> dict | None:
    """A JSON object written by snnc in a build folder, None if absent; SnncError if damaged."""
    if not os.path.lexists(path):
        return None
    try:
        doc = read_json(path)
    except SnncError as e:
        raise SnncError(f"{e}; delete it to start over") from None
    if not isinstance(doc, dict):
        raise SnncError(f"{path}: not a JSON object; delete it to start over")
    return doc


def load_rtl_run(build: Path) -> dict | None:
    """rtl_run.json (the last RTL simulation's counters), checked; None if there was none."""
    path = Path(build) / RTL_RUN
    doc = load_json(path)
    if doc is None:
        return None
    count = lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1 << 62
    checks = {"simulator": lambda v: v in ("verilator", "icarus"), "timesteps": lambda v: count(v) and v > 0,
              "samples": lambda v: count(v) and v > 0,
              "cycles_per_inference": lambda v: isinstance(v, list) and len(v) == doc.get("samples") and all(map(count, v)),
              "busy_cycles": lambda v: isinstance(v, dict) and all(isinstance(x, list) and all(map(count, x))
                                                                   for x in v.values())}
    for name, ok in checks.items():
        if not ok(doc.get(name)):
            raise SnncError(f"{path}: field '{name}' is missing or out of range; delete the file to start over")
    return doc


@contextlib.contextmanager
def _locked(folder: Path):
    """Hold an exclusive lock on a folder (flock), so two snnc processes replace its entries in turn."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def load_activity(build: Path) -> dict | None:
    """activity.json (snnc.energy's counts of the last simulation: `activity` from the engine that ran,
    and for an RTL run `golden_activity`, the golden model's on the same input), checked; None if
    there was none."""
    path = Path(build) / ACTIVITY
    doc = load_json(path)
    if doc is None:
        return None
    number = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < 1e18
    # a run has at least one timestep and takes cycles: the energy per inference divides by neither, but
    # compares an RTL run's estimate with the golden model's, which static power makes non-zero
    counts = lambda act: isinstance(act, dict) and number(act.get("timesteps")) and act["timesteps"] >= 1 \
        and number(act.get("cycles")) and act["cycles"] > 0 \
        and isinstance(act.get("layers"), list) \
        and all(isinstance(layer, dict) and isinstance(layer.get("layer"), str)
                and all(number(layer.get(k)) for k in ("input_spikes", "scatter_steps", "update_steps", "output_spikes"))
                for layer in act["layers"])
    ok = doc.get("engine") in ("golden", "rtl") and counts(doc.get("activity")) \
        and (doc["engine"] == "golden" or counts(doc.get("golden_activity")))
    if not ok:
        raise SnncError(f"{path}: damaged or out of range; delete the file to start over")
    return doc


def output_folder(path: Path) -> Path:
    """Where a build named `path` goes: a symlink, dangling or not, is followed to its target."""
    return Path(os.path.realpath(path))


def kept_entries(path: Path, force: bool, shown: Path | None = None) -> list[str]:
    """The entries of an existing folder `path` that snnc did not write (snnc_entries): refused with
    one line unless `force`, which keeps them beside the new build.  Nothing there: []."""
    shown = shown or path
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return []
    except OSError as e:  # a name over 255 bytes, a loop of links, a folder we may not enter
        raise SnncError(f"{shown}: cannot use as the build folder ({e.strerror})") from None
    if not stat.S_ISDIR(st.st_mode):
        raise SnncError(f"{shown}: exists and is not a folder")
    if Path.cwd().resolve().is_relative_to(path):  # the swap would move the folder the user is working in
        raise SnncError(f"{shown}: is the current folder or holds it; build into a folder of its own")
    try:
        names = sorted(set(os.listdir(path)) - snnc_entries(path))
    except OSError as e:
        raise SnncError(f"{shown}: cannot use as the build folder ({e.strerror})") from None
    if names and not force:
        more = f" and {len(names) - 1} more" if len(names) > 1 else ""
        raise SnncError(f"{shown}: holds files snnc did not write ('{names[0]}'{more}); choose another -o, or give "
                        f"--force to build beside them (they are kept)")
    return names


@contextlib.contextmanager
def _signals_deferred():
    """Hold SIGINT, SIGTERM and SIGHUP for the renames of a swap: they arrive after it, on a whole
    folder.  Python runs signal handlers in the main thread whichever thread the kernel picked (a
    mask would have to be set in every thread), so a recorder stands in for the handlers meanwhile."""
    if threading.current_thread() is not threading.main_thread():  # signal.signal works in the main thread only
        yield
        return
    caught = []
    held = {sig: signal.signal(sig, lambda signum, frame: caught.append(signum))
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in held.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        for sig in dict.fromkeys(caught):
            signal.raise_signal(sig)


def _swap(path: Path, new: Path, kept: list[str]) -> Path | None:
    """Move the kept entries of the old build into `new`, the old build aside and `new` into its
    place; returns the folder holding the old build (to delete), None if there was none.  A failure
    at any step undoes the steps before it, so the old build and every kept entry are where they were."""
    moved, aside = [], None
    try:
        for name in kept:
            os.rename(path / name, new / name)
            moved.append(name)
        if os.path.lexists(path):
            aside = Path(tempfile.mkdtemp(prefix=".snnc-old-", dir=path.parent))
            os.rename(path, aside / "build")
        os.rename(new, path)
        return aside
    except BaseException:
        if aside is not None and os.path.lexists(aside / "build"):
            os.rename(aside / "build", path)
        for name in reversed(moved):
            os.rename(new / name, path / name)
        if aside is not None:
            os.rmdir(aside)
        raise


@contextlib.contextmanager
def new_build(path: Path, force: bool = False):
    """Yield a fresh temporary folder beside `path` (a symlink followed to its target) that replaces
    it if the block succeeds, with a manifest of what the block wrote.  Entries of the old folder that
    snnc did not write are refused unless `force`, which moves them into the new build (a name the new
    build writes too is refused).  The old build is moved aside before the new one moves in and
    deleted after, the renames under a lock (two compiles to one folder take turns) with the signals
    held; a failure between them puts the old build back."""
    shown, path = Path(path), output_folder(path)
    kept_entries(path, force, shown)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".snnc-new-", dir=path.parent))
    except OSError as e:
        raise SnncError(f"{shown}: cannot create the build folder ({e.strerror})") from None
    aside, kept = None, []
    # the user's entries left in tmp by an undo that failed too: never deleted, and the error says where
    stranded = lambda: [name for name in kept if os.path.lexists(tmp / name) and not os.path.lexists(path / name)]
    try:
        yield tmp
        write_manifest(tmp)
        os.chmod(tmp, 0o777 & ~umask())
        with _locked(path.parent), _signals_deferred():
            kept = kept_entries(path, force, shown)
            clash = [name for name in kept if os.path.lexists(tmp / name)]
            if clash:
                raise SnncError(f"{shown / clash[0]}: not written by snnc, and the new build writes a file of that "
                                f"name; move it away")
            aside = _swap(path, tmp, kept)
    except OSError as e:  # a full disk, a folder that went away: the old build is back in place
        where = f"; {', '.join(stranded())} could not be put back, and are in {tmp}" if stranded() else ""
        raise SnncError(f"{shown}: cannot write the build ({e.strerror}){where}") from None
    finally:
        if not stranded():
            shutil.rmtree(tmp, ignore_errors=True)
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)


