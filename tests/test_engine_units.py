"""The layer engine and its sub-components in Amaranth's simulator, each against the golden model:
the Scatter fills an accumulator bank with exactly the raw synaptic sums, the NeuronUpdate turns a
bank into exactly the golden LIF's spikes and states, timestep after timestep, and the LayerEngine
(both together, with two banks or one) turns input spikes into exactly the golden layer's."""
from dataclasses import replace

import numpy as np
import pytest
from amaranth import Cat, Module, Value, signed
from amaranth.lib import memory
from amaranth.sim import Simulator

from snnc.compiler.layer_impl import LayerImpl
from snnc.compiler import ir
from snnc.compiler import levels as codec
from snnc.compiler.engine_model import EngineModel
from snnc.compiler.geometry import LayerGeometry, stream_tokens
from snnc.compiler.register_sizes import size_registers
from snnc.compiler.tokens import SpikeTokens
from snnc.compiler import update_skips
from snnc.rtl_gen.layer_engine import LayerEngine
from snnc.rtl_gen.neuron_update import NeuronUpdate
from snnc.rtl_gen.accumulator_port import accumulator_layout, ram_ports
from snnc.rtl_gen.scatter import Scatter
from snnc.rtl_gen.sparse_scatter import SparseScatter
from snnc.sim import golden


def conv_net(rng, in_shape=(2, 5, 4), co=3, k=3, stride=1, pad=1, bits=4, levels=True, floor_bits=0):
    """floor_bits: the LIF's grid refined that many bits below its declared one (the leak and the
    level midpoints floored onto the declared grid), its threshold, levels and weight shifts scaled
    to match."""
    lo, hi = -(1 << (bits - 1)) + 1, (1 << (bits - 1)) - 1
    w = rng.integers(lo, hi + 1, (co, in_shape[0], k, k))
    syn = ir.Conv2d("conv", w, rng.integers(-3, 4, co), rng.integers(0, 2, co) + floor_bits, bits, in_shape, stride, pad)
    theta = 12 << floor_bits
    lv = codec.integerize_levels(codec.threshold_centered_levels(3, 12), 1.0) << floor_bits if levels else None
    lif = ir.LIF("lif", syn.out_shape, theta, 7, 3, "subtract", "threshold_centered" if levels else "none",
                 int(lv[0]) if levels else -64, int(lv[-1]) if levels else 63, lv, floor_bits=floor_bits)
    return size_registers(ir.validate(ir.Network("n", in_shape, (syn, lif))))


def pack(values, bits):
    return sum((int(v) & ((1 << bits) - 1)) << (i * bits) for i, v in enumerate(values))


def unpack(word, bits, n, signed=True):
    out = [(word >> (i * bits)) & ((1 << bits) - 1) for i in range(n)]
    return [v - (1 << bits) if signed and v >> (bits - 1) else v for v in out]


class ScatterHarness:
    """A Scatter writing into a real accumulator bank (a RAM per side-by-side column), with a second
    read port on each to inspect it."""

    def __init__(self, geo, tokens):
        self.m = Module()
        self.m.submodules.dut = self.dut = d = Scatter(geo, tokens)
        self.peeks, reads = [], []
        for (rd_addr, wr_addr, wr_data, wr_en), k in zip(ram_ports(d.acc), range(geo.columns)):
            self.m.submodules[f"bank{k}"] = bank = memory.Memory(shape=accumulator_layout(geo),
                                                                 depth=max(geo.acc_depth, 2), init=[])
            rd, wr = bank.read_port(), bank.write_port()
            self.peeks.append(bank.read_port(domain="comb"))
            reads.append(rd.data)
            self.m.d.comb += [rd.addr.eq(rd_addr), wr.addr.eq(wr_addr), wr.data.eq(wr_data), wr.en.eq(wr_en)]
        self.m.d.comb += d.acc.rd_data.eq(Cat(reads))

    def group(self, ctx, og: int, oy: int, ox: int) -> list[int]:
        """The P accumulators of group (og, oy, ox), where geometry.acc_address puts them."""
        geo = self.dut.geo
        ram, word = geo.acc_address(og, oy, ox)
        ctx.set(self.peeks[ram].addr, word)
        return unpack(ctx.get(Value.cast(self.peeks[ram].data)), geo.accumulator_bits, geo.lanes)


