"""SimdAccumulator: P lanes of signed accumulators that add a P-lane addend word in one cycle, in
DSP48E1 slices (docs/rtl.md, "Register accumulators").

A DSP48E1 in SIMD mode (UG479) splits its 48-bit ALU into four 12-bit, two 24-bit or one 48-bit
adder (snnc.compiler.artix7.dsp_segment_bits), and its P register holds the sums: with
OPMODE = Z:P, Y:0, X:A:B and only PREG, P <= P + A:B each cycle its clock enable is high, and
RSTP clears it.  Each lane sits in its own segment, sign-extended, so a lane's carry never reaches
its neighbour; the sums are proven to fit the lane's width (size_registers), so the segment's low
`width` bits are the lane's sum.

`primitive` True instantiates DSP48E1 (what Yosys and Vivado map to the slice, and what Verilator
and Icarus run with Yosys' cells_sim.v model of it, sim.rtl); False builds the same arithmetic in
logic, for Amaranth's simulator.  tests/test_simd_accumulator.py runs both against each other.

Ports: `addend` (P lanes of signed `width` bits), `add` (add it this cycle), `clear` (zero every
lane this cycle; it wins over `add`); `sum` (P lanes, the registers).  As the slice's P register,
the sums keep their value through the domain's reset: whoever resets the design clears them.
"""
from __future__ import annotations

from amaranth import Cat, ClockSignal, Const, Instance, Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from snnc.compiler.artix7 import DSP_ALU_BITS, DSP_SEGMENTS, dsp_segment_bits, dsp_slices

# The slice as an adder: no input or pipeline registers but P, no multiplier; ALUMODE 0 is Z + X + Y.
DSP_ADDER_PARAMETERS = {
    "AREG": 0, "BREG": 0, "CREG": 0, "ACASCREG": 0, "BCASCREG": 0, "ADREG": 0, "DREG": 0, "MREG": 0, "PREG": 1,
    "ALUMODEREG": 0, "CARRYINREG": 0, "CARRYINSELREG": 0, "INMODEREG": 0, "OPMODEREG": 0,
    "USE_MULT": "NONE", "USE_DPORT": "FALSE", "USE_PATTERN_DETECT": "NO_PATDET",
}
OPMODE_P_PLUS_AB = 0b010_00_11  # Z = P, Y = 0, X = A:B
UNUSED_INPUTS = {"C": 48, "D": 25, "ACIN": 30, "BCIN": 18, "PCIN": 48, "CARRYCASCIN": 1, "MULTSIGNIN": 1, "CARRYIN": 1,
                 "CARRYINSEL": 3, "INMODE": 5, "ALUMODE": 4, "CEA1": 1, "CEA2": 1, "CEB1": 1, "CEB2": 1, "CEC": 1,
                 "CEAD": 1, "CED": 1, "CEM": 1, "CECTRL": 1, "CEALUMODE": 1, "CECARRYIN": 1, "CEINMODE": 1,
                 "RSTA": 1, "RSTB": 1, "RSTC": 1, "RSTD": 1, "RSTM": 1, "RSTCTRL": 1, "RSTALUMODE": 1,
                 "RSTALLCARRYIN": 1, "RSTINMODE": 1}


class SimdAccumulator(wiring.Component):
    def __init__(self, lanes: int, width: int, primitive: bool):
        """lanes: P accumulators of `width` bits (1 .. 48) each; primitive: DSP48E1 instances (True)
        or the same arithmetic in logic (False)."""
        self.lanes, self.width, self.primitive = lanes, width, primitive
        self.segment = dsp_segment_bits(width)
        self.per_slice = DSP_ALU_BITS // self.segment
        self.slices = dsp_slices(lanes, width)
        layout = data.ArrayLayout(signed(width), lanes)
        super().__init__({"addend": In(layout), "add": In(1), "clear": In(1), "sum": Out(layout)})

    def elaborate(self, platform):
        m = Module()
        for k in range(self.slices):
            lanes = range(k * self.per_slice, min((k + 1) * self.per_slice, self.lanes))
            ab = Signal(DSP_ALU_BITS, name=f"ab{k}")  # each lane sign-extended into its segment
            m.d.comb += ab.eq(Cat(*(_sign_extend(self.addend[lane], self.segment) for lane in lanes)))
            p = Signal(DSP_ALU_BITS, name=f"p{k}", reset_less=True)
            if self.primitive:
                m.submodules[f"dsp{k}"] = Instance(
                    "DSP48E1", **{f"p_{name}": value for name, value in DSP_ADDER_PARAMETERS.items()},
                    p_USE_SIMD=DSP_SEGMENTS[self.segment],
                    i_CLK=ClockSignal(), i_A=ab[18:], i_B=ab[:18], i_OPMODE=Const(OPMODE_P_PLUS_AB, 7),
                    i_CEP=self.add | self.clear, i_RSTP=self.clear,
                    **{f"i_{name}": Const(0, width) for name, width in UNUSED_INPUTS.items()}, o_P=p)
            else:
                with m.If(self.clear):
                    m.d.sync += p.eq(0)
                with m.Elif(self.add):  # each segment adds modulo its own width, as the slice's SIMD ALU
                    m.d.sync += p.eq(Cat(*((p[s:s + self.segment] + ab[s:s + self.segment])[:self.segment]
                                           for s in range(0, DSP_ALU_BITS, self.segment))))
            for j, lane in enumerate(lanes):
                m.d.comb += self.sum[lane].eq(p[j * self.segment: j * self.segment + self.width])
        return m


def _sign_extend(value, bits: int):
    """A `len(value)`-bit two's complement value as `bits` >= len(value) bits."""
    return Cat(value, *([value[-1]] * (bits - len(value))))
