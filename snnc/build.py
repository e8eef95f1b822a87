"""The build library: `snnc compile`, `simulate` and `report` as library steps over one config
(FINN's build_dataflow is the model).  The command line, the examples and the tests call these;
the BUILD_DIR format itself is `snnc.compiler.build_folder`.

    cfg = BuildConfig("model.onnx", "build", bits=4, lanes=4, board="arty-a7-35")
    result = build(cfg)                       # runs BUILD_STEPS in order, then writes BUILD_DIR whole
    out = simulate_build("build", spikes, "rtl")  # golden or RTL; an RTL run's cycles go into the report
    rep = load_report("build")                    # compiler + design + synthesis + board + measured cycles

Each step takes the config and the build so far and returns it with its part added; a step that
finds a user error raises SnncError before anything is written.
"""
from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from snnc import boards
from snnc.compiler import Network, artix7, build_folder, engine_model, files, ir_file, layer_impl
from snnc.compiler import host_protocol as hp
from snnc.compiler.build_folder import BuildSettings
from snnc.compiler.contracts import NETWORK_TOP, BOARD_TOP
from snnc.compiler.errors import SnncError
from snnc.compiler.geometry import network_geometry
from snnc.compiler.passes import Options, compile_model
from snnc.sim import golden

from .report import build_report, format_build_report

@dataclass(frozen=True)
class BuildConfig:
    """What to build.  model: the ONNX or NIR (.nir) file; output: BUILD_DIR; bits/state_bits/state_quant/
    per_channel: compiler options (None keeps the model's choice); lanes: scatter lanes (and LIF
    update units) per layer (layer_impl.Lanes), or "auto": chosen by snnc.autolanes for max_luts or
    max_latency_us, at the input spike_rate or for the spikes of the `sample` .npy file;
    board: a name from `snnc boards` (adds the board core and its Vivado project); baud: the
    board's UART rate; synth: run Vivado on the board build; accumulators: "double" (two banks per
    layer, the update overlaps the next timestep's scatter), "single" (one bank, half the RAM, the
    update waits) or "auto" (double unless the banks exceed engine_model.SINGLE_BANK_BITS or the
    board's block RAM); weights: each synapse's weight storage, "dense", "sparse" (only the non-zero
    weights) or "auto" (whichever is cheaper per layer at its lanes; engine_model.EngineModel.weights_line); dt: a
    NIR graph's time step in seconds (None: the graph's metadata); force: build into an output folder
    that holds files snnc did not write, keeping them (build_folder.new_build)."""

    model: Path
    output: Path
    bits: int | None = None
    state_bits: int | None = None
    state_quant: str | None = None
    per_channel: bool = False
    lanes: layer_impl.Lanes | str | None = None  # None: the cost model's, for default_lut_budget(board)
    board: str | None = None
    baud: int | None = None  # None: hp.DEFAULT_BAUD on a board
    synth: bool = False
    accumulators: str = "auto"
    max_luts: int | None = None
    max_latency_us: float | None = None
    spike_rate: float | None = None
    sample: Path | None = None
    weights: str = "auto"
    dt: float | None = None
    force: bool = False

    @property
    def board_baud(self) -> int:
        return hp.DEFAULT_BAUD if self.baud is None else self.baud

    @property
    def lanes_asked(self) -> layer_impl.Lanes | str:
        """The lanes of the build: as given, else (no --lanes) "auto" for default_lut_budget."""
        return self.lanes if self.lanes is not None else "auto"


# Without --lanes: the fastest design the cost model puts in this share of a board part's LUTs
# (the rest for the board core, the UART link and what the model misses), or, without a board, in
# DEFAULT_LUT_BUDGET (the budget of docs/rtl.md's comparisons, a seventh of the smallest board's
# xc7a35t), at DEFAULT_RATE input spikes per input per step.
DEFAULT_BOARD_LUT_SHARE = 0.25
DEFAULT_LUT_BUDGET = 3000


def default_lut_budget(board: str | None) -> tuple[int, str]:
    """(LUTs, what they are) of a build without --lanes."""
    if board is None:
        return DEFAULT_LUT_BUDGET, f"the default budget of {DEFAULT_LUT_BUDGET} LUTs"
    luts = int(DEFAULT_BOARD_LUT_SHARE * boards.get_board(board).resources["LUT"])
    return luts, f"{100 * DEFAULT_BOARD_LUT_SHARE:g}% of the {board}'s LUTs ({luts})"