async def scatter_timestep(ctx, dut, tokens) -> int:
    """Feed one timestep's tokens to a scatter, wait until it is done (no token taken meanwhile:
    held until the swap), swap; the cycles it took."""
    cycles = 0
    for token in tokens:
        ctx.set(dut.i_spikes.payload.as_value(), int(token))
        ctx.set(dut.i_spikes.valid, 1)
        taken = False
        while not taken:  # the token is taken at the edge after a cycle it is offered with ready high
            taken = ctx.get(dut.i_spikes.ready)
            await ctx.tick()
            cycles += 1
    ctx.set(dut.i_spikes.valid, 0)
    while not ctx.get(dut.timestep_done):
        await ctx.tick()
        cycles += 1
    assert not ctx.get(dut.i_spikes.ready)
    ctx.set(dut.swap, 1)
    await ctx.tick()
    ctx.set(dut.swap, 0)
    return cycles


class SparseScatterHarness:
    """A SparseScatter writing into one accumulator RAM per lane, each with a peek port."""

    def __init__(self, geo, tokens):
        self.m = Module()
        self.m.submodules.dut = self.dut = d = SparseScatter(geo, tokens)
        self.peeks = []
        for lane in range(geo.lanes):
            self.m.submodules[f"bank{lane}"] = bank = memory.Memory(shape=signed(geo.accumulator_bits),
                                                                    depth=max(geo.groups, 2), init=[])
            rd, wr = bank.read_port(), bank.write_port()
            self.peeks.append(bank.read_port(domain="comb"))
            self.m.d.comb += [rd.addr.eq(d.acc.rd_addr[lane]), d.acc.rd_data[lane].eq(rd.data),
                              wr.addr.eq(d.acc.wr_addr[lane]), wr.data.eq(d.acc.wr_data[lane]), wr.en.eq(d.acc.wr_en[lane])]


@pytest.mark.parametrize("lanes, density, delta_bits, shared", [
    (1, 0.3, None, False), (1, 0.15, 1, False), (2, 0.3, 2, False), (3, 0.6, None, False), (4, 0.2, 1, False),
    (2, 1.0, None, False), (1, 0.3, None, True), (3, 0.2, 1, True)])
def test_sparse_scatter_accumulates_the_raw_sums(lanes, density, delta_bits, shared, monkeypatch):
    """Every spike of a timestep back to back (the next spike's first entry may hit the group the
    last one writes: forwarding), inputs without synapses, skip entries (delta_bits 1), pads (lanes
    > 1), and weights that share four values (2-bit codes and a table)."""
    from snnc.compiler import geometry, sparse

    rng = np.random.default_rng(lanes * 10 + int(density * 10))
    n_out, n_in = 11, 9
    pool = np.array([-7, -6, 6, 7]) if shared else np.arange(-7, 8)
    w = rng.choice(pool, (n_out, n_in)) * (rng.random((n_out, n_in)) < density)
    w[:, 4] = 0
    syn = ir.Dense("fc", w, np.zeros(n_out, np.int64), np.zeros(n_out, np.int64), 4, 10, 10)
    rows = sparse.sparse_rows(w, lanes, 4, delta_bits)
    assert rows.values is not None or not shared  # a small random layer may share values too
    monkeypatch.setattr(geometry.LayerGeometry, "sparse", property(lambda self: rows))
    geo, tokens = LayerGeometry(syn, LayerImpl(lanes, lanes, 2, "sparse")), SpikeTokens.for_shape((n_in,))
    h = SparseScatterHarness(geo, tokens)
    x = (rng.random((3, n_in)) < 0.6).astype(np.uint8)
    x[0] = 1  # every input, back to back
    sim = Simulator(h.m)
    sim.add_clock(1e-8)

    async def bench(ctx):
        d = h.dut
        expect = np.zeros(n_out, np.int64)
        for t in range(len(x)):
            expect = expect + w @ x[t]  # the bank is not cleared here
            cycles = await scatter_timestep(ctx, d, tokens.encode(x[t:t + 1]))
            assert cycles <= int(np.maximum(rows.row_lengths, 1) @ x[t]) + 4
            got = np.zeros(n_out, np.int64)
            for g in range(geo.groups):
                for lane, peek in enumerate(h.peeks):
                    ctx.set(peek.addr, g)
                    if g * lanes + lane < n_out:
                        got[g * lanes + lane] = ctx.get(peek.data)
            np.testing.assert_array_equal(got, expect, err_msg=f"timestep {t}")

    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("lanes, stride, pad, columns", [(1, 1, 1, 1), (2, 1, 1, 1), (4, 2, 0, 1), (3, 1, 0, 1),
                                                        (9, 1, 1, 3), (6, 1, 0, 2), (6, 2, 1, 2)])
