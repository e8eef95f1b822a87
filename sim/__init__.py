"""snnc.sim: the golden model (an IR interpreter); RTL co-simulation arrives with the RTL generator."""
from .golden import classify, run

__all__ = ["classify", "run"]