@dataclass(frozen=True)
class Build:
    """A build in progress: the IR, the settings, and the files to write (name -> text)."""

    net: Network | None = None
    settings: BuildSettings | None = None
    files: dict[str, str] = field(default_factory=dict)


def step_check_config(cfg: BuildConfig, b: Build) -> Build:
    """Refuse impossible requests before any work: the output folder, lanes, the baud rate on the
    board's clock, Vivado."""
    build_folder.kept_entries(build_folder.output_folder(cfg.output), cfg.force, cfg.output)
    if cfg.lanes == "auto":
        if (cfg.max_luts is None) == (cfg.max_latency_us is None) or (cfg.spike_rate is None) == (cfg.sample is None):
            raise SnncError("--lanes auto needs one target (--max-luts N or --max-latency-us X) and one input "
                            "(--spike-rate R or --sample X.npy)")
        if cfg.max_luts is not None and cfg.max_luts < 1 or \
                cfg.max_latency_us is not None and not 0 < cfg.max_latency_us < float("inf"):
            raise SnncError(f"--max-luts must be at least 1 and --max-latency-us a finite number above 0, got "
                            f"{cfg.max_luts if cfg.max_luts is not None else cfg.max_latency_us}")
    elif any(v is not None for v in (cfg.max_luts, cfg.max_latency_us, cfg.spike_rate, cfg.sample)):
        raise SnncError("--max-luts, --max-latency-us, --spike-rate and --sample go with --lanes auto")
    elif cfg.lanes is not None:  # without --lanes: the default budget's (step_compile)
        layer_impl.check_lanes(cfg.lanes)
    layer_impl.check_weights(cfg.weights)
    if cfg.accumulators not in ACCUMULATOR_CHOICES:
        raise SnncError(f"--accumulators must be one of {', '.join(ACCUMULATOR_CHOICES)}, got '{cfg.accumulators}'")
    if cfg.board is not None:
        board = boards.get_board(cfg.board)
        hp.uart_divisor(board.clock_hz, cfg.board_baud)
    elif cfg.baud is not None:
        raise SnncError("--baud is the UART rate of a board build: give --board NAME")
    if cfg.synth and not cfg.board:
        raise SnncError("--synth runs Vivado on a board build: give --board NAME")
    if cfg.synth and shutil.which("vivado") is None:
        raise SnncError("--synth needs Vivado: 'vivado' is not on PATH (leave --synth out to write the script only)")
    return b


def step_compile(cfg: BuildConfig, b: Build) -> Build:
    """ONNX or NIR -> the sized fixed-point IR (snnc.compiler.passes.pipeline), and each layer's
    engine (layer_impl.LayerImpl): the lanes asked for or chosen by autolanes, the weight storage,
    the accumulator banks (--accumulators auto: one where two would exceed SINGLE_BANK_BITS)."""
    net = compile_model(cfg.model, Options(cfg.bits, cfg.state_bits, cfg.state_quant, cfg.per_channel, cfg.dt))
    notes = [f"{stage.synapse.name}: binary weights have no zeros, stored dense" for stage in net.stages
             if cfg.weights == "sparse" and stage.synapse.weight_bits == 1]
    lifs, impl = frozenset(lif.name for lif in net.lifs), None
    if cfg.lanes_asked == "auto":
        from snnc import autolanes
        from snnc.energy import DEFAULT_RATE, DEFAULT_TIMESTEPS

        max_luts, rate = cfg.max_luts, cfg.spike_rate
        if cfg.lanes is None:  # a build without --lanes
            (max_luts, budget), rate = default_lut_budget(cfg.board), DEFAULT_RATE
            notes.append(f"no --lanes: lanes for {budget} at {DEFAULT_RATE} input spikes per input per step "
                         "(--lanes 1 gives the smallest design)")
        sample = None if cfg.sample is None else golden.check_spikes(files.load_array(Path(cfg.sample)),
                                                                      net.input_shape, f"--sample {cfg.sample}")
        inputs, updates = autolanes.expected_run(net, DEFAULT_TIMESTEPS, rate, sample)
        clock = boards.get_board(cfg.board).clock_hz if cfg.board else artix7.DEFAULT_CLOCK_HZ
        widest = layer_impl.implement(net, tuple((lif.shape[0], 1) for lif in net.lifs), "dense")
        try:
            impl, why = autolanes.choose_lanes(net, inputs, clock, max_luts, cfg.max_latency_us, cfg.accumulators,
                                               cfg.weights, engine_model.auto_single_bank(net, widest),  # at any lanes
                                               boards.get_board(cfg.board).resources["DSP"] if cfg.board else None,
                                               updates)
            notes += why
        except SnncError:  # not even 1 lane fits the default budget: 1 lane (step_plan_memories judges it on a board)
            if cfg.lanes is not None:
                raise
    if impl is None:
        impl = layer_impl.implement(net, 1 if cfg.lanes_asked == "auto" else cfg.lanes_asked, cfg.weights)
        single = {"double": frozenset(), "single": lifs,
                  "auto": engine_model.auto_single_bank(net, impl)}[cfg.accumulators]
        impl = layer_impl.with_banks(impl, net, single)
    return replace(b, net=replace(net, notes=net.notes + tuple(notes)),
                   settings=BuildSettings(layers=impl, top=NETWORK_TOP, verilog=f"{NETWORK_TOP}.v"))


