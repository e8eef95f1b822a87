"""snnc.rtl_gen: Amaranth components of integer LIF networks and their Verilog."""
from .emit import TOP_NAME, network_verilog
from .network_top import NetworkTop

__all__ = ["NetworkTop", "TOP_NAME", "network_verilog"]
