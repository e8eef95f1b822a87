"""snnc: deploy quantized spiking neural networks to Xilinx Artix-7 FPGAs.

Public API: `compile_model` (ONNX or NIR file -> fixed-point IR), `load`/`save` (IR files),
`simulate` (the golden model), `classify`, `SnncError` (every user error).  They are imported when
first used (PEP 562), so that `snnc` on the command line starts with nothing imported that Ctrl-C
could interrupt outside its handler (snnc.entry).
"""
import importlib

__version__ = "0.1.0"
_API = {"Network": "snnc.compiler", "Options": "snnc.compiler", "SnncError": "snnc.compiler",
        "compile_model": "snnc.compiler", "load": "snnc.compiler", "save": "snnc.compiler",
        "classify": "snnc.sim", "simulate": ("snnc.sim", "run")}
__all__ = sorted(_API)


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f"module 'snnc' has no attribute '{name}'")
    module, attr = _API[name] if isinstance(_API[name], tuple) else (_API[name], name)
    return getattr(importlib.import_module(module), attr)
