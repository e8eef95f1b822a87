"""snnc.compiler: ONNX and NIR import, the fixed-point IR, passes, state codecs and reports (no torch needed)."""
from .errors import SnncError
from .ir import Network
from .ir_file import load, save
from .passes import Options, compile_model

__all__ = ["SnncError", "Network", "Options", "compile_model", "load", "save"]
