"""cocotb bench that turns a BoardCore's UART lines into a byte link a host process can drive.

Started by `snnc.runtime.sim_link` through cocotb_tools.runner.  It connects to the host's socket
(`SNNC_LINK_PORT`) and serves requests in lockstep with simulated time, so the host's timeouts
are in the board's time and the run is deterministic:
  b"W" + bytes                  queue bytes for the board's rx line (sent 8N1 at the UART's rate)
  b"R" + u32 n + u64 timeout_ps  advance time until n bytes came out of the board's tx line, or
                                the timeout passed; answer with the bytes (up to n)
  b"Q"                          end the simulation
Every message is a u32 length then its body.  Simulated time runs only while a read waits.
"""
from __future__ import annotations

import os
import socket
import struct
from collections import deque

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, Event, FallingEdge, First, Timer
from cocotb.utils import get_sim_time

PERIOD_NS = 10  # the simulated clock; the UART divisor, not this period, sets the bit time


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("host closed the link")
        data += chunk
    return data


@cocotb.test()
async def serve_link(dut):
    divisor = int(os.environ["SNNC_UART_DIVISOR"])
    bit_ns = divisor * PERIOD_NS
    # the clock in C++ (GPI): a Python coroutine per edge would dominate the run time
    cocotb.start_soon(Clock(dut.clk, PERIOD_NS, unit="ns", impl="gpi").start())
    dut.rx.value = 1
    dut.rst.value = 1
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    await Timer(PERIOD_NS // 2, unit="ns")  # line changes half a clock away from the edges

    to_board: deque[int] = deque()
    from_board = bytearray()
    queued, arrived = Event(), Event()

    async def drive_rx():
        while True:
            if not to_board:
                queued.clear()
                await queued.wait()
                continue
            byte = to_board.popleft()
            for bit in [0, *((byte >> i) & 1 for i in range(8)), 1]:
                dut.rx.value = bit
                await Timer(bit_ns, unit="ns")

    async def watch_tx():
        while True:
            await FallingEdge(dut.tx)
            await Timer(bit_ns // 2, unit="ns")
            if int(dut.tx.value):
                continue
            value = 0
            for i in range(8):
                await Timer(bit_ns, unit="ns")
                value |= int(dut.tx.value) << i
            await Timer(bit_ns, unit="ns")
            if int(dut.tx.value):  # a valid stop bit
                from_board.append(value)
                arrived.set()

    cocotb.start_soon(drive_rx())
    cocotb.start_soon(watch_tx())
    sock = socket.create_connection(("127.0.0.1", int(os.environ["SNNC_LINK_PORT"])))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # small messages, answered at once
    try:
        while True:
            (size,) = struct.unpack("<I", recv_exactly(sock, 4))
            msg = recv_exactly(sock, size)
            op, body = msg[:1], msg[1:]
            if op == b"Q":
                break
            if op == b"W":
                to_board.extend(body)
                queued.set()
                continue
            n, timeout_ps = struct.unpack("<IQ", body)
            deadline = get_sim_time("ps") + timeout_ps
            while len(from_board) < n:
                remaining = deadline - get_sim_time("ps")
                if remaining <= 0:
                    break
                arrived.clear()
                await First(arrived.wait(), Timer(remaining, unit="ps"))
            answer = bytes(from_board[:n])
            del from_board[:n]
            sock.sendall(struct.pack("<I", len(answer)) + answer)
    finally:
        sock.close()
