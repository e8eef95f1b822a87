"""snnc.sim: the golden model (an IR interpreter, `sim.golden`), and the RTL co-simulation of a
build's Verilog: the cocotb benches and the Verilator/Icarus runner (`sim.rtl`)."""
from .golden import classify, run

__all__ = ["classify", "run"]
