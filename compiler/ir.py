"""The fixed-point IR: a network as a sequence of integer layers (frozen dataclasses).

All values are integers in units of the LSB of the LIF population that the layer feeds.  Layers
run in order inside one timestep.  A synapse (Dense, Conv2d) turns 0/1 spikes into currents
I = (W s) << shift + b, the LIF that follows turns currents into spikes (docs/spec.md section 2).
Flatten reshapes spikes [C, H, W] -> [C*H*W] (C-order).  MaxPool2d takes the largest value of
each k x k window (stride k): of the currents between a Conv2d and its LIF, or of the spikes (an OR)
between a LIF and the next layer.  Crop2d keeps the top-left [C, H', W'] of a LIF's spikes (what an
average pool folded into the next synapse leaves out).  Average pools are linear and never reach
the IR: the compiler folds them into the adjacent synapse.  Register widths are zero until the
`size_registers` pass has proven them from bounds.  `ir_file` writes and reads a network.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .contracts import GRID_BITS, ORDERS, OUTPUTS, RESET_MODES, STATE_QUANT_MODES
from .errors import SnncError
from .scales import weight_range
from .shapes import conv_out_shape, pool_out_shape


@dataclass(frozen=True, eq=False)
class Dense:
    """I[i] = (sum_j weight[i, j] * s[j]) << shift[i] + bias[i].

    weight: int64 [n_out, n_in], each value fits `weight_bits` (1 bit means {-1, +1}).
    shift: int64 [n_out], >= 0 (a power-of-two factor between weight scale and LSB, per output).
    bias: int64 [n_out] in LSB units.  Proven by size_registers: accumulator_bits, the signed width
    of the raw sum of weights over any set of input spikes (what the engine's accumulator RAM
    holds); current_bits, the signed width of I (shifted, biased) and of every raw sum.
    recurrent: the weight is [n_out, n_in + n_out], its last n_out columns taking the spikes of the
    LIF this synapse feeds, of the timestep before (0 at the first); one scale, so the sum over
    input and own spikes is one raw sum (docs/spec.md section 2, recurrent layers).
    """

    name: str
    weight: np.ndarray
    bias: np.ndarray
    shift: np.ndarray
    weight_bits: int
    current_bits: int = 0
    accumulator_bits: int = 0
    recurrent: bool = False

    @property
    def in_shape(self) -> tuple[int, ...]:
        return (self.weight.shape[1] - (self.weight.shape[0] if self.recurrent else 0),)

    @property
    def out_shape(self) -> tuple[int, ...]:
        return (self.weight.shape[0],)


@dataclass(frozen=True, eq=False)
class Conv2d:
    """2-D convolution of spikes [C_in, H, W] -> currents [C_out, H_out, W_out] (cross-correlation,
    zero padding), same integer conventions as Dense; weight int64
    [C_out, C_in, kH, kW]."""

    name: str
    weight: np.ndarray
    bias: np.ndarray
    shift: np.ndarray
    weight_bits: int
    in_shape: tuple[int, int, int]
    stride: int = 1
    padding: int = 0
    current_bits: int = 0
    accumulator_bits: int = 0

    @property
    def out_shape(self) -> tuple[int, int, int]:
        return conv_out_shape(self.weight.shape[0], self.in_shape, self.weight.shape[2:], self.stride, self.padding)


@dataclass(frozen=True, eq=False)
class Flatten:
    """Spikes [C, H, W] -> [C*H*W], C-order."""

    name: str
    in_shape: tuple[int, ...]

    @property
    def out_shape(self) -> tuple[int, ...]:
        return (int(np.prod(self.in_shape)),)


@dataclass(frozen=True, eq=False)
class MaxPool2d:
    """Window k x k, stride k, no padding: [C, H, W] -> [C, H // k, W // k] (rows and columns past
    the last whole window are dropped).  On currents (after a Conv2d) the largest current of each
    window; on spikes (after a LIF) the OR of the window's spikes."""

    name: str
    in_shape: tuple[int, int, int]
    kernel: int

    @property
    def out_shape(self) -> tuple[int, int, int]:
        return pool_out_shape(self.in_shape, self.kernel)


@dataclass(frozen=True, eq=False)
class Crop2d:
    """Spikes [C, H, W] -> [C, H', W'], the top-left rows and columns (H' <= H, W' <= W)."""

    name: str
    in_shape: tuple[int, int, int]
    out_hw: tuple[int, int]

    @property
    def out_shape(self) -> tuple[int, int, int]:
        return (self.in_shape[0], *self.out_hw)


