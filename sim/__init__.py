"""snnc.sim: the golden model (an IR interpreter), the cocotb benches and the Verilator/Icarus runner (`sim.rtl`)."""
from .golden import classify, run

__all__ = ["classify", "run"]