def step_plan_memories(cfg: BuildConfig, b: Build) -> Build:
    """Check that the design's block RAM fits the board's part (engine_model.network_memories): with
    --accumulators auto, give up double buffering, largest accumulator banks first, until it does; a
    design that cannot fit, in block RAM or in LUTs by the cost model, is refused before any Verilog."""
    if not cfg.board:
        return b
    hp.output_link_tokens(b.net.lifs[-1])  # a readout's states must fit the host link's words
    board, impl = boards.get_board(cfg.board), b.settings.layers
    have = board.resources["BRAM36"]
    memories = engine_model.network_memories(b.net, impl, board=True)
    need = engine_model.total_bram36(memories)
    single = frozenset(lif.name for lif, li in zip(b.net.lifs, impl) if li.banks == 1)
    banks = sorted((m for m in memories if m.kind == "accumulators" and m.owner not in single), key=lambda m: -m.bits)
    for m in banks if cfg.accumulators == "auto" else ():
        if need <= have:
            break
        single, need = single | {m.owner}, need - m.bram36 / 2
    impl = layer_impl.with_banks(impl, b.net, single)
    if need > have:
        memories = engine_model.network_memories(b.net, impl, board=True)
        largest = max(memories, key=lambda m: m.bits)
        raise SnncError(f"the design needs {need:g} BRAM36 ({sum(m.bits for m in memories) / 1e6:.2f} Mbit) "
                        f"but {board.name}'s {board.part} has {have}; largest memory: "
                        f"{largest.owner} {largest.kind}, {largest.bits / 1e6:.2f} Mbit ({largest.bram36:g} BRAM36)")
    dsp = {lif.name: g.dsp_slices for lif, g in zip(b.net.lifs, network_geometry(b.net, impl)) if g.dsp_slices}
    if sum(dsp.values()) > board.resources["DSP"]:
        raise SnncError(f"the design's register accumulators need {sum(dsp.values())} DSP48E1 slices "
                        f"({', '.join(f'{k} {v}' for k, v in dsp.items())}) but {board.name}'s {board.part} has "
                        f"{board.resources['DSP']}; give those layers fewer lanes than outputs (their accumulators "
                        f"then stay in RAM)")
    luts, have_luts = engine_model.network_luts(engine_model.network_models(b.net, impl)), board.resources["LUT"]
    if luts > have_luts:  # as block RAM: refused before anyone waits for Vivado
        raise SnncError(f"the design needs about {luts:,.0f} LUTs by the cost model but {board.name}'s {board.part} has "
                        f"{have_luts:,}; use fewer lanes (--lanes {layer_impl.lanes_text(impl)} now, --lanes 1 is the smallest)")
    return replace(b, settings=replace(b.settings, layers=impl))


def step_network_verilog(cfg: BuildConfig, b: Build) -> Build:
    from snnc.rtl_gen import network_verilog

    text, memories = network_verilog(b.net, b.settings.layers)
    settings = replace(b.settings, memory_files=tuple(sorted(memories)))
    return replace(b, settings=settings, files={**b.files, settings.verilog: text, **memories})


