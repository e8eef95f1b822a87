"""snnc.rtl_gen: Amaranth components of integer LIF networks and their Verilog."""
from .board_core import BoardCore
from .emit import board_verilog, network_verilog
from .network_top import NetworkTop

__all__ = ["BoardCore", "NetworkTop", "board_verilog", "network_verilog"]
