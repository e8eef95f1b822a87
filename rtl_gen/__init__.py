"""snnc.rtl_gen: Amaranth components of integer LIF networks and their Verilog."""
from .board_core import BOARD_TOP_NAME, BoardCore
from .emit import TOP_NAME, board_verilog, network_verilog
from .network_top import NetworkTop

__all__ = ["BOARD_TOP_NAME", "BoardCore", "NetworkTop", "TOP_NAME", "board_verilog", "network_verilog"]
