"""The contracts every stage shares: the frontend, the compiler, the RTL, the simulators and the
host runtime import these facts from here and nowhere else (docs/spec.md).

- neuron modes: the reset and state-quantization modes of the dialect's LIF;
- integer ranges: how large the compiler's integers and a network may be;
- the design interface: the Verilog module names every stage uses.
The weight scale search is `scales`, spike tokens `tokens`, the host protocol `host_protocol`.

Nothing here imports Amaranth or torch.
"""
from __future__ import annotations

import math

# ---- neuron modes (docs/spec.md section 2) -------------------------------------------------------

RESET_MODES = ("subtract", "zero", "none")  # "none": the membrane keeps its value after a spike
ORDERS = ("snnc", "snntorch")  # the update order: snnc's, or snnTorch's Leaky with reset_delay (section 2)
STATE_QUANT_MODES = ("none", "uniform", "threshold_centered")
# What a LIF hands on: its spikes, or (the network's last LIF only, a readout) its stored membrane
# state at every step, in LSB units, with the LSB's real value as its scale (docs/spec.md section 7).
OUTPUTS = ("spikes", "membrane")


# ---- integer ranges ------------------------------------------------------------------------------
# Every integer the compiler derives (weights on the grid, shifts, biases, thresholds, levels, clamp
# bounds) is at most 2**GRID_BITS in magnitude, and every proven bound (currents, membranes) at most
# 2**VALUE_BITS: far inside int64, and inside float64's exact integers, which the golden model's
# matrix products use.

GRID_BITS = 40
VALUE_BITS = 52

# Every integer below these magnitudes is exact in float32 (24-bit significand) and float64 (53):
# the golden model picks its matrix-product dtype by them, and register sizing notes membranes
# beyond float32 (onnxruntime runs the dialect's LIF in float32).
FLOAT32_EXACT = 1 << 24
FLOAT64_EXACT = 1 << 53

# The most weights a network may hold: 2**24 (134 Mbit at 8 bits, ten times the block RAM of the
# largest Artix-7, the xc7a200t's 13.1 Mbit), which snnc compiles in 50 to 80 s and 2.8 GB
# (benchmarks/compile_scale.py).  A larger model is refused as soon as it is read.
MAX_WEIGHTS = 1 << 24

# The widest weights: the dialect's INT8 (and INT4) initializers; --bits and the quantizers stop here.
MAX_WEIGHT_BITS = 8

# A float model's membrane (snnTorch's Leaky, a NIR LIF) goes on a grid this many steps per power of
# two of its threshold, clamped to +-FLOAT_STATE_CLAMP theta: FLOAT_GRID_BITS (theta is 2**16 ..
# 2**17 - 1 LSB) where snnTorch's state_quant levels hold it (their midpoints are matched on it,
# frontend.interop.matched_levels), FLOAT_STATE_GRID_BITS for a float state, whose only error is the
# floored leak's drift (half an LSB a step, for 1/(1 - beta) steps): fine enough that it changes no
# spike, and moves no readout's membrane, of the float model on the tests' inputs.
FLOAT_GRID_BITS = 16
FLOAT_STATE_GRID_BITS = 20
FLOAT_STATE_CLAMP = 64

# The leak B / 2**F: F up to 24 bits, so any float32 beta (snnTorch's, an ONNX attribute) is exact;
# B * v must then stay inside int64 (register_sizes checks it).
MAX_LEAK_FRAC_BITS = 24


def float_state_grid(theta: float, grid_bits: int = FLOAT_GRID_BITS) -> float:
    """The state LSB of a float model's LIF: 2**(floor(log2 theta) - grid_bits)."""
    return 2.0 ** (math.floor(math.log2(theta)) - grid_bits)


# ---- design interface ----------------------------------------------------------------------------
# The Verilog module names the RTL generator writes, the simulators drive and the boards instantiate.

NETWORK_TOP = "snnc_top"   # NetworkTop: clk, rst, start, n_steps, done, spike streams, counters
BOARD_TOP = "snnc_board"   # BoardCore: clk, rst, rx, tx, leds
BOARD_LEDS = ("heartbeat", "running", "bad_frame")  # BOARD_TOP's `leds`, bit by bit