def test_scatter_accumulates_the_raw_sums(lanes, stride, pad, columns):
    """Weight rows of P lanes, or of a kernel row's columns side by side (P = C_out x columns, a RAM
    per column): the bank holds exactly the raw sums, in as many cycles as the engine model says."""
    rng = np.random.default_rng(lanes)
    net = conv_net(rng, stride=stride, pad=pad)
    syn = net.layers[0]
    geo, tokens = LayerGeometry(syn, LayerImpl.of(syn, lanes)), stream_tokens(net)[0]
    assert geo.columns == columns
    h = ScatterHarness(geo, tokens)
    x = (rng.random((2, *syn.in_shape)) < 0.3).astype(np.uint8)  # two timesteps, one scattered at a time
    plain = ir.Conv2d("raw", syn.weight, np.zeros_like(syn.bias), np.zeros_like(syn.shift), syn.weight_bits,
                      syn.in_shape, stride, pad)
    sim = Simulator(h.m)
    sim.add_clock(1e-8)

    async def bench(ctx):
        d = h.dut
        expect = np.zeros(syn.out_shape, np.int64)
        for t in range(len(x)):
            expect = expect + golden.synaptic_current(plain, x[t:t + 1])[0]  # the bank is not cleared here
            cycles = await scatter_timestep(ctx, d, tokens.encode(x[t:t + 1]))
            model = EngineModel(geo, None).scatter_cycles(x[t:t + 1, None])[0, 0]
            assert model <= cycles <= model + 1  # and the last write landing
            got = np.zeros(syn.out_shape, np.int64)
            for og, oy, ox in np.ndindex(geo.go, geo.ho, geo.wo):
                for lane, v in enumerate(h.group(ctx, og, oy, ox)):
                    if og * geo.lanes + lane < geo.co:
                        got[og * geo.lanes + lane, oy, ox] = v
            np.testing.assert_array_equal(got, expect, err_msg=f"timestep {t}")

    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("floor_bits", [0, 2])
@pytest.mark.parametrize("lanes, units, levels, k1, k2, crop, quiet, columns", [(*case, 1) for case in [
    (1, 1, True, 1, 1, None, False), (2, 2, True, 1, 1, None, False), (4, 4, False, 1, 1, None, False),
    (3, 3, False, 1, 1, None, False), (2, 2, True, 2, 1, None, False), (1, 1, False, 1, 2, None, False),
    (3, 3, True, 2, 2, None, False), (2, 2, False, 1, 1, (3, 2), False), (4, 1, True, 1, 1, None, False),
    (4, 2, False, 1, 1, None, False), (6, 2, True, 2, 2, None, False), (6, 3, False, 1, 2, None, False),
    (6, 2, True, 2, 2, None, True), (6, 2, False, 1, 2, None, True), (3, 1, True, 1, 1, None, True),
    (8, 2, True, 1, 2, (2, 1), True)]] + [  # the accumulators in a RAM per side-by-side kernel column
    (3, 3, True, 1, 1, None, False, 3), (4, 2, False, 2, 1, None, False, 3), (6, 2, True, 2, 2, None, True, 3),
    (3, 1, False, 3, 1, None, False, 3),
    (8, 2, True, 1, 2, (2, 1), True, 3)])
