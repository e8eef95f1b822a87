"""SerialLink: a board's USB-UART through pyserial."""
from __future__ import annotations


from snnc.compiler.errors import SnncError


class SerialLink:
    latency_s = 0.05  # USB-serial adapters hold received bytes up to 16 ms (FTDI latency timer)

    def __init__(self, port: str, baud: int):
        import serial

        try:
            self.port = serial.Serial(port, baud, timeout=0)
        except serial.SerialException as e:
            raise SnncError(f"{port}: cannot open the serial port ({e})") from None
        self.port.reset_input_buffer()

    def write(self, data: bytes) -> None:
        self.port.write(data)
        self.port.flush()

    def read(self, n: int, timeout_s: float) -> bytes:
        self.port.timeout = timeout_s
        return self.port.read(n)

    def close(self) -> None:
        self.port.close()


