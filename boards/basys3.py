"""Digilent Basys 3 (XC7A35T-1CPG236C), declared in amaranth-boards' style: amaranth-boards has no
Basys 3.  Pins from Digilent's Basys-3-Master.xdc (rev C): 100 MHz clock W5, USB-UART RsRx B18 /
RsTx A18, 16 LEDs, the centre button BTNC (U18, active high) as reset."""
from amaranth.build import Attrs, Clock, Pins, Resource
from amaranth.vendor import XilinxPlatform
from amaranth_boards.resources import ButtonResources, LEDResources, SwitchResources, UARTResource

__all__ = ["Basys3Platform"]


class Basys3Platform(XilinxPlatform):
    device = "xc7a35t"
    package = "cpg236"
    speed = "1"
    default_clk = "clk100"
    default_rst = "rst"
    resources = [
        Resource("clk100", 0, Pins("W5", dir="i"), Clock(100e6), Attrs(IOSTANDARD="LVCMOS33")),
        Resource("rst", 0, Pins("U18", dir="i"), Attrs(IOSTANDARD="LVCMOS33")),
        *LEDResources(pins="U16 E19 U19 V19 W18 U15 U14 V14 V13 V3 W3 U3 P3 N3 P1 L1",
                      attrs=Attrs(IOSTANDARD="LVCMOS33")),
        *ButtonResources(pins="T18 U17 W19 T17", attrs=Attrs(IOSTANDARD="LVCMOS33")),  # up, down, left, right
        *SwitchResources(pins="V17 V16 W16 W17 W15 V15 W14 W13 V2 T3 T2 R3 W2 U1 T1 R2",
                         attrs=Attrs(IOSTANDARD="LVCMOS33")),
        UARTResource(0, rx="B18", tx="A18", attrs=Attrs(IOSTANDARD="LVCMOS33")),
    ]
    connectors = []
