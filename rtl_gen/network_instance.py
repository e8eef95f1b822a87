"""NetworkInstance: a NetworkTop already emitted as Verilog (module `contracts.NETWORK_TOP`), used
by its ports: the board core instantiates the network's own module, so a board build elaborates
the network once and its Verilog holds one copy of it."""
from __future__ import annotations

from amaranth import ClockSignal, Instance, Module, ResetSignal
from amaranth.lib import wiring
from amaranth.lib.wiring import Flow

from snnc.compiler import ir
from snnc.compiler.contracts import NETWORK_TOP
from snnc.compiler.layer_impl import Implementation

from .network_top import network_ports


class NetworkInstance(wiring.Component):
    def __init__(self, net: ir.Network, impl: Implementation):
        """The ports of NetworkTop(net, impl), whose Verilog module this stands for."""
        self.net, self.n_out = net, int(net.lifs[-1].size)
        super().__init__(network_ports(net, impl))

    def elaborate(self, platform):
        m = Module()
        ports = {"i_clk": ClockSignal(), "i_rst": ResetSignal()}
        for path, member, value in self.signature.flatten(self):
            # Amaranth names a module's port by its member path joined with "__"
            ports[("i_" if member.flow == Flow.In else "o_") + "__".join(map(str, path))] = value
        m.submodules.network = Instance(NETWORK_TOP, **ports)
        return m
