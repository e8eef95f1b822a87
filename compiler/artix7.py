"""The target part: what an Artix-7 (xc7a) gives a design that the compiler plans for.  The memory
plan counts block RAM as Vivado and Yosys map a width x depth onto it (the cheapest RAMB18 or
RAMB36 aspect ratio; under DISTRIBUTED_BITS a memory goes to LUT RAM), and the energy model counts
an access by the 36-bit blocks it touches; the clock estimate adds to a synthesized path's cell
delays (Yosys' xc7 cell library: prjxray-db's Artix-7 -1 timings) what the netlist cannot know, the
routing.  Board-specific facts (pins, clock, the part's totals) are snnc.boards'."""
from __future__ import annotations

DISTRIBUTED_BITS = 1024   # memories below this many bits are LUT RAM, not block RAM
BRAM18_SHAPES = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36))  # (depth, width)
BRAM36_SHAPES = ((32768, 1), (16384, 2), (8192, 4), (4096, 9), (2048, 18), (1024, 36), (512, 72))
BRAM18_WORD_BITS = 36     # the widest word of one RAMB18 (its 512 x 36 shape)
DEFAULT_CLOCK_HZ = 100e6  # a build without a board: the Arty, Nexys and Basys boards' oscillator


def bram36_tiles(width: int, depth: int) -> float:
    """Block RAM of a width x depth memory in RAMB36 units (a RAMB18 is half), 0 for LUT RAM."""
    if width * depth < DISTRIBUTED_BITS:
        return 0.0
    cost = lambda shapes: min(-(-depth // d) * -(-width // w) for d, w in shapes)
    return min(cost(BRAM18_SHAPES) / 2, float(cost(BRAM36_SHAPES)))


def bram18_blocks(width: int) -> int:
    """RAMB18 blocks one access of a `width`-bit word touches."""
    return -(-width // BRAM18_WORD_BITS)


# The clock estimate (docs/rtl.md, "Clock").  Cell delays come from Yosys' `sta` on the synthesized
# netlist, whose xc7 cell library carries prjxray-db's Artix-7 timings (Vivado's -1 speed grade
# model: LUT6 0.13-0.64 ns by input, CARRY4 0.11-0.60 ns, RAMB18 clock to data 2.45 ns); flip-flops
# there have no timing arcs, so their clock-to-out and setup are added here, and routing, which a
# netlist does not have, is charged per hop.
FF_CLOCK_TO_OUT_PS = 303   # FDRE C -> Q (prjxray-db slicel.sdf, as Yosys' cells_sim.v cites it)
FF_SETUP_PS = 109          # FDRE CE setup, the largest but reset's (prjxray-db slicel.sdf)
NET_DELAY_PS = 450         # assumption: one routed net between two cells on a -1 part, local to a few CLBs


def estimated_clock_hz(cell_delay_ps: float, hops: int) -> float:
    """The highest clock (Hz) of a path whose cells add up to cell_delay_ps (Yosys sta) through
    `hops` nets between cells: clock-to-out + cells + routing + setup must fit a period."""
    return 1e12 / (FF_CLOCK_TO_OUT_PS + cell_delay_ps + NET_DELAY_PS * max(hops, 1) + FF_SETUP_PS)


# DSP48E1 slices as adders (UG479, "SIMD mode"): the 48-bit ALU splits into four 12-bit or two
# 24-bit adders whose carries stay in their segment, so one slice adds four (or two) lanes per cycle.
DSP_ALU_BITS = 48
DSP_SEGMENTS = {12: "FOUR12", 24: "TWO24", 48: "ONE48"}  # segment bits: the slice's USE_SIMD


def dsp_segment_bits(width: int) -> int:
    """The narrowest SIMD segment of a DSP48E1 that holds a `width`-bit lane (width <= 48)."""
    if not 1 <= width <= DSP_ALU_BITS:
        raise ValueError(f"a {width}-bit lane does not fit a DSP48E1's {DSP_ALU_BITS}-bit ALU")
    return next(s for s in DSP_SEGMENTS if width <= s)


def dsp_slices(lanes: int, width: int) -> int:
    """DSP48E1 slices that add `lanes` lanes of `width` bits each in one cycle."""
    return -(-lanes // (DSP_ALU_BITS // dsp_segment_bits(width)))
