"""The port between a layer engine's accumulator bank and the components that use it: the Scatter
and the SparseScatter add into a bank, the NeuronUpdate reads and clears it (docs/rtl.md).

Seen from the component: `rd_addr` -> `rd_data` (one cycle later), and `wr_addr`/`wr_data`/`wr_en`.
A bank is one RAM of P-lane words; with sparse weights one RAM per lane (a lane each); with the
kernel columns side by side (geometry.columns) one RAM per column, P lanes each.  `rd_data` and
`wr_data` hold every RAM's word, RAM after RAM; `wr_en` has a bit per RAM.  A scatter addresses each
RAM on its own (`own_addresses`), the update all at one address, or each at its own where it reads
a max pool's window row per cycle (geometry.window_reads).  The LayerEngine joins the ports of
its components to its banks (`ram_ports`).
"""
from __future__ import annotations

from amaranth import Value, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from snnc.compiler.geometry import LayerGeometry, index_range


def accumulator_layout(geo: LayerGeometry) -> data.ArrayLayout:
    """A group word of a bank: P lanes of signed accumulator_bits."""
    return data.ArrayLayout(signed(geo.accumulator_bits), geo.lanes)


def bank_rams(geo: LayerGeometry) -> tuple[int, int]:
    """(RAMs of an accumulator bank, lanes of each): one per lane with sparse weights, one per
    side-by-side column, else one."""
    return (geo.lanes, 1) if geo.sparse is not None else (geo.columns, geo.lanes)


class AccumulatorPort(wiring.Signature):
    def __init__(self, geo: LayerGeometry, own_addresses: bool = False):
        self.geo, self.own_addresses = geo, own_addresses
        self.rams, self.ram_lanes = bank_rams(geo)
        address = index_range(geo.acc_depth)
        address = data.ArrayLayout(address, self.rams) if own_addresses else address
        words = data.ArrayLayout(signed(geo.accumulator_bits), self.rams * self.ram_lanes)
        super().__init__({"rd_addr": Out(address), "rd_data": In(words),
                          "wr_addr": Out(address), "wr_data": Out(words), "wr_en": Out(self.rams)})


def ram_ports(port) -> list[tuple[Value, Value, Value, Value]]:
    """(read address, write address, write data, write enable) of each RAM of a bank, from an
    AccumulatorPort."""
    sig = port.signature
    address = lambda a, k: a[k] if sig.own_addresses else a
    lanes = lambda k: port.wr_data.as_value()[k * sig.ram_lanes * sig.geo.accumulator_bits:
                                              (k + 1) * sig.ram_lanes * sig.geo.accumulator_bits]
    return [(address(port.rd_addr, k), address(port.wr_addr, k), lanes(k), port.wr_en[k]) for k in range(sig.rams)]


class AddendPort(wiring.Signature):
    """A scatter's side of register accumulators (geometry.register_accumulators): the weight row
    of the step in flight as P addends of accumulator_bits, and `add`, high in the cycle they are
    added."""

    def __init__(self, geo: LayerGeometry):
        self.geo = geo
        super().__init__({"addend": Out(accumulator_layout(geo)), "add": Out(1)})
