"""One converter per ONNX operator family; importing this package registers them all.

    activation.py     Relu, LeakyRelu, PRelu, Elu, Selu, Sigmoid, Tanh, HardSigmoid, HardSwish,
                      Clip, Softmax, LogSoftmax, Gelu (and its Erf form: ../patterns.py), Dropout, Identity
    conv.py           Conv, ConvTranspose, Gemm, MatMul
    pool.py           MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool, LRN
    normalization.py  BatchNormalization, InstanceNormalization, LayerNormalization,
                      GroupNormalization
    arithmetic.py     Add, Sub, Mul, Div, Sum, Neg
    shape.py          Flatten, Reshape, Transpose, Squeeze, Unsqueeze, Concat, Pad, Slice,
                      Gather, Shape, DepthToSpace, SpaceToDepth, Split
    reduce.py         ReduceMean, ReduceMax (global pooling, or cl.Reduce over any axes)
    resize.py         Resize, Upsample (nearest and linear: cl.Upsample)
"""

from convlens.io.onnx.converters import (
           activation,
           arithmetic,
           conv,
           normalization,
           pool,
           reduce,
           resize,
           shape,
)
from convlens.io.onnx.converters.registry import CONVERTERS, converter, find_converter, supported_operators

__all__ = ["activation", "arithmetic", "conv", "normalization", "pool", "reduce", "resize", "shape",
           "CONVERTERS",
           "converter", "find_converter", "supported_operators"]
