"""Design-space sweeps: what each point of a grid of trained models and engine choices costs, run on
a Dask cluster, resumable, with progress; and the Pareto fronts of the results (docs/pareto.md).

    rows = sweep.run(points, evaluate, Path("build/pareto"))      # local cluster, all cores
    rows = sweep.run(points, evaluate, store, scheduler="tcp://10.0.0.5:8786")   # a running cluster
    front = sweep.pareto_front(rows, "energy_j")                   # most accurate for the energy

A point is a dict of JSON values (a training configuration and its builds); `evaluate(point)`
returns its rows (dicts), for instance one per lane count from one trained model, with
`design_costs` giving each build's accuracy, energy, latency and resources.  Each finished point
is written to `store/<key>.json` at once, so an interrupted sweep resumes where it stopped and a
finished one is read back without any work.  Dask runs the points (one worker process per core
by default, one thread each); `scheduler` sends them to an existing cluster instead, whose workers
must be able to import `evaluate`'s module.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.files import read_json, save_json


def plain_json(value, where: str):
    """`value` with numpy scalars and arrays made Python numbers and lists, checked to be JSON: dicts
    with text keys, lists, text, numbers, booleans (None inside a point or row is JSON's null); an
    object JSON cannot hold is a SnncError naming `where` and the field."""
    if isinstance(value, np.generic):
        value = value.item()
    elif isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise SnncError(f"{where}: keys must be text, got {next(k for k in value if not isinstance(k, str))!r}")
        return {k: plain_json(v, f"{where}['{k}']") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise SnncError(f"{where}: {type(value).__name__} is not a JSON value (text, number, boolean, list or dict)")


def point_key(point: dict) -> str:
    """A point's file name in the store: a hash of its JSON (sorted keys)."""
    return hashlib.sha256(json.dumps(point, sort_keys=True).encode()).hexdigest()[:16]


def _result_path(store: Path, point: dict) -> Path:
    return store / f"{point_key(point)}.json"


def _finished(store: Path, point: dict) -> list[dict] | None:
    try:
        doc = read_json(_result_path(store, point))
    except SnncError:  # none yet, or cut short: the point runs again
        return None
    return doc["rows"] if isinstance(doc, dict) and doc.get("point") == point and isinstance(doc.get("rows"), list) else None


def _store(store: Path, point: dict, rows) -> None:
    """Write a finished point's rows (checked JSON) to the store, whole or not at all."""
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise SnncError(f"point {point_key(point)}: evaluate must return a list of dicts, got {type(rows).__name__}")
    save_json(_result_path(store, point), {"point": point, "rows": plain_json(rows, f"point {point_key(point)}: row")})


def run(points: list[dict], evaluate: Callable[[dict], list[dict]], store: Path, scheduler: str | None = None,
        workers: int | None = None, progress: bool = True) -> list[dict]:
    """Every point's rows, in the order of `points`: read from `store` where a point has finished
    before, else evaluated on Dask (a LocalCluster of `workers` processes, default one per core, or
    the cluster at `scheduler`) and written to the store as it finishes.  Points and rows must be
    JSON (numpy scalars and arrays are converted): a point whose rows are not, or whose evaluate
    raised SnncError, is not stored, and the first such error is raised once the others are."""
    from dask.distributed import Client, LocalCluster, as_completed
    from tqdm import tqdm

    store = Path(store)
    if workers is not None and not (isinstance(workers, int) and workers >= 1):
        raise SnncError(f"workers must be at least 1, got {workers!r}")
    if not isinstance(points, (list, tuple)) or not all(isinstance(p, dict) for p in points):
        raise SnncError("points must be a list of dicts (each a point's JSON configuration)")
    points = [plain_json(p, f"point {i}") for i, p in enumerate(points)]
    for i, p in enumerate(points):
        try:
            json.dumps(p, allow_nan=False)
        except ValueError:  # NaN != NaN: such a point would never be found in the store
            raise SnncError(f"point {i}: NaN or infinity cannot be part of a point's configuration") from None
    try:
        store.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SnncError(f"{store}: cannot hold the sweep's results ({e.strerror})") from None
    for p in points:  # refused before any work, not after it
        path = _result_path(store, p)
        if os.path.lexists(path) and not path.is_file():
            raise SnncError(f"{path}: not a regular file where the sweep stores a result; move it away")
    todo = [p for p in points if _finished(store, p) is None]
    failed = []
    if todo:
        cluster = None if scheduler else LocalCluster(n_workers=workers or os.cpu_count(), threads_per_worker=1,
                                                      processes=True, dashboard_address=None)
        try:
            client = Client(scheduler or cluster, timeout="30s")
        except OSError as e:  # a scheduler that does not answer
            raise SnncError(f"Dask scheduler {scheduler}: cannot connect ({e})"[:300]) from None
        with client:
            futures = client.map(evaluate, todo, pure=False)
            where = {f.key: p for f, p in zip(futures, todo)}
            bar = tqdm(as_completed(futures), total=len(todo), desc=f"sweep ({len(points) - len(todo)} done before)",
                       disable=not progress)
            for future in bar:
                try:
                    _store(store, where[future.key], future.result())
                except SnncError as e:
                    failed.append(e)
        if cluster is not None:
            cluster.close()
    if failed:
        raise SnncError(f"{failed[0]} ({len(failed)} of {len(todo)} points not stored, the others are)")
    return [row for p in points for row in _finished(store, p)]


def pareto_front(items: list, cost: str | Callable, gain: str | Callable = "accuracy") -> list:
    """The items that no other beats in both: lower `cost` and higher `gain` (ties kept once), by
    increasing cost.  cost, gain: a row's key (dict rows) or a function of the item."""
    cost_of, gain_of = ((lambda r, k=k: r[k]) if isinstance(k, str) else k for k in (cost, gain))
    front, best = [], -np.inf
    for item in sorted(items, key=lambda r: (cost_of(r), -gain_of(r))):
        if gain_of(item) > best:
            front.append(item)
            best = gain_of(item)
    return front


def write_section(path: Path, heading: str, text: str) -> None:
    """Put `text` (a markdown section starting with the line `heading`) into the file at `path`: in
    place of the section under that heading (up to the next "## " heading), else at the end.  The
    rest of the file is kept as it was, so each sweep regenerates its own section of a shared file."""
    path = Path(path)
    old = path.read_text() if path.exists() else ""
    at = 0 if old.startswith(heading + "\n") else old.find("\n" + heading + "\n")
    if at < 0:
        head, tail = old.rstrip("\n"), ""
    else:
        at += old[at] == "\n"
        end = old.find("\n## ", at)
        head, tail = old[:at].rstrip("\n"), (old[end + 1:] if end >= 0 else "")
    path.write_text((head + "\n\n" if head else "") + text.rstrip("\n") + "\n" + ("\n" + tail if tail else ""))


def design_costs(model_path: Path, spikes: np.ndarray, labels: np.ndarray, lanes, bits: int | None = None,
                 weights: str = "auto", clock_hz: float | None = None, synth: bool = True) -> dict:
    """What one build of an ONNX model costs: compiled at `lanes` (and `bits`, `weights`), run by
    the golden model on the test `spikes` [T, N, ...]: accuracy against `labels`, energy per
    inference and cycles (snnc.energy: golden counts, the engines' schedule), and Yosys' LUT, FF
    and BRAM of the network's engines (without the activity counters, as a board build has them)."""
    from snnc import energy
    from snnc.compiler import artix7, compile_model, geometry, layer_impl
    from snnc.compiler.passes import Options
    from snnc.rtl_gen.synthesis import lut_total
    from snnc.sim import golden

    clock_hz = artix7.DEFAULT_CLOCK_HZ if clock_hz is None else clock_hz
    net = compile_model(model_path, Options(bits=bits))
    impl = layer_impl.implement(net, lanes, weights)
    out, trace = golden.run(net, spikes, trace=True)
    act = energy.activity(net, impl, spikes, trace)
    est = energy.energy(net, impl, act, "golden", clock_hz)
    geos = geometry.network_geometry(net, impl)
    row = {"accuracy": float((golden.classify(out) == labels).mean()), "energy_j": est["per_inference_j"],
           "dynamic_j": est["per_inference_j"] - est["breakdown"]["static"], "cycles": act["cycles"],
           "latency_us": act["cycles"] / clock_hz * 1e6, "lanes": layer_impl.lanes_text(impl),
           "weight_bits": sum(g.weight_bits for g in geos),
           "sparse_layers": sum(g.sparse is not None for g in geos),
           "zero_weights": float(np.mean(np.concatenate([g.synapse.weight.ravel() == 0 for g in geos])))}
    if synth:
        import tempfile

        from snnc.rtl_gen import network_verilog
        from snnc.rtl_gen.synthesis import synthesize

        with tempfile.TemporaryDirectory() as tmp:
            verilog, memories = network_verilog(net, impl, activity_counters=False)
            (Path(tmp) / "net.v").write_text(verilog)
            res = synthesize(Path(tmp) / "net.v", Path(tmp), memories=memories)["resources"]
        row.update(luts=lut_total(res), ffs=res["FF"], bram36=res["BRAM36"] + res["BRAM18"] / 2)
    return row

