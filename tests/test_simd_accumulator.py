"""SimdAccumulator (rtl_gen/simd_accumulator.py): its logic model against integer sums in Amaranth's
simulator, and its DSP48E1 instances (Yosys' cells_sim.v model of the slice) against its logic
model in Icarus and Verilator, cycle by cycle; Yosys maps the instances to DSP48E1 cells."""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import numpy as np
import pytest
from amaranth import Module
from amaranth.back import verilog
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from snnc.compiler.artix7 import dsp_segment_bits, dsp_slices
from snnc.rtl_gen.simd_accumulator import SimdAccumulator
from snnc.rtl_gen.synthesis import primitive_models, synthesize
from snnc.sim.rtl import verilator_env


@pytest.mark.parametrize("width, segment", [(1, 12), (12, 12), (13, 24), (24, 24), (25, 48), (48, 48)])
def test_segment_is_the_narrowest_that_holds_the_lane(width, segment):
    assert dsp_segment_bits(width) == segment


def test_slices_and_limits():
    assert dsp_slices(128, 12) == 32 and dsp_slices(10, 15) == 5 and dsp_slices(3, 30) == 3 and dsp_slices(5, 12) == 2
    with pytest.raises(ValueError, match="49-bit"):
        dsp_segment_bits(49)


@pytest.mark.parametrize("lanes, width", [(5, 10), (4, 12), (3, 13), (2, 30)])
def test_logic_model_sums_exactly(lanes, width):
    dut = SimdAccumulator(lanes, width, primitive=False)
    rng = np.random.default_rng(lanes * 100 + width)
    bound = 1 << (width - 1)
    steps = []  # (addend, add, clear), each run's sums kept inside the lanes' width as size_registers proves them
    want, ref = [], np.zeros(lanes, np.int64)
    for _ in range(300):
        clear = bool(rng.random() < 0.05)
        addend = rng.integers(-bound // 8, bound // 8, lanes)
        add = bool(rng.random() < 0.8 and np.all(np.abs(ref + addend) < bound))
        ref = np.zeros(lanes, np.int64) if clear else ref + addend if add else ref
        steps.append((addend, add, clear))
        want.append(ref.copy())

    async def bench(ctx):
        for (addend, add, clear), expected in zip(steps, want):
            for lane in range(lanes):
                ctx.set(dut.addend[lane], int(addend[lane]))
            ctx.set(dut.add, add)
            ctx.set(dut.clear, clear)
            await ctx.tick()
            assert [ctx.get(dut.sum[lane]) for lane in range(lanes)] == list(expected)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


class _Pair(wiring.Component):
    """The DSP48E1 instances and the logic model side by side on the same inputs."""

    def __init__(self, lanes: int, width: int):
        self.dsp, self.logic = SimdAccumulator(lanes, width, True), SimdAccumulator(lanes, width, False)
        super().__init__({"addend": In(self.dsp.addend.shape()), "add": In(1), "clear": In(1),
                          "dsp_sum": Out(self.dsp.sum.shape()), "logic_sum": Out(self.dsp.sum.shape())})

    def elaborate(self, platform):
        m = Module()
        m.submodules.dsp, m.submodules.logic = self.dsp, self.logic
        for side in (self.dsp, self.logic):
            m.d.comb += [side.addend.eq(self.addend), side.add.eq(self.add), side.clear.eq(self.clear)]
        m.d.comb += [self.dsp_sum.eq(self.dsp.sum), self.logic_sum.eq(self.logic.sum)]
        return m


BENCH = """
module bench;
  reg clk = 0, rst = 1, add = 0, clear = 0;
  reg [{bits}-1:0] addend = 0;
  wire [{bits}-1:0] dsp_sum, logic_sum;
  integer i, seed = 1, errors = 0, nonzero = 0;
  pair dut(.clk(clk), .rst(rst), .addend(addend), .add(add), .clear(clear), .dsp_sum(dsp_sum), .logic_sum(logic_sum));
  always #5 clk = ~clk;
  initial begin
    @(negedge clk) rst = 0;
    for (i = 0; i < 2000; i = i + 1) begin
      addend = {{$random(seed), $random(seed), $random(seed), $random(seed)}};
      add = ($random(seed) & 7) != 0;
      clear = ($random(seed) & 63) == 0;
      @(negedge clk);
      if (dsp_sum !== logic_sum) errors = errors + 1;
      if (dsp_sum != 0) nonzero = nonzero + 1;
    end
    $display("errors %0d nonzero %0d", errors, nonzero);
    $finish;
  end
endmodule
"""


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
@pytest.mark.parametrize("lanes, width", [(6, 9), (3, 20), (2, 31)])
def test_dsp_instances_match_the_logic_model(tmp_path, simulator, lanes, width):
    """Random addends (sums wrapping past the lanes' width too), adds and clears for 2,000 cycles:
    the slices' P registers, as Yosys' model of DSP48E1 computes them, equal the logic model's."""
    if simulator == "icarus" and shutil.which("iverilog") is None:
        pytest.skip("Icarus is not installed")
    pair = _Pair(lanes, width)
    text = verilog.convert(pair, name="pair")
    assert "DSP48E1 #(" in text
    (tmp_path / "pair.v").write_text(primitive_models(text) + text + BENCH.format(bits=lanes * width))
    if simulator == "icarus":
        subprocess.run(["iverilog", "-g2012", "-o", "bench.vvp", "-s", "bench", "pair.v"], cwd=tmp_path, check=True)
        out = subprocess.run(["vvp", "bench.vvp"], cwd=tmp_path, check=True, capture_output=True, text=True).stdout
    else:
        env = verilator_env()
        verilator = shutil.which("verilator", path=env["PATH"])
        subprocess.run([verilator, "--binary", "-CFLAGS", "-fcoroutines", "-Wno-fatal", "--top-module", "bench", "pair.v"], cwd=tmp_path, check=True,
                       capture_output=True, env={**os.environ, **env, "MAKEFLAGS": env["MAKEFLAGS"] + " OPT_FAST=-O0"})
        out = subprocess.run([str(tmp_path / "obj_dir" / "Vbench")], cwd=tmp_path, check=True, capture_output=True,
                             text=True).stdout
    errors, nonzero = map(int, re.search(r"errors (\d+) nonzero (\d+)", out).groups())
    assert errors == 0 and nonzero > 1000


def test_yosys_maps_the_instances_to_dsp_slices(tmp_path):
    """16 lanes of 12 bits: 4 DSP48E1 cells and no carry chain; the logic model takes carry chains."""
    cells = {}
    for primitive in (True, False):
        path = tmp_path / f"acc{primitive}.v"
        path.write_text(verilog.convert(SimdAccumulator(16, 12, primitive), name="acc"))
        cells[primitive] = synthesize(path, tmp_path / str(primitive), top="acc")["resources"]
    assert cells[True]["DSP48"] == 4 and cells[True]["CARRY4"] == 0
    assert cells[False]["DSP48"] == 0 and cells[False]["CARRY4"] >= 16 * 12 // 4