@dataclass(frozen=True, eq=False)
class LIF:
    """A population of integer LIF neurons (docs/spec.md section 2), all values in LSB units.

    theta: firing threshold (> 0).  Leak beta = leak_b / 2**leak_f, 0 <= leak_b <= 2**leak_f; leak_b
    one integer, or int64 [C], one per output channel (shape[0]) with the common leak_f.
    reset: "subtract", "zero" or "none" (fire, keep the membrane).  state_quant: "none" (clamp to [v_min, v_max]) or a level set
    ("uniform", "threshold_centered"): `levels` int64 [2**k], strictly ascending, and then
    v_min = levels[0], v_max = levels[-1].  lsb: the grid step in real units (for reports).
    floor_bits: the leak and the level midpoints are floored to multiples of 2**floor_bits LSB, the
    grid the model declared (state_lsb), where the compiler refined this LIF's grid below it so that
    the weights (or an averaged current) are exact integers; 0 otherwise.
    Widths from `size_registers`: membrane_bits holds leak, u and r; state_bits is the stored
    state (the code width with levels, the clamped register width without).  order: "snnc" or
    "snntorch" (snnTorch's Leaky with reset_delay: the pending reset from the stored state, fire
    strictly above theta on the quantized state; docs/spec.md section 2).  output: "spikes", or
    "membrane" for a readout (the network's last LIF, flat): the stored state v of every step is the
    network's output, in LSB units (`lsb` each).  alpha_b: with a synaptic current (a second
    state c per neuron, quantized as v is), its leak alpha = alpha_b / 2**leak_f; None: the current
    drives the membrane directly (docs/spec.md section 2).
    """

    name: str
    shape: tuple[int, ...]
    theta: int
    leak_b: int | np.ndarray
    leak_f: int
    reset: str
    state_quant: str
    v_min: int
    v_max: int
    levels: np.ndarray | None = None
    lsb: float = 1.0
    floor_bits: int = 0
    membrane_bits: int = 0
    state_bits: int = 0
    order: str = "snnc"
    output: str = "spikes"
    alpha_b: int | None = None

    @property
    def synaptic(self) -> bool:
        """A synaptic current: a second state per neuron."""
        return self.alpha_b is not None

    @property
    def stored_bits(self) -> int:
        """Bits a neuron's stored state takes: v's, and c's with a synaptic current."""
        return self.state_bits * (2 if self.synaptic else 1)

    @property
    def readout(self) -> bool:
        return self.output == "membrane"

    @property
    def in_shape(self) -> tuple[int, ...]:
        return self.shape

    @property
    def out_shape(self) -> tuple[int, ...]:
        return self.shape

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def leak_per_channel(self) -> bool:
        return isinstance(self.leak_b, np.ndarray)

    @property
    def leaks(self) -> np.ndarray:
        """leak_b of each output channel, int64 [shape[0]]."""
        return self.leak_b if self.leak_per_channel else np.full(self.shape[0], self.leak_b, np.int64)


Layer = Dense | Conv2d | Flatten | MaxPool2d | Crop2d | LIF
KINDS = {cls.__name__: cls for cls in (Dense, Conv2d, Flatten, MaxPool2d, Crop2d, LIF)}


@dataclass(frozen=True)
class Stage:
    """One engine's layers: the synapse, the max pool of its currents (or None), the LIF, and the
    pool or crop of the LIF's spikes (or None)."""

    synapse: Dense | Conv2d
    current_pool: MaxPool2d | None
    lif: LIF
    spike_stage: MaxPool2d | Crop2d | None

    @property
    def output(self) -> "MaxPool2d | Crop2d | LIF":
        """The layer whose spikes leave the engine: the spike pool or crop, else the LIF."""
        return self.spike_stage or self.lif

    @property
    def out_shape(self) -> tuple[int, ...]:
        """The shape of the spikes leaving the engine."""
        return tuple(self.output.out_shape)