def step_board_verilog(cfg: BuildConfig, b: Build) -> Build:
    """The board core (UART, host protocol, buffers) around the network's module of
    step_network_verilog: its Verilog is simulated as it is and is the board's Vivado project."""
    if not cfg.board:
        return b
    from snnc.rtl_gen import board_verilog

    board = boards.get_board(cfg.board)
    identity = hp.design_hash(ir_file.fingerprint(b.net), b.settings.layers)
    settings = replace(b.settings, board=board.name, part=board.part, clk_hz=board.clock_hz, baud=cfg.board_baud,
                       identity=identity, board_verilog=f"{BOARD_TOP}.v", board_files=build_folder.BOARD_FILES)
    text = board_verilog(b.net, b.settings.layers, board.clock_hz, cfg.board_baud, identity, b.files[b.settings.verilog])
    return replace(b, settings=settings, files={**b.files, settings.board_verilog: text})


BUILD_STEPS = (step_check_config, step_compile, step_plan_memories, step_network_verilog, step_board_verilog)
ACCUMULATOR_CHOICES = ("auto", "double", "single")


@contextlib.contextmanager
def _write_errors(where: Path):
    try:
        yield
    except OSError as e:  # a full disk, a folder that went away
        raise SnncError(f"{where}: cannot write the build ({e.strerror})") from None


@dataclass(frozen=True)
class BuildResult:
    path: Path
    net: Network
    settings: BuildSettings
    report: dict


def build(cfg: BuildConfig, steps=BUILD_STEPS) -> BuildResult:
    """Run the steps, then write BUILD_DIR: in a temporary folder beside it, moved into place whole."""
    b = Build()
    for step in steps:
        b = step(cfg, b)
    rep = build_report(b.net, b.settings)
    with build_folder.new_build(cfg.output, cfg.force) as tmp, _write_errors(cfg.output):
        ir_file.save(b.net, tmp / build_folder.IR_STEM)
        for name, text in b.files.items():
            (tmp / name).write_text(text)
        if b.settings.board:
            board = boards.get_board(b.settings.board)
            boards.write_board_build(board, b.files[b.settings.board_verilog],
                                     {name: b.files[name] for name in b.settings.memory_files},
                                     tmp / build_folder.BOARD_FILES)
            if cfg.synth:
                boards.run_vivado(tmp / build_folder.BOARD_FILES)
        files.save_json(tmp / build_folder.SETTINGS, b.settings.to_json())
        files.save_json(tmp / build_folder.REPORT_JSON, rep)
        (tmp / build_folder.REPORT_TEXT).write_text(format_build_report(rep))
    return BuildResult(Path(cfg.output), b.net, b.settings, rep)


def simulate_build(build_dir: Path, spikes: np.ndarray, engine: str = "golden", simulator: str = "verilator",
                   trace: Path | None = None, trace_steps: tuple[int, int] | None = None, progress=None) -> np.ndarray:
    """Run a build on spikes [T, B, *input_shape]; returns the output spikes uint8 [T, B, N_out], or a
    readout's membranes (golden.output_array).
    An RTL run records its cycle counters in the build (the report shows them); trace: its waveform
    file (FST or VCD by the extension), trace_steps: of timesteps A to B - 1 only; progress: bars for
    the simulator's build and run (sim.rtl.run)."""
    build_dir = Path(build_dir)
    if (trace is not None or trace_steps is not None) and engine != "rtl":
        raise SnncError("--trace records the RTL's waveform: it goes with --engine rtl")
    net, settings = build_folder.load(build_dir)
    spikes = golden.check_spikes(spikes, net.input_shape)
    reference, record = golden.run(net, spikes, trace=True)  # the golden answer, and the energy's counts
    if engine == "golden":
        out = reference
    elif engine == "rtl":
        from snnc.sim import rtl

        result = rtl.run(net, spikes, settings.layers, simulator, build_folder.record_folder(build_dir, build_folder.SIM_DIR),
                         (build_dir / settings.verilog).read_text(), build_folder.memory_images(build_dir, settings),
                         trace=trace, trace_steps=trace_steps, progress=progress)
        out = result.outputs
        if trace is not None:
            from snnc.sim.waves import write_layout

            write_layout(net, trace)
        files.save_json(build_dir / build_folder.RTL_RUN, {
            "simulator": simulator, "timesteps": int(spikes.shape[0]), "samples": int(spikes.shape[1]),
            "cycles_per_inference": result.cycles.tolist(),
            "busy_cycles": {name: v.tolist() for name, v in result.busy.items()}})
    else:
        raise SnncError(f"unknown engine '{engine}' (choose golden or rtl)")
    from snnc import energy

    golden_counts = energy.activity(net, settings.layers, spikes, record)
    # an RTL run: its own counters, and the golden model's counts beside them
    counted = {"engine": engine, "activity": golden_counts} if engine == "golden" else \
        {"engine": engine, "activity": energy.rtl_activity(net, result.counters, spikes.shape[0], result.cycles),
         "golden_activity": golden_counts}
    files.save_json(build_dir / build_folder.ACTIVITY, counted)
    return golden.output_array(net, out)  # [T, B, N_out], also after a conv output layer


