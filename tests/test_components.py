"""The small RTL components, each on its own in Amaranth's simulator: the spike serializer, the
update's walk, its delay line and window maximum, the board's input feed and output capture, the
weight ROM, and the NetworkInstance's ports against the Verilog module they stand for."""
import re

import numpy as np
import pytest
from amaranth import Value
from amaranth.hdl import Fragment
from amaranth.lib import data
from amaranth.sim import Simulator

from snnc.compiler.layer_impl import LayerImpl, implement
from snnc.compiler import ir
from snnc.compiler.register_sizes import size_registers
from snnc.compiler.geometry import LayerGeometry
from snnc.compiler.tokens import SpikeTokens
from snnc.rtl_gen.delay_line import DelayLine
from snnc.rtl_gen.emit import network_verilog
from snnc.rtl_gen.input_feed import InputFeed
from snnc.rtl_gen.network_instance import NetworkInstance
from snnc.rtl_gen.output_capture import OutputCapture
from snnc.rtl_gen.rom import Rom
from snnc.rtl_gen.spike_serializer import SpikeSerializer
from snnc.rtl_gen.update_walk import UpdateWalk
from snnc.rtl_gen.window_max import WindowMax


def run(dut, *benches, background=(), cycles=None):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    for bench in background:
        sim.add_testbench(bench, background=True)
    for bench in benches:
        sim.add_testbench(bench)
    sim.run() if cycles is None else sim.run_until(1e-8 * cycles)


# ---- the update side -----------------------------------------------------------------------------

@pytest.mark.parametrize("stall_every", [0, 3])
def test_spike_serializer_emits_each_set_lane_lowest_first(stall_every):
    lanes, stride = 5, 8
    dut = SpikeSerializer(lanes, stride, depth=4, address_bits=8)
    rng = np.random.default_rng(stall_every)
    # the update queues only masks with a spike, then the end token
    entries = [(int(rng.integers(0, 4)) * 40, int(rng.integers(1, 1 << lanes)), 0) for _ in range(12)] + [(0, 0, 1)]
    want = [(base + lane * stride, 0) for base, mask, _ in entries for lane in range(lanes) if mask >> lane & 1]
    got = []

    async def feed(ctx):
        for base, mask, eot in entries:
            ctx.set(dut.i_masks.payload, {"base": base, "mask": mask, "eot": eot})
            ctx.set(dut.i_masks.valid, 1)
            await ctx.tick().until(dut.i_masks.ready)
        ctx.set(dut.i_masks.valid, 0)

    async def bench(ctx):  # samples every cycle: a token counts when valid & ready at the edge
        cycle = 0
        while not (got and got[-1][1]):
            ready = not stall_every or cycle % stall_every != 0
            ctx.set(dut.o_spikes.ready, ready)
            valid, payload = ctx.get(dut.o_spikes.valid), ctx.get(dut.o_spikes.payload)
            if valid and ready:
                got.append((payload.addr, payload.eot))
            await ctx.tick()
            cycle += 1
        await ctx.tick()
        assert ctx.get(dut.empty)

    run(dut, bench, background=[feed])
    assert got == want + [(0, 1)]


@pytest.mark.parametrize("lanes, units, k1, k2, crop", [(1, 1, 1, 1, None), (4, 2, 2, 1, None), (4, 1, 2, 1, None),
                                                       (3, 1, 1, 2, None), (2, 2, 2, 2, (1, 1)), (2, 1, 3, 1, None),
                                                       (15, 5, 2, 1, None), (15, 3, 3, 1, None), (15, 1, 2, 2, None)])