def test_neuron_update_equals_golden_lif(lanes, units, levels, k1, k2, crop, quiet, columns, floor_bits):
    """units < lanes: fewer LIF datapaths, each group in lanes/units parts; k1: a max pool of the
    currents; k2: a max pool (OR) of the spikes; crop: the emitted grid; floor_bits: a refined grid
    (the leak and the midpoints floored onto the declared one); quiet: no bias and most groups'
    sums 0, which an event-driven update skips (compiler/update_skips.py) in the steps it predicts;
    columns: the bank's RAMs (geometry.acc_address), read all at one address, or with a max pool of
    currents a window row per phase, each RAM at its own."""
    rng = np.random.default_rng(10 + lanes + 7 * k1 + 5 * k2 + units)
    net = conv_net(rng, in_shape=(2, 5, 5), co=lanes if lanes > 3 else 3, levels=levels, floor_bits=floor_bits)
    syn, lif = net.layers
    if quiet:
        syn = replace(syn, bias=np.zeros_like(syn.bias))
    geo = LayerGeometry(syn, LayerImpl.of(syn, lanes * columns, units), k1, k2, crop)
    assert (geo.lanes, geo.units, geo.columns) == (lanes, units, columns)
    lif = replace(lif, shape=(syn.weight.shape[0], geo.lif_h, geo.lif_w))
    assert EngineModel(geo, lif).event_driven == quiet
    out_shape = (lif.shape[0], geo.out_h, geo.out_w)
    tokens = SpikeTokens.for_shape(out_shape)
    dut = NeuronUpdate(geo, lif, tokens)
    steps = 5
    co = lif.shape[0]
    raw = rng.integers(-20, 21, (steps, co, geo.ho, geo.wo))  # raw sums the scatter would have left
    if quiet:  # whole groups of P lanes and k1 x k1 currents without input, and a timestep without any
        fed = rng.random((steps, geo.go, 1, geo.lif_h, 1, geo.lif_w, 1)) < 0.35
        fed = np.broadcast_to(fed, (steps, geo.go, geo.lanes, geo.lif_h, k1, geo.lif_w, k1))
        raw = raw * fed.reshape(steps, -1, geo.ho, geo.wo)[:, :co]
        raw[2] = 0
    pooled = raw.reshape(steps, co, geo.lif_h, k1, geo.lif_w, k1).max(axis=(3, 5))
    current = (pooled << syn.shift[None, :, None, None]) + syn.bias[None, :, None, None]
    v = np.zeros(lif.shape, np.int64)
    want_spikes, want_states = [], []
    for t in range(steps):
        s, v = golden.lif_step(lif, v, current[t])
        s = s[:, : geo.out_h * k2, : geo.out_w * k2].reshape(co, geo.out_h, k2, geo.out_w, k2).max(axis=(2, 4))
        want_spikes.append(s)
        want_states.append(codec.encode(v, lif.levels, lif.floor_bits) if levels else v)
    ab, sb = geo.accumulator_bits, lif.state_bits

    def raw_of(t, group, lane):  # accumulator word `group`, lane: channel og*P + lane at one pixel
        og, pixel = divmod(group, geo.pixels)
        c = og * geo.lanes + lane
        return raw[t, c].reshape(-1)[pixel] if c < co else 0

    banks, group_at = [{} for _ in range(steps)], {}  # banks[t][RAM, word]: a RAM's word; (RAM, word) -> group
    for g in range(geo.groups):
        og, pixel = divmod(g, geo.pixels)
        ram, word = geo.acc_address(og, *divmod(pixel, geo.wo))
        group_at[ram, word] = g
        for t in range(steps):
            banks[t][ram, word] = pack([raw_of(t, g, ln) for ln in range(geo.lanes)], ab)
    own = geo.window_reads > 1  # each RAM read and cleared at its own address
    assert own == (k1 > 1 and columns > 1)
    address = lambda addr, ram: addr[ram] if own else addr
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    got_spikes, cleared = [], []

    async def bank_model(ctx):  # the drained bank: one cycle of read latency, clears recorded
        t = 0
        edges = ctx.tick().sample(dut.acc.rd_addr, dut.acc.wr_en, dut.acc.wr_addr, dut.o_spikes.valid,
                                  dut.o_spikes.payload.eot)
        async for _clk, _rst, addr, clr, clr_addr, valid, eot in edges:
            bank = banks[min(t, steps - 1)]
            ctx.set(Value.cast(dut.acc.rd_data), sum(bank.get((ram, address(addr, ram)), 0) << (ram * geo.lanes * ab)
                                                     for ram in range(geo.columns)))
            cleared.extend(group_at[ram, address(clr_addr, ram)] for ram in range(geo.columns) if clr >> ram & 1)
            if valid and eot:
                t += 1

    issued = []

    async def bench(ctx):
        ctx.set(dut.o_spikes.ready, 1)
        for t in range(steps):
            while not ctx.get(dut.idle):
                await ctx.tick()
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            spikes = np.zeros(int(np.prod(out_shape)), np.uint8)
            issued.append(0)
            while True:
                issued[-1] += ctx.get(dut.step)
                await ctx.tick()
                if ctx.get(dut.o_spikes.valid):
                    if ctx.get(dut.o_spikes.payload.eot):
                        break
                    spikes[tokens.unpack(ctx.get(dut.o_spikes.payload.addr))] += 1
            got_spikes.append(spikes)
            while not ctx.get(dut.idle):
                await ctx.tick()
            states = np.zeros(lif.size, np.int64)
            for w in range(geo.state_words):
                ctx.set(dut.dbg_addr, w)
                await ctx.tick()
                word = ctx.get(Value.cast(dut.dbg_state))
                for u, value in enumerate(unpack(word, sb, geo.units, signed=not levels)):
                    if (n := geo.state_neuron_index(w, u)) is not None:
                        states[n] = value
            np.testing.assert_array_equal(states, want_states[t].reshape(-1), err_msg=f"states at {t}")

    sim.add_process(bank_model)
    sim.add_testbench(bench)
    sim.run_until(1e-8 * 6000)
    assert len(got_spikes) == steps
    for t in range(steps):  # each spike exactly once (a window's OR is one token)
        np.testing.assert_array_equal(got_spikes[t], want_spikes[t].reshape(-1), err_msg=f"spikes at {t}")
    assert sum(s.sum() for s in got_spikes) > 0
    if not quiet:
        assert sorted(set(cleared)) == list(range(geo.groups)) and issued == [geo.update_steps] * steps
        return
    # the words a skipped group leaves are 0 already; the walk issued the steps the engine model
    # predicts from the sums and the states before each step, fewer than a dense walk
    fed_words = {g for t in range(steps) for g in range(geo.groups) if any(raw_of(t, g, ln) for ln in range(geo.lanes))}
    assert fed_words <= set(cleared)
    values = [codec.decode(v, lif.levels) if levels else v for v in want_states[:-1]]
    held = ~update_skips.steady(lif, np.array(values))
    away = np.concatenate([np.zeros_like(held[:1]), held])
    skipped = update_skips.skipped_groups(geo, raw[:, None], away[:, None])
    predicted, _ = update_skips.update_work(geo, skipped)
    assert issued == list(predicted[:, 0]) and sum(issued) < steps * geo.update_steps


