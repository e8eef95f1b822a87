"""Each layer's implementation: how its engine is built, as one frozen LayerImpl per LIF (scatter
lanes, LIF update units, accumulator banks, weight storage), made and checked in one place
(LayerImpl.of), carried by the build (build.json's "layers") and read by the geometry, the engine
model, the RTL and the energy model.  The command line's lanes are spelled here too (`--lanes 4`,
`16,2`, `8:2,4`: parse_lanes, lanes_text).  A convolution's lanes may also cover its kernel columns:
P = C_out x (the most column taps an input feeds, 3 for a 3x3 kernel at stride 1) puts every output
channel and every column tap of a kernel row side by side (`columns`, docs/rtl.md)."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from . import ir
from .errors import SnncError
from .shapes import max_axis_taps
from .sparse import sparse_choice

LaneSpec = int | tuple[int, int]  # P scatter lanes (with P update units), or (P, U)
Lanes = int | tuple[LaneSpec, ...]  # one spec for every layer (an int, or a 1-tuple), or one per layer
WEIGHT_REQUESTS = ("auto", "dense", "sparse")  # --weights: what the user asks for
WEIGHT_FORMATS = ("dense", "sparse")  # what a layer's engine stores (sparse: sparse.SparseRows)


@dataclass(frozen=True)
class LayerImpl:
    """One layer's engine.  lanes: P scatter lanes (1 .. the synapse's output channels), each an
    accumulator adder; units: U LIF update units (a divisor of P; the update takes P/U cycles per
    group); banks: accumulator banks, 2 (the update overlaps the next timestep's scatter) or 1 (half
    the RAM, the update waits); weights: "dense" or "sparse" (only the non-zero weights); columns:
    1, or a convolution's column_taps: the column taps of a spike's kernel row scattered side by
    side, each into its own accumulator RAM (output column mod columns), with P lanes each (then P
    is every output channel, and the weights are dense)."""

    lanes: int = 1
    units: int = 1
    banks: int = 2
    weights: str = "dense"
    columns: int = 1

    @property
    def adders(self) -> int:
        """The scatter's lanes as the command line spells them: P channel lanes x columns."""
        return self.lanes * self.columns

    @classmethod
    def of(cls, synapse: ir.Dense | ir.Conv2d, lanes: int = 1, units: int | None = None, banks: int = 2,
           weights: str = "auto") -> "LayerImpl":
        """The engine a request gives on `synapse`: exactly C_out x column_taps lanes (more than one
        column tap) put the kernel columns side by side; otherwise at most one lane per output
        channel.  The most units up to `units` (default: one per lane) that divide the channel
        lanes; the weight storage asked for ("auto": sparse where it is cheaper,
        sparse.sparse_choice; binary weights and side-by-side columns stay dense)."""
        co, columns = synapse.weight.shape[0], column_taps(synapse)
        wide = columns > 1 and int(lanes) == co * columns
        p = co if wide else max(1, min(int(lanes), co))
        u = max(d for d in range(1, p + 1) if p % d == 0 and d <= (units or p))
        check_weights(weights)
        sparse = not wide and weights != "dense" and sparse_choice(synapse, p, weights == "sparse") is not None
        return cls(p, u, banks, "sparse" if sparse else "dense", columns if wide else 1)

    def to_json(self) -> dict:
        """The fields; columns only where side by side (a build of one column reads as before)."""
        doc = asdict(self)
        if self.columns == 1:
            del doc["columns"]
        return doc

    @classmethod
    def from_json(cls, doc, where: str) -> "LayerImpl":
        """A LayerImpl from its JSON fields, checked for form (not yet against a synapse)."""
        fields = {"lanes": int, "units": int, "banks": int, "weights": str, "columns": int}
        if not isinstance(doc, dict) or not set(fields) - {"columns"} <= set(doc) <= set(fields) or \
                any(not isinstance(doc[k], t) or isinstance(doc[k], bool) for k, t in fields.items() if k in doc):
            raise SnncError(f"{where}: each layer must have integer lanes, units, banks (and columns) and a string "
                            f"weights, got {doc!r}")
        if lane_spec((doc["lanes"], doc["units"])) is None or doc["banks"] not in (1, 2) or \
                doc["weights"] not in WEIGHT_FORMATS or doc.get("columns", 1) < 1:
            raise SnncError(f"{where}: {doc!r}: lanes >= units >= 1, banks 1 or 2, columns >= 1, weights one of "
                            f"{', '.join(WEIGHT_FORMATS)}")
        return cls(**doc)


