"""TapWalker (rtl_gen/tap_walker.py) in Amaranth's simulator: for every input (y, x) of several
convolution geometries, the taps it walks are geometry.row_taps x col_taps in order, with the
next-tap and first-tap outputs the sparse scatter reads its row starts by."""
import numpy as np
import pytest
from amaranth import Module, Signal
from amaranth.sim import Simulator

from snnc.compiler import ir
from snnc.compiler.geometry import LayerGeometry
from snnc.rtl_gen.tap_walker import TapWalker


@pytest.mark.parametrize("h,w,k,stride,pad", [(5, 4, 3, 1, 1), (7, 6, 3, 2, 1), (6, 6, 3, 2, 0), (4, 5, 2, 1, 0),
                                              (3, 3, 3, 1, 2), (8, 3, 4, 3, 1), (6, 5, 2, 3, 0),
                                              (1, 1, 1, 1, 0), (1, 1, 3, 1, 1), (1, 1, 3, 1, 2)])
def test_walks_the_geometry_taps(h, w, k, stride, pad):
    conv = ir.Conv2d("c", np.ones((2, 1, k, k), np.int64), np.zeros(2, np.int64), np.zeros(2, np.int64), 4,
                     (1, h, w), stride, pad)
    geo = LayerGeometry(conv)
    dut = TapWalker(geo)
    walked = {}

    async def bench(ctx):
        for y in range(h):
            for x in range(w):
                want = [(oy, ky, ox, kx) for oy, ky in geo.row_taps[y] for ox, kx in geo.col_taps[x]]
                ctx.set(dut.y, y)
                ctx.set(dut.x, x)
                first = (ctx.get(dut.first_ky), ctx.get(dut.first_kx))
                ctx.set(dut.load, 1)
                await ctx.tick()
                ctx.set(dut.load, 0)
                got = []
                if ctx.get(dut.taps):
                    while True:
                        got.append(tuple(ctx.get(s) for s in (dut.oy, dut.ky, dut.ox, dut.kx)))
                        if ctx.get(dut.last_tap):
                            break
                        nxt = (ctx.get(dut.next_ky), ctx.get(dut.next_kx))
                        ctx.set(dut.advance, 1)
                        await ctx.tick()
                        ctx.set(dut.advance, 0)
                        assert (ctx.get(dut.ky), ctx.get(dut.kx)) == nxt
                        assert len(got) <= len(want)
                walked[y, x] = got
                assert got == want, (y, x)
                if want:
                    assert first == (want[0][1], want[0][3])

    m = Module()  # a sync domain, which a walker of constant taps (a 1 x 1 input) does not have
    m.submodules.dut, tick = dut, Signal()
    m.d.sync += tick.eq(~tick)
    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert len(walked) == h * w and (h * w == 1 or any(len(v) != 1 for v in walked.values()))  # several, or none
