"""What an snnTorch model does, as a chain of layers, found by running it.

Any `nn.Module` is accepted: an `nn.Sequential` (nested or not) of neurons with `init_hidden=True`,
called once per time step as snnTorch's tutorials do, or a class whose `forward` runs its own time
loop over the whole input `[T, B, ...]` (`for step in range(num_steps): cur1 = self.fc1(x[step]);
spk1, mem1 = self.lif1(cur1, mem1) ...`) and returns stacked records.  The model runs once on the
example input with a hook on each layer module and a torch function mode on what `forward` does
between them (`x[step]`, `.view(B, -1)`, `F.max_pool2d`, ...).  The chain is followed from the
first time step's input to the last neuron's spikes (or membrane), or to a last Linear's currents
(a readout); what does not continue a feed-forward chain of supported layers is refused with one
line naming the module or the function.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from snnc.compiler.errors import SnncError

SYNAPSES = (nn.Linear, nn.Conv2d)
POOLS = (nn.MaxPool2d, nn.AvgPool2d)
BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)
DROPPED = (nn.Identity, nn.modules.dropout._DropoutNd)  # no-ops at inference
KEEPS_VALUE = {"dropout", "feature_dropout", "alpha_dropout", "contiguous", "clone", "detach", "float", "to"}
RESHAPES = {"view", "reshape", "flatten"}
ENDS = {"stack", "cat"}  # the chain's output gathered over the steps


@dataclass(frozen=True, eq=False)
class Step:
    """One link of the chain.  kind: "synapse", "batchnorm", "pool", "flatten", "neuron" or
    "dropped"; name: the module's qualified name in the model (or the function's, for a functional
    pool or reshape); module: the layer (None for a function); pool: (max or avg, kernel, stride,
    padding) of a pool."""

    kind: str
    name: str
    module: nn.Module | None
    pool: tuple[str, object, object, object] | None = None

    @property
    def label(self) -> str:
        """How errors and notes name it: "fc1 (Linear)", or the function's description."""
        return f"{self.name} ({type(self.module).__name__})" if self.module is not None else self.name


@dataclass(frozen=True)
class Chain:
    """The layers a model runs, in order, and how it is called: per_step, once per time step with
    spikes [B, ...] (init_hidden neurons), else once with the whole input [T, B, ...]."""

    steps: tuple[Step, ...]
    per_step: bool
    input_shape: tuple[int, ...]


def is_neuron(module: nn.Module) -> bool:
    from snntorch._neurons import SpikingNeuron

    return isinstance(module, SpikingNeuron)


def _atomic(module: nn.Module) -> bool:
    """A module the trace treats as one layer: a neuron, a supported layer, or any other leaf."""
    return is_neuron(module) or isinstance(module, SYNAPSES + POOLS + BATCH_NORMS + DROPPED + (nn.Flatten,)) \
        or not any(True for _ in module.children())


def _tensors(value) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _tensors(v)]
    return []


class _Recorder(TorchFunctionMode):
    """Every layer module's call and every torch function called outside them, in order; the
    events keep their tensors alive, so tensors are told apart by identity."""

    def __init__(self):
        super().__init__()
        self.events, self.depth = [], 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if self.depth == 0:
            self.events.append(("function", func, args, kwargs or {}, out))
        return out


def per_step_style(module: nn.Module) -> bool:
    """An nn.Sequential (its forward has no time loop), or neurons with init_hidden (they keep their
    own state): the model may take one time step per call."""
    return isinstance(module, nn.Sequential) or \
        any(getattr(m, "init_hidden", False) for m in module.modules() if is_neuron(m))


def reset_state(module: nn.Module) -> None:
    """Every neuron's membrane back to rest and off any autograd graph (snntorch.utils.reset looks
    at the top-level modules only)."""
    for m in module.modules():
        for state in ("mem", "syn", "spk"):  # a Synaptic keeps its current too, an RLeaky its last spikes
            if is_neuron(m) and isinstance(getattr(m, state, None), torch.Tensor):
                setattr(m, state, torch.zeros(0))