def test_spike_tokens_put_the_end_marker_above_every_address():
    for n in (1, 2, 3, 255, 256, 257, 65_535, 65_536, 65_537, 100_000):
        tokens = SpikeTokens.for_shape((n,))
        assert n - 1 < tokens.eot and tokens.eot < 1 << tokens.token_bits
        assert tokens.address_bits == max(1, (n - 1).bit_length())
    x = np.zeros((2, 70_000), np.uint8)
    x[0, [0, 65_536, 69_999]] = 1
    tokens = SpikeTokens.for_shape((70_000,))
    assert tokens.encode(x).tolist() == [0, 65_536, 69_999, 1 << 17, 1 << 17]
    np.testing.assert_array_equal(tokens.decode(tokens.encode(x), 2), x)


def test_packed_addresses_of_a_feature_map():
    tokens = SpikeTokens.for_shape((3, 5, 4))  # c in 2 bits, y in 3, x in 2
    assert tokens.address_bits == 7 and tokens.eot == 128
    flat = np.arange(60)
    c, y, x = np.unravel_index(flat, (3, 5, 4))
    np.testing.assert_array_equal(tokens.pack(flat), c << 5 | y << 2 | x)
    np.testing.assert_array_equal(tokens.unpack(tokens.pack(flat)), flat)
    assert tokens.unpack(np.array([0b00_101_00, 0b11_000_00])).tolist() == [-1, -1]  # y = 5, c = 3: no neuron
    rng = np.random.default_rng(0)
    s = (rng.random((4, 3, 5, 4)) < 0.3).astype(np.uint8)
    np.testing.assert_array_equal(tokens.decode(tokens.encode(s), 4), s.reshape(4, -1))
    wide = SpikeTokens.for_shape((3, 5, 4), 12)
    assert wide.eot == 1 << 12 and wide.encode(s)[:3].tolist() == tokens.encode(s)[:3].tolist()