def test_update_walk_reads_each_window_once_and_steps_every_part(lanes, units, k1, k2, crop):
    """Each neuron group's k1 x k1 accumulator words are read in its first phases (the first one
    flagged), the last one until the group's end and cleared only then, every other one cleared as it
    is read; its parts step through the LIF units from the phase that reads the last word, each state
    word once; whole k2 windows in a row; `room` low stalls the walk.  15 lanes: the 3 kernel columns
    side by side, a window row of k1 words in k1 RAMs per phase, each RAM at its own word."""
    w = np.ones((5, 2, 3, 3), np.int64)
    syn = ir.Conv2d("conv", w, np.zeros(5, np.int64), np.zeros(5, np.int64), 4, (2, 7, 6), 1, 1)
    geo = LayerGeometry(syn, LayerImpl.of(syn, lanes, units), k1, k2, crop)
    dut = UpdateWalk(geo)
    groups: dict[int, list] = {}
    issued, emitted = [], set()
    group_at = {geo.acc_address(og, oy, ox): (og, oy, ox) for og, oy, ox in np.ndindex(geo.go, geo.ho, geo.wo)}

    def words_read(pos) -> tuple:  # the groups (og, oy, ox) a step reads: its RAM's, or a window row's
        rams = [(pos.ram + dx) % geo.columns for dx in range(geo.window_reads)]
        if geo.window_reads > 1:  # every RAM inside its bank, those without a window column too
            assert all(pos.acc[ram] < geo.acc_depth for ram in range(geo.columns))
        return tuple(group_at[ram, pos.acc[ram] if geo.window_reads > 1 else pos.acc] for ram in rams)

    async def bench(ctx):
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        cycle = 0
        while not ctx.get(dut.walked):
            ctx.set(dut.room, cycle % 4 != 1)
            pos = ctx.get(dut.pos)
            issuing = ctx.get(dut.issuing)
            assert issuing == (cycle % 4 != 1)
            if issuing:
                issued.append(pos.w2_first)
                if pos.valid:
                    groups.setdefault(pos.state // geo.parts, []).append(
                        (words_read(pos), pos.w1_first, pos.w1_last, pos.cleared, pos.state, pos.part))
                    if pos.emit:
                        emitted.add(pos.state)
            await ctx.tick()
            cycle += 1
        assert ctx.get(dut.running) and not ctx.get(dut.issuing)
        ctx.set(dut.stop, 1)
        await ctx.tick()
        assert not ctx.get(dut.running)

    run(dut, bench)
    phases = geo.window_phases
    assert geo.window_reads == (k1 if lanes == 15 and k1 > 1 else 1) and geo.columns == (3 if lanes == 15 else 1)
    assert geo.group_phases == k1 * k1 // geo.window_reads + geo.parts - 1 and len(issued) == geo.update_steps
    assert sorted(groups) == list(range(geo.state_groups))
    for group, steps in groups.items():
        og, pixel = divmod(group, geo.lif_pixels)
        py, px = divmod(pixel, geo.lif_w)
        reads = [r for r, *_ in steps]
        assert len(steps) == geo.group_phases and len(set(reads[:phases])) == phases
        assert reads[phases:] == [reads[phases - 1]] * (geo.parts - 1)  # the last word (row), read again
        assert sorted(w for r in reads[:phases] for w in r) == \
            [(og, py * k1 + dy, px * k1 + dx) for dy in range(k1) for dx in range(k1)]
        assert [f for _, f, *_ in steps] == [1] + [0] * (geo.group_phases - 1)
        assert [f for _, _, f, *_ in steps] == [0] * (phases - 1) + [1] * geo.parts
        assert [f for *_, f, _, _ in steps] == [1] * (phases - 1) + [0] * (geo.parts - 1) + [1]
        lif_steps = [(state, part) for _, _, last, _, state, part in steps if last]
        assert lif_steps == [(group * geo.parts + j, j) for j in range(geo.parts)]
        assert all((group * geo.parts + j in emitted) == (py // k2 < geo.out_h and px // k2 < geo.out_w)
                   for j in range(geo.parts))


def test_delay_line_gives_each_past_value():
    layout = data.StructLayout({"a": 5, "b": 1})
    dut = DelayLine(layout, 3)
    values = [{"a": int(v) % 32, "b": int(v) & 1} for v in np.random.default_rng(0).integers(0, 64, 20)]

    async def bench(ctx):
        for t, v in enumerate(values):
            ctx.set(dut.i, v)
            for k in range(4):
                if t >= k:
                    got = ctx.get(dut.o[k])
                    assert (got.a, got.b) == (values[t - k]["a"], values[t - k]["b"])
            await ctx.tick()

    run(dut, bench)


@pytest.mark.parametrize("words", [1, 3])
def test_window_max_keeps_one_maximum_per_lane(words):
    """A word (or a window row of `words` words) per phase; the maximum of each lane over the phases
    since `first`, this phase's words included."""
    dut = WindowMax(6, 3, words)
    rng = np.random.default_rng(words)

    async def bench(ctx):
        best = None
        for step in range(40):
            values, first, valid = rng.integers(-32, 32, (words, 3)).tolist(), step % 5 == 0, step % 7 != 3
            ctx.set(dut.value, values)
            ctx.set(dut.first, first)
            ctx.set(dut.valid, valid)
            row = [max(column) for column in zip(*values)]
            now = row if first else [max(b, v) for b, v in zip(best, row)]
            assert [ctx.get(dut.max[lane]) for lane in range(3)] == now
            best = now if valid else best
            await ctx.tick()

    run(dut, bench)


# ---- the board's buffers -------------------------------------------------------------------------

@pytest.mark.parametrize("n_steps, drop", [(3, 0), (4, 0), (3, 2)])
def test_input_feed_offers_the_loaded_tokens(n_steps, drop):
    """Loaded link words come out as network tokens until n_steps end tokens were taken; with words
    missing the feed reports `exhausted` instead of `fed`."""
    link = SpikeTokens.for_shape((6,))
    x = (np.random.default_rng(n_steps).random((n_steps, 1, 6)) < 0.5).astype(np.uint8)
    words = link.encode(x).tolist()
    loaded = words[:len(words) - drop]
    dut = InputFeed(link, link.address_bits, depth=32)
    taken = []

    async def bench(ctx):
        for i, w in enumerate(loaded):
            ctx.set(dut.write_addr, i)
            ctx.set(dut.write_data, w)
            ctx.set(dut.write_en, 1)
            await ctx.tick()
        ctx.set(dut.write_en, 0)
        ctx.set(dut.n_tokens, len(loaded))
        ctx.set(dut.n_steps, n_steps)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        ctx.set(dut.active, 1)
        cycle = 0
        while not (ctx.get(dut.fed) or ctx.get(dut.exhausted)):
            ready = cycle % 3 != 2
            ctx.set(dut.o_spikes.ready, ready)
            if ctx.get(dut.o_spikes.valid) and ready:
                p = ctx.get(dut.o_spikes.payload)
                taken.append(link.eot if p.eot else p.addr)
            await ctx.tick()
            cycle += 1
        # every loaded word was used either way: what the dispatcher's RUN reply checks
        assert ctx.get(dut.fed) == (drop == 0) and ctx.get(dut.exhausted)
        assert not ctx.get(dut.o_spikes.valid)

    run(dut, bench)
    assert taken == loaded


@pytest.mark.parametrize("depth", [64, 5])
def test_output_capture_records_link_words_and_overflows(depth):
    tokens = SpikeTokens.for_shape((2, 3, 3), 7)  # the network's tokens, wider than the link's
    link = SpikeTokens.for_shape((2, 3, 3))
    x = (np.random.default_rng(depth).random((3, 1, 2, 3, 3)) < 0.4).astype(np.uint8)
    stream = tokens.encode(x).tolist()
    dut = OutputCapture(link, tokens.address_bits, depth)

    async def bench(ctx):
        ctx.set(dut.clear, 1)
        await ctx.tick()
        ctx.set(dut.clear, 0)
        for i, t in enumerate(stream):
            if i % 3 == 1:  # a cycle without a token
                ctx.set(dut.i_spikes.valid, 0)
                await ctx.tick()
            assert ctx.get(dut.i_spikes.ready)
            ctx.set(dut.i_spikes.payload, {"addr": 0 if t == tokens.eot else t, "eot": t == tokens.eot})
            ctx.set(dut.i_spikes.valid, 1)
            await ctx.tick()
        ctx.set(dut.i_spikes.valid, 0)
        await ctx.tick()
        kept = min(depth, len(stream))
        assert ctx.get(dut.count) == kept and ctx.get(dut.eots) == 3
        assert ctx.get(dut.overflow) == (len(stream) > depth)
        recorded = []
        for i in range(kept):
            ctx.set(dut.read_addr, i)
            await ctx.tick()
            recorded.append(ctx.get(dut.read_data))
        want = link.encode(x).tolist()[:kept]
        assert recorded == want

    run(dut, bench)


def test_rom_reads_each_port_one_cycle_later():
    words = [int(v) for v in np.random.default_rng(2).integers(0, 1 << 12, 9)]
    dut = Rom(12, words, ports=2)

    async def bench(ctx):
        for a, b in [(0, 8), (3, 3), (7, 1)]:
            ctx.set(dut.addr[0], a)
            ctx.set(dut.addr[1], b)
            await ctx.tick()
            assert (ctx.get(dut.data[0]), ctx.get(dut.data[1])) == (words[a], words[b])

    run(dut, bench)


def test_network_instance_ports_are_the_network_modules():
    """The board core instantiates the network's own module by port name: every port of
    NetworkInstance exists in the emitted Verilog with its width and direction."""
    syn = ir.Dense("fc", np.array([[1, -2, 3], [2, 2, -1]]), np.zeros(2, np.int64), np.zeros(2, np.int64), 3)
    lif = ir.LIF("lif", (2,), 3, 1, 1, "subtract", "none", -16, 15)
    net = size_registers(ir.validate(ir.Network("tiny", (3,), (syn, lif))))
    text, _ = network_verilog(net, implement(net))
    header = text[text.index("module snnc_top"):text.index(");", text.index("module snnc_top"))]
    declared = {}
    for direction, width, name in re.findall(r"^\s*(input|output)\s+(?:wire\s+|reg\s+)?(\[\d+:0\]\s+)?(\w+);",
                                             text[:text.index("endmodule", text.index("module snnc_top"))], re.M):
        declared[name] = (direction, int(width.strip()[1:].split(":")[0]) + 1 if width else 1)
    instance = NetworkInstance(net, implement(net))
    for path, member, value in instance.signature.flatten(instance):
        name = "__".join(map(str, path))
        assert name in header, name
        assert declared[name] == ("input" if member.flow.name == "In" else "output", len(Value.cast(value))), name
    Fragment.get(instance, None)  # and it elaborates into that module's instance
