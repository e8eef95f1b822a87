"""The port between a layer engine's accumulator bank and the components that use it: the Scatter
and the SparseScatter add into a bank, the NeuronUpdate reads and clears it (docs/rtl.md).

Seen from the component: `rd_addr` -> `rd_data` (the group word's P lanes of signed
accumulator_bits, one cycle later), and `wr_addr`/`wr_data`/`wr_en`.  A bank is one RAM of P-lane
words, addressed once (`per_lane` False), or with sparse weights one RAM per lane, each lane's
address and write enable its own (`per_lane` True).  The LayerEngine joins the ports of its
components to its banks (`ram_ports`).
"""
from __future__ import annotations

from amaranth import Value, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from snnc.compiler.geometry import LayerGeometry, index_range


def accumulator_layout(geo: LayerGeometry) -> data.ArrayLayout:
    """A group word of a bank: P lanes of signed accumulator_bits."""
    return data.ArrayLayout(signed(geo.accumulator_bits), geo.lanes)


class AccumulatorPort(wiring.Signature):
    def __init__(self, geo: LayerGeometry, per_lane: bool = False):
        self.geo, self.per_lane = geo, per_lane
        address = data.ArrayLayout(index_range(geo.groups), geo.lanes) if per_lane else index_range(geo.groups)
        super().__init__({
            "rd_addr": Out(address), "rd_data": In(accumulator_layout(geo)),
            "wr_addr": Out(address), "wr_data": Out(accumulator_layout(geo)), "wr_en": Out(geo.lanes if per_lane else 1),
        })


def ram_ports(port) -> list[tuple[Value, Value, Value, Value]]:
    """(read address, write address, write data, write enable) of each RAM of a bank, from an
    AccumulatorPort: one for a P-lane word, one per lane for per-lane addresses."""
    if not port.signature.per_lane:
        return [(port.rd_addr, port.wr_addr, port.wr_data.as_value(), port.wr_en)]
    return [(port.rd_addr[k], port.wr_addr[k], port.wr_data[k], port.wr_en[k]) for k in range(port.signature.geo.lanes)]


class AddendPort(wiring.Signature):
    """A scatter's side of register accumulators (geometry.register_accumulators): the weight row
    of the step in flight as P addends of accumulator_bits, and `add`, high in the cycle they are
    added."""

    def __init__(self, geo: LayerGeometry):
        self.geo = geo
        super().__init__({"addend": Out(accumulator_layout(geo)), "add": Out(1)})