def run(module: nn.Module, spikes: torch.Tensor, per_step: bool) -> torch.Tensor:
    """The model on spikes [T, B, ...] (float) as it is called, from rest: once per step, or once with
    all of them.  Returns the tensor it was given first (the first step's, or the whole input)."""
    reset_state(module)
    given = [spikes[t] for t in range(spikes.shape[0])] if per_step else [spikes]
    try:
        for x in given:
            module(x)
    except (RuntimeError, TypeError, ValueError, IndexError) as e:  # the model does not run on these spikes
        raise SnncError(f"the model's own forward pass fails on example_input: {str(e).splitlines()[0][:200]}") from None
    return given[0]


def _membrane(module: nn.Module) -> torch.Tensor:
    """A neuron's membrane after its call: the one it keeps (snnTorch's neurons set self.mem, whether
    they return it as (spk, mem), (spk, syn, mem) or not at all)."""
    return module.mem


@torch.no_grad()
def layer_outputs(module: nn.Module, spikes: torch.Tensor, per_step: bool, names: list[str],
                  membrane: bool = False) -> list[np.ndarray]:
    """What the named layer modules give at every step, [T, B, ...] each: a neuron's spikes (uint8),
    and for the last name with membrane=True its membrane (a neuron's) or output (a Linear's), float64."""
    by_name = dict(module.named_modules())
    records = {name: [] for name in names}

    def record(m, a, out, name):
        value = _membrane(m) if membrane and name == names[-1] and is_neuron(m) else _tensors(out)[0]
        records[name].append(value.double().numpy().copy())

    hooks = [by_name[name].register_forward_hook(lambda m, a, out, name=name: record(m, a, out, name)) for name in names]
    try:
        run(module, spikes.float(), per_step)
    finally:
        for h in hooks:
            h.remove()
    out = [np.stack(records[name]) for name in names]
    return [o.astype(np.uint8) for o in out[:-1]] + [out[-1] if membrane else out[-1].astype(np.uint8)]


@torch.no_grad()
def trace(module: nn.Module, spikes: torch.Tensor) -> Chain:
    """The chain of layers `module` runs on spikes [T, B, *features] (see the module docstring).
    An nn.Sequential is called per step; any other model first with the whole input, then, if it
    does not take it step by step and has init_hidden neurons, per step."""
    styles = [True] if isinstance(module, nn.Sequential) else [False, True] if per_step_style(module) else [False]
    for per_step in styles:
        try:
            return _trace(module, spikes.float(), per_step)
        except SnncError:
            if per_step == styles[-1]:
                raise
    raise AssertionError("unreachable")


def _trace(module: nn.Module, x: torch.Tensor, per_step: bool) -> Chain:
    names = {id(m): name or type(m).__name__ for name, m in module.named_modules()}
    rec = _Recorder()

    def enter(m, args):
        rec.depth += 1

    def leave(m, args, out):
        rec.depth -= 1
        if rec.depth == 0:
            rec.events.append(("module", m, args, {}, out))

    atomic = [m for m in module.modules() if _atomic(m)]
    hooks = [h for m in atomic for h in (m.register_forward_pre_hook(enter), m.register_forward_hook(leave))]
    try:
        with rec:
            first = run(module, x, per_step)
    finally:
        for h in hooks:
            h.remove()
    start = first if per_step else _first_step(rec.events, x)
    return _follow(rec.events, start, names, per_step)


def _first_step(events: list, x: torch.Tensor) -> torch.Tensor:
    """The first time step of the whole input as the model takes it: x[0] (x[step]) or x.unbind's first."""
    for kind, func, args, kwargs, out in events:
        if kind == "function" and args and args[0] is x:
            name = getattr(func, "__name__", "")
            if name == "__getitem__" and isinstance(args[1], int) and args[1] == 0:
                return out
            if name in ("unbind", "__iter__") and isinstance(out, (tuple, list)) and out:
                return out[0]
        if kind == "module" and args and args[0] is x:
            raise SnncError(f"{type(func).__name__}: the model's forward gives it the whole input [T, B, ...]; "
                            f"a class-with-loop model must take each step as x[step] (or use init_hidden=True "
                            f"and an nn.Sequential called once per step)")
    raise SnncError("the model's forward never takes the first time step of its input (x[0] or x[step])")