# ---- the layer engine: scatter, update and their banks together ------------------------------------

def run_engine(dut, in_tokens, out_tokens, spikes: np.ndarray, stalled, watch) -> list[int]:
    """Feed one sample's spikes [T, ...] into a LayerEngine and take its output tokens (with the
    output not ready in the cycles where stalled(cycle)) until T end tokens; watch(ctx) sees every
    cycle.  Returns the output tokens."""
    got, steps = [], len(spikes)

    async def feed(ctx):
        for token in in_tokens.encode(spikes).tolist():
            eot = token == in_tokens.eot
            ctx.set(dut.i_spikes.payload, {"addr": 0 if eot else token, "eot": eot})
            ctx.set(dut.i_spikes.valid, 1)
            await ctx.tick().until(dut.i_spikes.ready)
        ctx.set(dut.i_spikes.valid, 0)

    async def bench(ctx):
        cycle = 0
        while got.count(out_tokens.eot) < steps:
            ready = not stalled(cycle)
            ctx.set(dut.o_spikes.ready, ready)
            watch(ctx)
            if ready and ctx.get(dut.o_spikes.valid):
                p = ctx.get(dut.o_spikes.payload)
                got.append(out_tokens.eot if p.eot else p.addr)
            await ctx.tick()
            cycle += 1

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(feed, background=True)
    sim.add_testbench(bench)
    sim.run_until(1e-8 * 20000)
    return got


@pytest.mark.parametrize("lanes, units, single_bank, sparse", [(2, 2, False, False), (3, 1, True, False),
                                                               (2, 2, True, True), (1, 1, False, True),
                                                               (9, 3, False, False), (9, 1, True, False)])
def test_layer_engine_equals_golden_over_timesteps(lanes, units, single_bank, sparse):
    """A conv layer's engine, timestep after timestep with its output stalled now and then: two banks
    swapped between timesteps (the update of t overlapping the scatter of t+1), or one bank taken in
    turn; dense or sparse weights, or 9 lanes: 3 channels x the kernel's 3 columns side by side; the
    spikes exactly the golden model's."""
    rng = np.random.default_rng(lanes + 10 * units + 100 * single_bank)
    net = conv_net(rng, in_shape=(2, 4, 4), co=3)
    if sparse:
        syn = net.layers[0]
        net = size_registers(ir.validate(replace(net, layers=(
            replace(syn, weight=syn.weight * (rng.random(syn.weight.shape) < 0.4)),
            net.layers[1]))))
    in_tokens, out_tokens = stream_tokens(net)
    impl = LayerImpl.of(net.layers[0], lanes, units, 1 if single_bank else 2, "sparse" if sparse else "dense")
    dut = LayerEngine(net.stages[0], impl, in_tokens, out_tokens)
    assert (dut.geo.sparse is not None) == sparse
    steps = 6
    x = (rng.random((steps, 1, *net.input_shape)) < 0.35).astype(np.uint8)
    want = golden.run(net, x)[:, 0].reshape(steps, -1)
    busy = []
    got = run_engine(dut, in_tokens, out_tokens, x[:, 0], lambda cycle: cycle % 5 == 3,
                     lambda ctx: busy.append(ctx.get(dut.events.busy)))
    np.testing.assert_array_equal(out_tokens.decode(got, steps), want)
    assert want.sum() > 0 and any(busy)


