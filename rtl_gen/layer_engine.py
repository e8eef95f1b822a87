"""LayerEngine: one event-driven synapse + LIF layer with P parallel lanes (docs/rtl.md).

Two sub-components share two accumulator banks: the Scatter (rtl_gen/scatter.py) adds each input
spike's weights into one bank while the NeuronUpdate (rtl_gen/neuron_update.py) drains the other
bank of the timestep before through the LIF datapaths and clears it.  The banks are one RAM of
P-lane words with the bank as the address's top bit, or with sparse weights
(rtl_gen/sparse_scatter.py) one RAM per lane, each lane's scatter addressing its own, or with the
kernel columns side by side one RAM of P-lane words per column (rtl_gen/scatter.py; the update
reads its group's); the update clears a word by clearing its tag bit (see elaborate).  For a
single group word the accumulators are registers in DSP48E1 slices and their copy (`_registers`).
When the scatter has taken a timestep's end token and the update is idle, the banks swap and the
update of that timestep starts, so the update of timestep t overlaps the scatter of t+1.  After a
reset both banks are cleared (one group per cycle) before the first spike is taken.  The layout
(groups, taps, weight rows, widths) is snnc.compiler.geometry's LayerGeometry.

A recurrent layer (ir.Dense.recurrent) feeds its own spikes back: the update's output goes both
downstream and into a FIFO of one timestep, and a RecurrentMerge (rtl_gen/recurrent_merge.py)
hands the scatter each timestep's input spikes, then the own spikes of the step before.

Ports: i_spikes/o_spikes spike streams; dbg_addr -> dbg_state reads a state word (U lanes);
`events` tells the counters what the engine does this cycle (engine_model.ENGINE_COUNTERS).
"""
from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, fifo, memory, wiring
from amaranth.lib.wiring import In, Out

from snnc.compiler import ir
from snnc.compiler.engine_model import ENGINE_COUNTERS
from snnc.compiler.geometry import LayerGeometry, index_range
from snnc.compiler.layer_impl import LayerImpl
from snnc.compiler.tokens import SpikeTokens

from .accumulator_port import accumulator_layout, bank_rams, ram_ports
from .neuron_update import NeuronUpdate, state_layout
from .recurrent_merge import RecurrentMerge
from .scatter import Scatter
from .simd_accumulator import SimdAccumulator
from .sparse_scatter import SparseScatter
from .spikes import spike_stream, spike_token


