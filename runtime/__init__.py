"""snnc.runtime: the host runtime: the framed protocol, the serial and simulation links, Device."""
from .device import Device, Inference, input_tokens
from .protocol import HostProtocol, LinkError

__all__ = ["Device", "HostProtocol", "Inference", "LinkError", "input_tokens"]
