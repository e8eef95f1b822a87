"""SpikeSerializer: turns per-group spike masks into a stream of spike addresses.

The layer's neuron update produces, per group of P lanes, a P-bit mask of the lanes that fired.
Masks are queued in a FIFO (deep enough for every group of one timestep, so the update never
stalls) and emitted one address per cycle: address = base + lane * lane_stride, lowest lane
first.  An entry with `eot` set emits the end-of-timestep token after all spikes before it.
With `value_bits`, an entry also carries one word per lane, and a set lane emits its word in place
of its address (a readout's states: tokens.MembraneTokens).
"""
from __future__ import annotations

from amaranth import Module, Mux, Signal, unsigned
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from .arith import times
from .spikes import spike_stream


def mask_layout(lanes: int, address_bits: int, value_bits: int = 0) -> data.StructLayout:
    values = {"values": data.ArrayLayout(unsigned(value_bits), lanes)} if value_bits else {}
    return data.StructLayout({"base": unsigned(address_bits), "mask": unsigned(lanes), "eot": 1, **values})


class SpikeSerializer(wiring.Component):
    """lanes: mask width; lane_stride: address distance between lanes; depth: queued masks;
    address_bits: the output stream's address width; value_bits: each lane's word (0: none)."""

    def __init__(self, lanes: int, lane_stride: int, depth: int, address_bits: int, value_bits: int = 0):
        self.lanes, self.lane_stride, self.depth, self.address_bits = lanes, lane_stride, depth, address_bits
        self.value_bits = value_bits
        super().__init__({
            "i_masks": In(stream.Signature(mask_layout(lanes, address_bits, value_bits))),
            "o_spikes": Out(spike_stream(address_bits)),
            "empty": Out(1), "level": Out(range(depth + 1)),
        })

    def elaborate(self, platform):
        m = Module()
        layout = mask_layout(self.lanes, self.address_bits, self.value_bits)
        m.submodules.queue = queue = fifo.SyncFIFOBuffered(width=layout.size, depth=self.depth)
        m.d.comb += [queue.w_data.eq(self.i_masks.payload.as_value()), queue.w_en.eq(self.i_masks.valid),
                     self.i_masks.ready.eq(queue.w_rdy)]

        cur_valid = Signal()
        cur = Signal(layout)
        lane = Signal(range(max(self.lanes, 2)))
        for i in reversed(range(self.lanes)):  # priority encoder: the lowest set lane wins
            with m.If(cur.mask[i]):
                m.d.comb += lane.eq(i)
        remaining = Signal(self.lanes)
        m.d.comb += remaining.eq(cur.mask & (cur.mask - 1))

        m.d.comb += [self.o_spikes.valid.eq(cur_valid),
                     self.o_spikes.payload.eot.eq(cur.eot),
                     self.o_spikes.payload.addr.eq(Mux(cur.eot, 0, cur.values[lane]) if self.value_bits else
                                                   cur.base + times(lane, self.lane_stride))]
        finishing = cur_valid & self.o_spikes.ready & (cur.eot | (remaining == 0))
        with m.If(cur_valid & self.o_spikes.ready & ~cur.eot):
            m.d.sync += cur.mask.eq(remaining)
        load = ~cur_valid | finishing
        m.d.comb += queue.r_en.eq(load)
        with m.If(load):
            m.d.sync += cur_valid.eq(queue.r_rdy)
            with m.If(queue.r_rdy):
                m.d.sync += cur.eq(queue.r_data)
        m.d.comb += [self.empty.eq(~cur_valid & (queue.level == 0)), self.level.eq(queue.level)]
        return m