class LayerEngine(wiring.Component):
    def __init__(self, stage: ir.Stage, impl: LayerImpl, in_tokens: SpikeTokens, out_tokens: SpikeTokens,
                 rom_name: str | None = None, dsp_primitives: bool = False):
        """stage: the synapse, its current pool, the LIF and its spike pool or crop (ir.Network.stages);
        impl: the scatter's P lanes, the update's U LIF datapaths, the banks (one: the scatter and the
        update take it in turn, half the accumulator RAM, the update no longer overlaps the next
        timestep's scatter) and the weight storage.  rom_name: see Scatter (the weights as a memory
        image, for large designs).  dsp_primitives: register accumulators as DSP48E1 instances
        (for Verilog), or the same arithmetic in logic (Amaranth's simulator; SimdAccumulator)."""
        self.single_bank, self.dsp_primitives = impl.banks == 1, dsp_primitives
        self.geo = g = LayerGeometry.of_stage(stage, impl)
        self.lif, self.in_tokens, self.out_tokens = stage.lif, in_tokens, out_tokens
        self.recurrent = isinstance(stage.synapse, ir.Dense) and stage.synapse.recurrent
        self.merge = RecurrentMerge(in_tokens, out_tokens) if self.recurrent else None
        scatter_tokens = self.merge.out_tokens if self.recurrent else in_tokens
        self.scatter = (SparseScatter if g.sparse is not None else Scatter)(g, scatter_tokens, rom_name)
        super().__init__({
            "i_spikes": In(spike_stream(in_tokens.address_bits)),
            "o_spikes": Out(spike_stream(out_tokens.address_bits)),
            "dbg_addr": In(index_range(g.state_words)),
            "dbg_state": Out(state_layout(g, stage.lif)),
            "events": Out(data.StructLayout({kind: 1 for kind in ENGINE_COUNTERS})),
        })

    def elaborate(self, platform):
        m = Module()
        g = self.geo
        m.submodules.scatter = scatter = self.scatter
        m.submodules.update = update = NeuronUpdate(g, self.lif, self.out_tokens)
        if self.recurrent:
            self._feed_back(m, update)
        else:
            wiring.connect(m, wiring.flipped(self.i_spikes), scatter.i_spikes)
            wiring.connect(m, wiring.flipped(self.o_spikes), update.o_spikes)
        m.d.comb += [update.dbg_addr.eq(self.dbg_addr), self.dbg_state.eq(update.dbg_state),
                     self.events.busy.eq(scatter.busy | update.busy), self.events.scatter_steps.eq(scatter.step),
                     self.events.update_steps.eq(update.step),
                     self.events.input_spikes.eq(scatter.i_spikes.valid & scatter.i_spikes.ready &
                                                 ~scatter.i_spikes.payload.eot),
                     self.events.output_spikes.eq(update.o_spikes.valid & update.o_spikes.ready &
                                                  ~update.o_spikes.payload.eot)]

        # clear both banks after a reset, one group per cycle, before any spike is taken
        clearing = Signal(init=1)
        clear_addr = Signal(index_range(g.acc_depth))
        with m.If(clearing):
            m.d.sync += clear_addr.eq(clear_addr + 1)
            with m.If(clear_addr == g.acc_depth - 1):
                m.d.sync += clearing.eq(0)
        swap = Signal()  # the scatter has closed a timestep and the update is free: update it
        m.d.comb += [swap.eq(scatter.timestep_done & update.idle), scatter.swap.eq(swap), update.start.eq(swap)]
        if self.single_bank:
            self._one_bank(m, scatter, update, clearing, clear_addr)
            return m
        if g.register_accumulators:
            self._registers(m, scatter, update, swap, clearing)
            return m
        m.d.comb += scatter.hold.eq(clearing)

        # the scatter fills bank `bank`, the update drains the other; they swap between timesteps.
        # Both banks are one RAM (per side-by-side column) with the bank as the address's top bit,
        # read at two addresses (the scatter's, the update's: Yosys and Vivado keep a copy per read
        # port, written together) and written by the scatter alone.  A 1-bit tag per word, in a RAM
        # per bank, says whether the scatter wrote it since the update last read it: the update
        # clears the tag, not the word, and a word whose tag is clear reads as 0.  So no data
        # multiplexer chooses a bank, and no zero is written (docs/rtl.md, Memories).
        bank = Signal()
        with m.If(swap):
            m.d.sync += bank.eq(~bank)
        # a tag RAM per bank and data RAM, a bit per word
        tags = [[(mem.read_port(), mem.write_port()) for mem in self._rams(m, f"tag{b}", max(g.acc_depth, 2), 1)]
                for b in range(2)]
        s_words, u_words = [], []
        for k, (mem, (rd_addr, wr_addr, wr_data, wr_en), (u_addr, u_wr, _, u_en)) in \
                enumerate(zip(self._rams(m, "acc", g.banks_depth), ram_ports(scatter.acc), ram_ports(update.acc),
                              strict=True)):
            s_rd, u_rd, wr = mem.read_port(), mem.read_port(), mem.write_port()
            m.d.comb += [s_rd.addr.eq(Cat(rd_addr, bank)), u_rd.addr.eq(Cat(u_addr, ~bank)),
                         wr.addr.eq(Cat(wr_addr, bank)), wr.data.eq(wr_data), wr.en.eq(wr_en)]
            tag_read = []
            for b, (t_rd, t_wr) in enumerate(tag[k] for tag in tags):
                mine = bank == b  # this bank belongs to the scatter now
                m.d.comb += [t_rd.addr.eq(Mux(mine, rd_addr, u_addr)),
                             t_wr.addr.eq(Mux(clearing, clear_addr, Mux(mine, wr_addr, u_wr))),
                             t_wr.data.eq(mine & ~clearing),  # the scatter sets, the update clears
                             t_wr.en.eq(clearing | Mux(mine, wr_en, u_en))]
                tag_read.append(t_rd.data)
            s_words.append(Mux(Mux(bank, tag_read[1], tag_read[0]), s_rd.data, 0))
            u_words.append(Mux(Mux(bank, tag_read[0], tag_read[1]), u_rd.data, 0))
        m.d.comb += [scatter.acc.rd_data.eq(Cat(s_words)), update.acc.rd_data.eq(Cat(u_words))]
        return m

    def _feed_back(self, m, update) -> None:
        """A recurrent engine's streams: the update's spikes downstream and into the feedback FIFO
        (a token leaves when both take it), the FIFO and the input into the merge, the merge into
        the scatter."""
        n_out = self.lif.size
        m.submodules.merge = merge = self.merge
        width = spike_token(self.out_tokens.address_bits).size
        m.submodules.own = own = fifo.SyncFIFOBuffered(width=width, depth=n_out + 1)  # one timestep (see merge)
        wiring.connect(m, wiring.flipped(self.i_spikes), merge.i_spikes)
        wiring.connect(m, merge.o_spikes, self.scatter.i_spikes)
        out = update.o_spikes
        m.d.comb += [self.o_spikes.payload.eq(out.payload), own.w_stream.payload.eq(out.payload),
                     self.o_spikes.valid.eq(out.valid & own.w_stream.ready),
                     own.w_stream.valid.eq(out.valid & self.o_spikes.ready),
                     out.ready.eq(self.o_spikes.ready & own.w_stream.ready),
                     merge.i_own.payload.eq(own.r_stream.payload), merge.i_own.valid.eq(own.r_stream.valid),
                     own.r_stream.ready.eq(merge.i_own.ready)]

    def _rams(self, m, name: str, depth: int, shape=None) -> list[memory.Memory]:
        """A memory per RAM of a bank (accumulator_port.bank_rams: one of P-lane words, one per lane
        with sparse weights, or one per side-by-side column), named `name`_k: `depth` accumulator
        words, or words of `shape`."""
        count, lanes = bank_rams(self.geo)
        if shape is None:
            shape = accumulator_layout(self.geo) if lanes > 1 else signed(self.geo.accumulator_bits)
        mems = [memory.Memory(shape=shape, depth=depth, init=[]) for _ in range(count)]
        for k, mem in enumerate(mems):
            m.submodules[f"{name}_{k}"] = mem
        return mems

    def _registers(self, m, scatter, update, swap, clearing) -> None:
        """Register accumulators (geometry.register_accumulators): the scatter's rows add into the
        SimdAccumulator's registers; at the swap their sums move to a copy, which the update reads
        (its reads and clearing writes need no address: there is one group), and they clear.  They
        clear after a reset too (`clearing`), before the scatter takes a spike."""
        m.submodules.acc = acc = SimdAccumulator(self.geo.lanes, self.geo.accumulator_bits, self.dsp_primitives)
        copy = Signal(accumulator_layout(self.geo))
        m.d.comb += [acc.addend.eq(scatter.acc.addend), acc.add.eq(scatter.acc.add), acc.clear.eq(swap | clearing),
                     scatter.hold.eq(clearing), update.acc.rd_data.eq(copy)]
        with m.If(swap):
            m.d.sync += copy.eq(acc.sum)

    def _one_bank(self, m, scatter, update, clearing, clear_addr) -> None:
        """One accumulator bank: the update owns it while it runs (reading and clearing each group),
        the scatter the rest of the time, and the scatter takes no spike meanwhile."""
        rams = [(mem.read_port(), mem.write_port()) for mem in self._rams(m, "acc", max(self.geo.acc_depth, 2))]
        updating = update.busy
        m.d.comb += scatter.hold.eq(clearing | updating)
        m.d.comb += scatter.zero.eq(updating | clearing)  # the scatter writes the zeros (Scatter.zero)
        for (rd, wr), (rd_addr, wr_addr, wr_data, wr_en), (u_rd, u_wr, _, u_en) in \
                zip(rams, ram_ports(scatter.acc), ram_ports(update.acc), strict=True):
            m.d.comb += [rd.addr.eq(Mux(updating, u_rd, rd_addr)),
                         wr.addr.eq(Mux(clearing, clear_addr, Mux(updating, u_wr, wr_addr))),
                         wr.data.eq(wr_data),
                         wr.en.eq(clearing | Mux(updating, u_en, wr_en))]
        data = Cat(rd.data for rd, _ in rams)
        m.d.comb += [scatter.acc.rd_data.eq(data), update.acc.rd_data.eq(data)]