@dataclass(frozen=True, eq=False)
class Network:
    """input_shape: per-sample spike shape (T and batch are not part of the IR)."""

    name: str
    input_shape: tuple[int, ...]
    layers: tuple[Layer, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.layers[-1].out_shape

    @property
    def lifs(self) -> list[LIF]:
        return [layer for layer in self.layers if isinstance(layer, LIF)]

    @property
    def stages(self) -> list[Stage]:
        """The network as engines, one per LIF, in order (validate() proves the pattern)."""
        out, layers = [], self.layers
        for i, layer in enumerate(layers):
            if isinstance(layer, LIF):
                pool = layers[i - 1] if isinstance(layers[i - 1], MaxPool2d) else None
                after = layers[i + 1] if i + 1 < len(layers) and isinstance(layers[i + 1], (MaxPool2d, Crop2d)) else None
                out.append(Stage(layers[i - 2 if pool else i - 1], pool, layer, after))
        return out

    def synapse_of(self, lif: LIF) -> Dense | Conv2d:
        """The synapse whose currents feed `lif`."""
        return next(s.synapse for s in self.stages if s.lif is lif)


def validate(net: Network) -> Network:
    """Check shapes, value ranges and the layer pattern; raise SnncError naming the layer."""
    if not net.layers:
        raise SnncError(f"network '{net.name}' has no layers")
    shape, is_current = tuple(net.input_shape), False
    names, previous = set(), None
    for layer in net.layers:
        where = f"layer '{layer.name}' ({type(layer).__name__})"
        if layer.name in names:
            raise SnncError(f"{where}: duplicate layer name")
        names.add(layer.name)
        if tuple(layer.in_shape) != shape:
            raise SnncError(f"{where}: expects input shape {tuple(layer.in_shape)}, gets {shape}")
        if isinstance(layer, (Dense, Conv2d)):
            if is_current:
                raise SnncError(f"{where}: a synapse must take spikes, but follows another synapse")
            _check_synapse(layer, where)
            is_current = True
        elif isinstance(layer, Flatten):
            if is_current:
                raise SnncError(f"{where}: flatten between a synapse and its LIF")
        elif isinstance(layer, (MaxPool2d, Crop2d)):
            _check_pool(layer, where, previous)
        elif isinstance(layer, LIF):
            if not is_current:
                raise SnncError(f"{where}: a LIF must follow a synapse")
            _check_lif(layer, where)
            is_current = False
        shape, previous = tuple(layer.out_shape), layer
    if not isinstance(net.layers[-1], LIF):
        raise SnncError(f"network '{net.name}': the last layer must be a LIF, not '{net.layers[-1].name}'")
    for lif in net.lifs[:-1]:
        if lif.readout:
            raise SnncError(f"layer '{lif.name}' (LIF): a membrane readout must be the network's last layer")
    for i, layer in enumerate(net.layers):
        if isinstance(layer, Dense) and layer.recurrent:
            lif = net.layers[i + 1] if i + 1 < len(net.layers) else None
            if not isinstance(lif, LIF) or lif.readout or layer.weight.shape[1] <= layer.weight.shape[0]:
                raise SnncError(f"layer '{layer.name}' (Dense): a recurrent synapse needs weight [n_out, n_in + n_out] "
                                "and its spiking LIF directly after it")
    if net.layers[-1].readout and len(net.layers[-1].shape) != 1:
        raise SnncError(f"layer '{net.layers[-1].name}' (LIF): a membrane readout must be flat (after a Dense "
                        f"layer), not of shape {list(net.layers[-1].shape)}")
    return net


def _check_pool(layer: MaxPool2d | Crop2d, where: str, previous) -> None:
    """A max pool directly after a Conv2d (currents) or a LIF (spikes); a crop directly after a LIF."""
    after = (LIF,) if isinstance(layer, Crop2d) else (LIF, Conv2d)
    if not isinstance(previous, after) or len(layer.in_shape) != 3:
        raise SnncError(f"{where}: must directly follow a {' or '.join(c.__name__ for c in after)} of shape [C, H, W]")
    if isinstance(layer, MaxPool2d) and not 1 <= layer.kernel <= min(layer.in_shape[1:]):
        raise SnncError(f"{where}: kernel {layer.kernel} must be 1 to the input's size {min(layer.in_shape[1:])}")
    if isinstance(layer, Crop2d) and not (len(layer.out_hw) == 2 and all(
            1 <= o <= i for o, i in zip(layer.out_hw, layer.in_shape[1:]))):
        raise SnncError(f"{where}: crop {list(layer.out_hw)} does not fit the input {list(layer.in_shape)}")


def _check_magnitudes(where: str, **values) -> None:
    """Every integer field within +-2**GRID_BITS (contracts), so the datapath's int64 cannot overflow."""
    for name, v in values.items():
        if v is not None and np.size(v) and np.max(np.abs(np.asarray(v, np.int64))) > 1 << GRID_BITS:
            raise SnncError(f"{where}: {name} beyond 2**{GRID_BITS}")


def _check_synapse(layer: Dense | Conv2d, where: str) -> None:
    if not 1 <= layer.weight_bits <= GRID_BITS:
        raise SnncError(f"{where}: weight_bits must be 1 to {GRID_BITS}, got {layer.weight_bits}")
    lo, hi = weight_range(layer.weight_bits)
    w = layer.weight
    if w.dtype != np.int64 or layer.bias.dtype != np.int64 or layer.shift.dtype != np.int64:
        raise SnncError(f"{where}: weight, bias and shift must be int64")
    if w.ndim != (2 if isinstance(layer, Dense) else 4) or 0 in w.shape:
        raise SnncError(f"{where}: weight shape {list(w.shape)} is not a {'2' if isinstance(layer, Dense) else '4'}-D "
                        "array of neurons")
    _check_magnitudes(where, bias=layer.bias, shift=layer.shift)
    if np.any(layer.shift > GRID_BITS):
        raise SnncError(f"{where}: weight shift beyond {GRID_BITS}")
    if w.size and (w.min() < lo or w.max() > hi or (layer.weight_bits == 1 and np.any(w == 0))):
        raise SnncError(f"{where}: weights outside the {layer.weight_bits}-bit range [{lo}, {hi}]")
    n_out = layer.weight.shape[0]
    if layer.bias.shape != (n_out,) or layer.shift.shape != (n_out,):
        raise SnncError(f"{where}: bias and shift must have shape ({n_out},)")
    if np.any(layer.shift < 0):
        raise SnncError(f"{where}: negative weight shift")
    if isinstance(layer, Conv2d):
        if w.ndim != 4 or w.shape[1] != layer.in_shape[0] or layer.stride < 1 or layer.padding < 0:
            raise SnncError(f"{where}: weight shape {w.shape} does not fit input {layer.in_shape}")
        if max(layer.padding, layer.stride) > max(layer.in_shape[1:]):
            raise SnncError(f"{where}: padding {layer.padding} and stride {layer.stride} must be at most the input's "
                            f"size {max(layer.in_shape[1:])}")
        if min(layer.out_shape[1:]) < 1:
            raise SnncError(f"{where}: kernel larger than the padded input {layer.in_shape}")


def _check_lif(layer: LIF, where: str) -> None:
    _check_magnitudes(where, theta=layer.theta, v_min=layer.v_min, v_max=layer.v_max, levels=layer.levels)
    if layer.levels is not None and (layer.levels.dtype != np.int64 or layer.levels.ndim != 1):
        raise SnncError(f"{where}: levels must be a 1-D int64 array")
    if not 0 <= layer.floor_bits <= GRID_BITS or (layer.levels is not None and np.any(layer.levels % (1 << layer.floor_bits))):
        raise SnncError(f"{where}: floor_bits {layer.floor_bits} must be 0 to {GRID_BITS}, with every level a multiple "
                        f"of 2**floor_bits")
    if not 0 <= layer.leak_f <= 64:
        raise SnncError(f"{where}: leak_f must be 0 to 64, got {layer.leak_f}")
    if layer.theta <= 0:
        raise SnncError(f"{where}: threshold must be > 0 LSB, got {layer.theta}")
    if layer.leak_per_channel and (layer.leak_b.dtype != np.int64 or layer.leak_b.shape != layer.shape[:1]):
        raise SnncError(f"{where}: leak_b must be an integer or int64 [{layer.shape[0]}], one per output channel")
    if layer.leak_f < 0 or not np.all((0 <= layer.leaks) & (layer.leaks <= (1 << layer.leak_f))):
        raise SnncError(f"{where}: leak {layer.leaks.min()}..{layer.leaks.max()}/2**{layer.leak_f} is not in [0, 1]")
    if layer.reset not in RESET_MODES:
        raise SnncError(f"{where}: reset must be one of {', '.join(RESET_MODES)}, got '{layer.reset}'")
    if layer.alpha_b is not None and not 0 <= layer.alpha_b <= 1 << layer.leak_f:
        raise SnncError(f"{where}: alpha {layer.alpha_b}/2**{layer.leak_f} is not in [0, 1]")
    if layer.output not in OUTPUTS:
        raise SnncError(f"{where}: output must be one of {', '.join(OUTPUTS)}, got '{layer.output}'")
    if layer.order not in ORDERS:
        raise SnncError(f"{where}: order must be one of {', '.join(ORDERS)}, got '{layer.order}'")
    if layer.state_quant == "none":
        if layer.levels is not None or not layer.v_min <= 0 <= layer.v_max:
            raise SnncError(f"{where}: unquantized state needs v_min <= 0 <= v_max and no levels")
    elif layer.state_quant in STATE_QUANT_MODES:
        lv = layer.levels
        k = 0 if lv is None else len(lv)
        if k < 2 or k & (k - 1) or np.any(np.diff(lv) <= 0):
            raise SnncError(f"{where}: levels must be 2**bits strictly ascending integers")
        if (layer.v_min, layer.v_max) != (int(lv[0]), int(lv[-1])):
            raise SnncError(f"{where}: v_min/v_max must equal the first and last level")
    else:
        raise SnncError(f"{where}: unknown state_quant '{layer.state_quant}'")