def _follow(events: list, start: torch.Tensor, names: dict, per_step: bool) -> Chain:
    """The chain of layers from `start` (the first step's spikes [B, ...]) through the events."""
    steps, cur, i, after = [], start, 0, "the input"
    input_shape = tuple(start.shape[1:])
    while True:
        hit = next(((j, e) for j, e in enumerate(events[i:], i) if _consumes(e, cur)), None)
        if hit is None:
            break
        i, (kind, obj, args, kwargs, out) = hit[0] + 1, hit[1]
        if kind == "module":
            step, cur = _module_step(obj, names[id(obj)], out)
            steps.append(step)
        else:
            name = getattr(obj, "__name__", str(obj)).strip("_")
            if name in ENDS:
                break
            value = _tensors(out)[0] if _tensors(out) else None
            if name in KEEPS_VALUE and value is not None and value.shape == cur.shape:
                cur = value
                continue
            if name in RESHAPES and value is not None and value.shape[0] == cur.shape[0] \
                    and value.numel() == cur.numel():
                if not steps:  # the model shapes its flat input: the network's input has that shape
                    input_shape, cur = tuple(value.shape[1:]), value
                elif value.ndim == 2 and cur.ndim > 2:
                    steps.append(Step("flatten", f"{after} .{name}", None))
                    cur = value
                elif value.shape == cur.shape:
                    cur = value
                else:
                    raise SnncError(f"{after}: the forward reshapes its output to {tuple(value.shape[1:])} per sample; "
                                    f"only flattening [C, H, W] to features is supported")
            elif "max_pool2d" in name or "avg_pool2d" in name:
                kernel = kwargs.get("kernel_size", args[1] if len(args) > 1 else None)
                stride = kwargs.get("stride", args[2] if len(args) > 2 else None) or kernel
                padding = kwargs.get("padding", args[3] if len(args) > 3 else 0)
                kind_ = "max" if "max" in name else "avg"
                steps.append(Step("pool", f"F.{kind_}_pool2d after {after}", None, (kind_, kernel, stride, padding)))
                cur = value
            else:
                raise SnncError(f"{after}: the forward applies torch's {name} to its output; snnc maps Linear, Conv2d, "
                                f"BatchNorm, pools, flattening, Dropout and snnTorch Leaky/Lapicque/Synaptic")
        after = steps[-1].label if steps else after
    ends = [s for s in steps if s.kind != "dropped"]
    if not ends or ends[-1].kind not in ("neuron", "synapse") or \
            (ends[-1].kind == "synapse" and not isinstance(ends[-1].module, nn.Linear)):
        last = steps[-1].label if steps else "the input"
        raise SnncError(f"{last}: the model's output must be a neuron's (spikes or membrane) or a last Linear's "
                        f"currents")
    return Chain(tuple(steps), per_step, input_shape)


def _consumes(event, cur: torch.Tensor) -> bool:
    kind, _, args, kwargs, _ = event
    if kind == "module":
        return bool(args) and args[0] is cur
    return any(t is cur for t in _tensors(list(args) + list(kwargs.values())))


def _module_step(module: nn.Module, name: str, out) -> tuple[Step, torch.Tensor]:
    """The Step of a layer module's call, and the tensor the chain continues with."""
    value = _tensors(out)[0]
    kind = ("synapse" if isinstance(module, SYNAPSES) else "batchnorm" if isinstance(module, BATCH_NORMS)
            else "pool" if isinstance(module, POOLS) else "flatten" if isinstance(module, nn.Flatten)
            else "dropped" if isinstance(module, DROPPED) else "neuron" if is_neuron(module) else None)
    if kind is None:
        raise SnncError(f"{name} ({type(module).__name__}): not supported (Linear, Conv2d, BatchNorm1d/2d, "
                        f"MaxPool2d, AvgPool2d, Flatten, Dropout, Identity, snntorch Leaky, Lapicque or Synaptic)")
    if kind == "neuron":
        import snntorch as snn

        if type(module) is snn.Alpha:
            raise SnncError(f"{name} (Alpha): its membrane is a scaled sum of two synaptic currents with leaks alpha and "
                            f"beta, not a leaky state of its own; snnc's LIF has one synaptic current into a leaky "
                            f"membrane (snnTorch's Synaptic)")
        if type(module) not in (snn.Leaky, snn.Lapicque, snn.Synaptic, snn.RLeaky, snn.RSynaptic):
            raise SnncError(f"{name} ({type(module).__name__}): snnc maps snnTorch's Leaky, Lapicque, Synaptic, "
                            f"RLeaky and RSynaptic neurons only")
    return Step(kind, name, module), value
