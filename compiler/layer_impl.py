"""Each layer's implementation choices as the user gives them: P scatter lanes and U LIF update
units per layer (`--lanes 4`, `16,2`, `8:2,4`), validated in one place (check_lanes) and spelled in
one place (parse_lanes, lanes_text)."""
from __future__ import annotations

from .errors import SnncError

LaneSpec = int | tuple[int, int]  # P scatter lanes (with P update units), or (P, U)
Lanes = int | tuple[LaneSpec, ...]  # one spec for every layer (an int, or a 1-tuple), or one per layer


def lane_spec(spec) -> tuple[int, int] | None:
    """(lanes, units) of one layer's spec, None when it is not a valid P or (P, U)."""
    is_count = lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1
    if is_count(spec):
        return spec, spec
    if isinstance(spec, tuple) and len(spec) == 2 and all(map(is_count, spec)) and spec[1] <= spec[0]:
        return spec
    return None


def check_lanes(lanes, where: str = "--lanes") -> Lanes:
    """`lanes` in its one form, a count of at least 1 or a non-empty tuple of per-layer specs P or
    (P, U) with U <= P (JSON's lists become tuples); SnncError naming `where` otherwise.  Whether the
    count of specs fits the network is layer_lanes' question."""
    as_tuple = lambda v: tuple(as_tuple(p) for p in v) if isinstance(v, list) else v
    checked = as_tuple(lanes)
    specs = list(checked) if isinstance(checked, tuple) else [checked]
    if not specs or any(lane_spec(p) is None for p in specs):
        raise SnncError(f"{where} must be a count of at least 1, or one per layer, each P or P:U with 1 <= U <= P; "
                        f"got {lanes!r}")
    return checked


def parse_lanes(text: str) -> Lanes | str:
    """The command line's spelling: "4", "16,2", "8:2,4" or "auto"; ValueError when it is none of them."""
    if text == "auto":
        return text
    specs = tuple(tuple(map(int, p.split(":"))) if ":" in p else int(p) for p in text.split(","))
    return specs[0] if len(specs) == 1 and isinstance(specs[0], int) else specs


def lanes_text(lanes: Lanes) -> str:
    """`lanes` as the command line spells it: 4, 16,2 or 8:2,4 (pairs as tuples, or as JSON's lists)."""
    spell = lambda p: f"{p[0]}:{p[1]}" if isinstance(p, (tuple, list)) else str(p)
    return spell(lanes) if isinstance(lanes, int) else ",".join(map(spell, lanes))


def layer_lanes(net, lanes: Lanes) -> list[tuple[int, int]]:
    """The requested (lanes, update units) of each layer (an engine uses at most its output
    channels, and units that divide its lanes)."""
    per_layer = [lanes] if isinstance(lanes, int) else list(lanes)
    per_layer = per_layer * len(net.lifs) if len(per_layer) == 1 else per_layer
    specs = [lane_spec(p) for p in per_layer]
    if len(specs) != len(net.lifs) or None in specs:
        raise SnncError(f"lanes {lanes}: give P or P:U (P lanes, U <= P update units, each at least 1) for every "
                        f"layer, or one per layer ({len(net.lifs)} layers: {', '.join(lif.name for lif in net.lifs)})")
    return specs


