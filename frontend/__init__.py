"""snnc.frontend: train quantized SNNs in PyTorch and export them to the snnc ONNX dialect.

Needs the `[train]` extra (torch).  The pieces:

    quantizers   UniformQuantizer, TernaryQuantizer, BinaryQuantizer, SigmoidSumQuantizer
    layers       QuantLinear, QuantConv2d, Pool2d, SNN (the container)
    lif          LIF with surrogate gradients and SQUAT state quantization
    pruning      magnitude_prune, PruningSchedule, sparsity
    ptq          post_training_quantize
    export       export_onnx
    seeding      reproducible (the same seed, the same weights bit for bit)
    training     fit (the examples' training loop), recipe (per weight quantizer), warm_start, float_start
    interop      to_dialect (snnTorch models, traced: snntorch_trace); from_snntorch, snnc.interop's
                 check of them, by its old name (the [interop] extra)
"""
from .export import export_onnx, model_to_onnx
from .interop import from_snntorch
from .layers import SNN, Pool2d, QuantConv2d, QuantLinear
from .lif import LIF
from .ptq import post_training_quantize
from .pruning import PruningSchedule, magnitude_prune, sparsity
from .quantizers import BinaryQuantizer, SigmoidSumQuantizer, TernaryQuantizer, UniformQuantizer, make_quantizer
from .seeding import reproducible
from .training import Recipe, fit, float_start, float_twin, is_warm, recipe, warm_start

__all__ = ["LIF", "SNN", "BinaryQuantizer", "Pool2d", "PruningSchedule", "QuantConv2d", "QuantLinear", "Recipe",
           "SigmoidSumQuantizer", "TernaryQuantizer", "UniformQuantizer", "export_onnx", "fit", "float_start", "float_twin",
           "from_snntorch", "is_warm", "magnitude_prune", "make_quantizer", "model_to_onnx", "post_training_quantize", "recipe", "reproducible",
           "sparsity", "warm_start"]
