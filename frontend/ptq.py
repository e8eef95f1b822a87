"""Post-training quantization: the baseline that QAT papers compare against.

A float-trained SNN gets weight quantizers and state quantization without any further training.
"""
from __future__ import annotations

import copy

from .layers import SNN
from .quantizers import make_quantizer


def post_training_quantize(model: SNN, weights: str = "uniform", bits: int = 4,
                           state_quant: str = "threshold_centered", state_bits: int = 4) -> SNN:
    """A quantized copy of `model`: every synapse gets the `weights` quantizer ('uniform',
    'ternary', 'binary', 'sigmoid') at `bits`, every LIF `state_bits` of `state_quant` states."""
    quantized = copy.deepcopy(model)
    for syn in quantized.synapses():
        syn.quantizer = make_quantizer(weights, bits)
    for lif in quantized.lifs():
        lif.state_quant, lif.state_bits = state_quant, state_bits
    return quantized.eval()
