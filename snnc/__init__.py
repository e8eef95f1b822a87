"""snnc: deploy quantized spiking neural networks to Xilinx Artix-7 FPGAs.

Public API: `compile_model` (ONNX or NIR file -> fixed-point IR), `load`/`save` (IR files),
`simulate` (the golden model), `SnncError` (every user error).
"""
from snnc.compiler import Network, Options, SnncError, compile_model, load, save
from snnc.sim import classify
from snnc.sim import run as simulate

__version__ = "0.1.0"
__all__ = ["Network", "Options", "SnncError", "classify", "compile_model", "load", "save", "simulate"]