def synthesis(build_dir: Path, settings: BuildSettings, log=None) -> dict:
    """Yosys' estimate of the build's design (the whole board core, UART included, for a board
    build; the network otherwise), cached in BUILD_DIR/synth."""
    from snnc.rtl_gen.synthesis import synthesize

    cache = build_folder.record_folder(build_dir, build_folder.SYNTH_DIR) / "synth.json"
    try:
        cached = build_folder.load_json(cache)
        valid = cached is not None and isinstance(cached.get("tool"), str) and isinstance(cached.get("lut_levels"), int) \
            and isinstance(cached.get("clock"), dict) \
            and isinstance(cached.get("resources"), dict) and all(isinstance(cached["resources"].get(k), int) for k in
                                                                   ("LUT", "LUTRAM", "FF", "BRAM18", "BRAM36", "DSP48"))
    except SnncError:
        valid = False
    if not valid:  # a cache: a damaged one is made again
        top = BOARD_TOP if settings.board else NETWORK_TOP
        if log:
            log(f"synthesizing {top} with Yosys synth_xilinx -family xc7 (cached in BUILD_DIR/{build_folder.SYNTH_DIR}) ...")
        cached = synthesize(Path(build_dir) / (settings.board_verilog or settings.verilog), cache.parent, top,
                            build_folder.memory_images(build_dir, settings))
        files.save_json(cache, cached)
    return cached


def load_report(build_dir: Path, synth: bool = True, log=None, clock_hz: float | None = None) -> dict:
    """The report of a build: the compiler's, the design's RAMs, Yosys' estimate (and the board's
    utilisation, the estimated clock) unless synth=False, and the cycles of the last RTL run.
    clock_hz: the target clock, at which latency and energy are given (default: the design's,
    BuildSettings.clock_hz)."""
    net, settings = build_folder.load(build_dir)
    clock = clock_hz or settings.clock_hz
    run = build_folder.load_rtl_run(build_dir)
    rep = build_report(net, settings, synthesis(build_dir, settings, log) if synth else None, run, clock)
    rep["energy"] = energy_estimate(net, settings, build_folder.load_activity(build_dir), clock)
    return rep


def energy_estimate(net: Network, settings: BuildSettings, recorded: dict | None, clock: float) -> dict:
    """snnc.energy's estimate at `clock` (Hz) from the last simulation's counts (an RTL run's own
    counters, with the golden model's estimate on the same input beside it), or from the default
    spike rate."""
    from snnc import energy

    board = settings.board is not None
    names = [lif.name for lif in net.lifs]
    if recorded is not None and [layer["layer"] for layer in recorded["activity"]["layers"]] == names:
        engine = recorded["engine"]
        source = {"golden": "the golden model's counts of the last snnc simulate, cycles from the schedule (docs/rtl.md)",
                  "rtl": "the RTL's activity counters and measured cycles in the last snnc simulate"}[engine]
        est = energy.energy(net, settings.layers, recorded["activity"], source, clock, board)
        if engine == "rtl":
            gold = energy.energy(net, settings.layers, recorded["golden_activity"], "golden", clock, board)
            est["golden_per_inference_j"] = gold["per_inference_j"]
            est["rtl_vs_golden"] = est["per_inference_j"] / gold["per_inference_j"] - 1
        return est
    act = energy.default_activity(net, settings.layers)
    return energy.energy(net, settings.layers, act, f"a default rate of {energy.DEFAULT_RATE} spikes per neuron per "
                         f"timestep at T = {energy.DEFAULT_TIMESTEPS} (no simulation yet)", clock, board)