@pytest.mark.parametrize("bits, units, n_out", [(4, 2, 6), (1, 1, 5), (6, 3, 3)])
def test_register_accumulators_equal_golden_over_timesteps(bits, units, n_out):
    """A dense layer with a lane per output keeps its accumulators in registers (the logic model of
    the DSP48E1 slices, rtl_gen/simd_accumulator.py), copied to the update at each swap: with 4-bit,
    binary ({-1, +1}) and 6-bit weights, and the output stalled now and then, the spikes and the
    engine's cycle accounting are the golden model's."""
    rng = np.random.default_rng(bits + 10 * units)
    lo, hi = (-1, 1) if bits == 1 else (-(1 << (bits - 1)) + 1, (1 << (bits - 1)) - 1)
    w = rng.integers(lo, hi + 1, (n_out, 9))
    w = np.where(w == 0, 1, w) if bits == 1 else w
    syn = ir.Dense("fc", w, rng.integers(-2, 3, n_out), np.zeros(n_out, np.int64), bits)
    lv = codec.integerize_levels(codec.threshold_centered_levels(3, 10), 1.0)
    lif = ir.LIF("lif", (n_out,), 10, 7, 3, "subtract", "threshold_centered", int(lv[0]), int(lv[-1]), lv)
    net = size_registers(ir.validate(ir.Network("n", (9,), (syn, lif))))
    in_tokens, out_tokens = stream_tokens(net)
    dut = LayerEngine(net.stages[0], LayerImpl.of(syn, n_out, units, 2, "dense"), in_tokens, out_tokens)
    assert dut.geo.register_accumulators and dut.geo.dsp_slices == -(-n_out // 4)
    assert not LayerGeometry.of_stage(net.stages[0], LayerImpl.of(syn, n_out, units, 1, "dense")).register_accumulators
    steps = 7
    x = (rng.random((steps, 1, 9)) < 0.5).astype(np.uint8)
    want = golden.run(net, x)[:, 0]
    got = run_engine(dut, in_tokens, out_tokens, x[:, 0], lambda cycle: cycle % 6 == 2, lambda ctx: None)
    np.testing.assert_array_equal(out_tokens.decode(got, steps), want)
    assert 0 < want.sum() < want.size


def recurrent_net(rng, n_in=6, n_out=5, bits=4):
    """A Dense layer whose own spikes of the step before come back (ir.Dense.recurrent)."""
    lo, hi = -(1 << (bits - 1)) + 1, (1 << (bits - 1)) - 1
    w = rng.integers(lo, hi + 1, (n_out, n_in + n_out))
    syn = ir.Dense("fc", w, rng.integers(0, 4, n_out), np.zeros(n_out, np.int64), bits, recurrent=True)
    lif = ir.LIF("lif", (n_out,), 6, 3, 2, "subtract", "none", -64, 63)
    return size_registers(ir.validate(ir.Network("n", (n_in,), (syn, lif))))


@pytest.mark.parametrize("lanes, single_bank", [(1, False), (2, True), (5, False)])
def test_a_recurrent_engine_equals_golden_over_timesteps(lanes, single_bank):
    """The merge hands the scatter each timestep's input spikes, then the layer's own of the step
    before from the feedback FIFO (rtl_gen/recurrent_merge.py); with the output stalled now and then
    (a token leaves when downstream and the FIFO both take it), the spikes are the golden model's."""
    rng = np.random.default_rng(lanes + 10 * single_bank)
    net = recurrent_net(rng)
    in_tokens, out_tokens = stream_tokens(net)
    dut = LayerEngine(net.stages[0], LayerImpl.of(net.layers[0], lanes, lanes, 1 if single_bank else 2, "dense"),
                      in_tokens, out_tokens)
    assert dut.merge is not None and dut.scatter.tokens.shape == (11,)
    assert dut.geo.register_accumulators == (lanes == 5 and not single_bank)
    steps = 8
    x = (rng.random((steps, 1, 6)) < 0.4).astype(np.uint8)
    want = golden.run(net, x)
    seen_own, scatter_in = [], dut.scatter.i_spikes

    def watch(ctx):  # the scatter's input tokens: the layer's own spikes come as inputs 6 ..
        if ctx.get(scatter_in.valid) and ctx.get(scatter_in.ready) and not ctx.get(scatter_in.payload.eot):
            seen_own.append(ctx.get(scatter_in.payload.addr) >= 6)

    got = run_engine(dut, in_tokens, out_tokens, x[:, 0], lambda cycle: cycle % 4 == 1, watch)
    np.testing.assert_array_equal(out_tokens.decode(got, steps), want[:, 0])
    assert sum(seen_own) == int(want[:-1].sum()) > 3  # every spike but the last step's came back