def column_taps(synapse: ir.Dense | ir.Conv2d) -> int:
    """The most kernel columns one input spike of `synapse` feeds (1 for a dense layer): the
    accumulator RAMs a side-by-side scatter needs (LayerImpl.columns)."""
    if isinstance(synapse, ir.Dense):
        return 1
    return max_axis_taps(synapse.in_shape[2], synapse.weight.shape[3], synapse.stride, synapse.padding)


Implementation = tuple[LayerImpl, ...]  # one LayerImpl per LIF (engine) of a network, in order


def check_weights(request: str) -> str:
    """--weights as given: one of WEIGHT_REQUESTS, else SnncError."""
    if request not in WEIGHT_REQUESTS:
        raise SnncError(f"--weights must be one of {', '.join(WEIGHT_REQUESTS)}, got '{request}'")
    return request


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
    (P, U) with U <= P; SnncError naming `where` otherwise.  Whether the count of specs fits the
    network is implement's question."""
    specs = list(lanes) if isinstance(lanes, tuple) else [lanes]
    if not specs or any(lane_spec(p) is None for p in specs):
        raise SnncError(f"{where} must be a count of at least 1, or one per layer, each P or P:U with 1 <= U <= P; "
                        f"got {lanes!r}")
    return lanes


def parse_lanes(text: str) -> Lanes | str:
    """The command line's spelling: "4", "16,2", "8:2,4" or "auto"; ValueError when it is none of them."""
    if text == "auto":
        return text
    specs = tuple(tuple(map(int, p.split(":"))) if ":" in p else int(p) for p in text.split(","))
    return specs[0] if len(specs) == 1 and isinstance(specs[0], int) else specs


def lanes_text(impl: Implementation) -> str:
    """The lanes of an implementation as the command line spells them: 4 (the same everywhere, one
    unit per lane), or per layer 16,2 or 8:2,4 (a layer's lanes count its side-by-side columns:
    24:4 is 8 channels x 3 columns with 4 units)."""
    spell = [f"{li.adders}:{li.units}" if li.units != li.lanes else str(li.adders) for li in impl]
    return spell[0] if len(set(spell)) == 1 else ",".join(spell)


def implement(net: ir.Network, lanes: Lanes = 1, weights: str = "auto") -> Implementation:
    """Each LIF's LayerImpl for a request: lanes (one spec, or one per layer), weights
    (WEIGHT_REQUESTS, every layer), two accumulator banks (with_banks changes them)."""
    check_lanes(lanes)
    per_layer = list(lanes) if isinstance(lanes, tuple) else [lanes]
    per_layer = per_layer * len(net.lifs) if len(per_layer) == 1 else per_layer
    if len(per_layer) != len(net.lifs):
        raise SnncError(f"lanes {lanes}: give P or P:U (P lanes, U <= P update units, each at least 1) for every "
                        f"layer, or one per layer ({len(net.lifs)} layers: {', '.join(lif.name for lif in net.lifs)})")
    return tuple(LayerImpl.of(stage.synapse, *lane_spec(spec), 2, weights)
                 for stage, spec in zip(net.stages, per_layer))


def with_banks(impl: Implementation, net: ir.Network, single_bank: frozenset[str]) -> Implementation:
    """`impl` with one accumulator bank in the engines of the LIFs named, two in the others."""
    return tuple(LayerImpl(li.lanes, li.units, 1 if lif.name in single_bank else 2, li.weights, li.columns)
                 for li, lif in zip(impl, net.lifs))


def check_implementation(impl: Implementation, net: ir.Network, where: str) -> Implementation:
    """An implementation read back (build.json's "layers"): SnncError naming `where` unless it has one
    LayerImpl per LIF, each what LayerImpl.of gives on its synapse."""
    if len(impl) != len(net.lifs):
        raise SnncError(f"{where}: field 'layers' lists {len(impl)} engines, the network has {len(net.lifs)} LIFs")
    for li, stage in zip(impl, net.stages):
        if LayerImpl.of(stage.synapse, li.adders, li.units, li.banks, li.weights) != li:
            raise SnncError(f"{where}: field 'layers': {li.to_json()} is no engine of {stage.synapse.name}")
    return impl
