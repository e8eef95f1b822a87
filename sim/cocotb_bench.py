"""cocotb testbench for a build's `snnc_top`: runs one job file and writes the results.

Started by `snnc.sim.rtl` through cocotb_tools.runner, in the simulator's process.  The job
(`SNNC_JOB`, an .npz) holds the spike tokens of every sample; for each sample the bench pulses
`start`, streams the tokens in while draining the output stream, waits for `done`, then reads the
spike counts, the cycle counters and every layer's stored state.  Results go to `SNNC_RESULT`.
Per-cycle Python work happens only while tokens move; idle stretches are skipped POLL cycles at a time.
"""
from __future__ import annotations

import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly, RisingEdge
from cocotb.utils import get_sim_time



async def run_sample(dut, tokens: np.ndarray, n_steps: int, poll: int, max_cycles: int,
                     address_bits: int, bounds: list[int]) -> list[int]:
    """Returns the output tokens of one sample (the caller decodes them).  `poll` is at most half of
    the in/out FIFO depths, so skipping `poll` cycles can neither starve the network nor fill the output.
    bounds: gets the simulation time (the simulator's steps) of the start and of each timestep's end
    token, T + 1 values (a trace window is cut at them)."""
    dut.n_steps.value = n_steps
    dut.start.value = 1
    bounds.append(int(get_sim_time()))
    await RisingEdge(dut.clk)
    dut.start.value = 0
    out = []
    i, t, waited = 0, 0, 0
    while t < n_steps or not int(dut.done.value):
        if waited > max_cycles:
            raise AssertionError(f"no done after {max_cycles} cycles: {i}/{len(tokens)} tokens in, {t} timesteps out")
        pushing = i < len(tokens)
        if pushing:
            dut.i_spikes__payload.value = int(tokens[i])
        dut.i_spikes__valid.value = int(pushing)
        dut.o_spikes__ready.value = 1
        await ReadOnly()
        took_in = pushing and int(dut.i_spikes__ready.value)
        got_out = int(dut.o_spikes__valid.value)
        payload = int(dut.o_spikes__payload.value) if got_out else 0
        await RisingEdge(dut.clk)
        waited += 1
        if took_in:
            i += 1
        if got_out:
            out.append(payload)
            if payload >> address_bits:  # the end-of-timestep token (tokens.SpikeTokens)
                t += 1
                bounds.append(int(get_sim_time()))
        if not took_in and not got_out:
            dut.i_spikes__valid.value = 0
            dut.o_spikes__ready.value = 0
            await ClockCycles(dut.clk, poll)
            waited += poll
    dut.i_spikes__valid.value = 0
    dut.o_spikes__ready.value = 0
    return out


async def read_port(dut, sel_name: str, n: int, out_name: str) -> list[int]:
    """`out_name` at each select 0..n-1 of `sel_name` (a read of at most one cycle's latency),
    one clock per value: a select set at a falling edge is taken by the next rising edge, and its
    value read at the falling edge after it, where the next select is set (a value per three
    triggers, as the bench once read them, made the state readback of a large layer its longest part)."""
    values = []
    await FallingEdge(dut.clk)
    for k in range(n):
        getattr(dut, sel_name).value = k
        await FallingEdge(dut.clk)
        values.append(int(getattr(dut, out_name).value))
    return values


@cocotb.test()
async def run_job(dut):
    job = np.load(os.environ["SNNC_JOB"])
    n_steps, n_out = int(job["n_steps"]), int(job["n_out"])
    state_words = job["state_words"]
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns", impl="gpi").start())  # C++ clock: no Python per edge
    dut.start.value = 0
    dut.rst.value = 1
    await ClockCycles(dut.clk, 2)
    dut.rst.value = 0
    outputs, offsets, states, cycles, counters, counts, bounds = [], [0], [], [], [], [], []
    for b in range(int(job["batch"])):
        tokens = job["tokens"][job["offsets"][b]:job["offsets"][b + 1]]
        outputs += await run_sample(dut, tokens, n_steps, int(job["poll"]), int(job["max_cycles"]),
                                    int(job["address_bits"]), bounds)
        offsets.append(len(outputs))
        cycles.append(int(dut.cycles.value))
        counters.append(await read_port(dut, "counter_sel", int(job["n_counters"]), "counter_data"))
        counts.append(await read_port(dut, "count_addr", n_out, "count_data"))
        layer_states = []
        for layer, n_words in enumerate(state_words):
            dut.dbg_layer.value = layer
            layer_states.append(await read_port(dut, "dbg_addr", int(n_words), "dbg_state"))
        states.append(np.array([v for layer in layer_states for v in layer], dtype=object))
        if os.environ.get("SNNC_PROGRESS"):  # samples done, for the host's progress bar
            with open(os.environ["SNNC_PROGRESS"], "w") as f:
                f.write(str(b + 1))
    np.savez(os.environ["SNNC_RESULT"], outputs=np.array(outputs, np.int64), output_offsets=np.array(offsets),
             cycles=np.array(cycles), counters=np.array(counters),
             counts=np.array(counts), states=np.array([[str(v) for v in s] for s in states]),
             step_bounds=np.array(bounds, np.int64).reshape(int(job["batch"]), n_steps + 1))
