"""Layers: classes that hold parameters and call the stateless ops of ``convlens.functional``."""

from convlens.layers.activation import (
    ELU,
    GELU,
    Identity,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Swish,
    Tanh,
)
from convlens.layers.constant import Constant
from convlens.layers.container import Concat, Residual, Sequential
from convlens.layers.conv import Conv1d, Conv2d, Conv3d
from convlens.layers.conv_transpose import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from convlens.layers.dropout import Dropout, Dropout1d, Dropout2d, Dropout3d
from convlens.layers.embedding import Embedding
from convlens.layers.global_pool import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveAvgPool3d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AdaptiveMaxPool3d,
    GlobalAvgPool1d,
    GlobalAvgPool2d,
    GlobalAvgPool3d,
    GlobalMaxPool1d,
    GlobalMaxPool2d,
    GlobalMaxPool3d,
)
from convlens.layers.graph import Graph, GraphNode, Input, SymbolicTensor
from convlens.layers.linear import Dense, Linear
from convlens.layers.local_response_norm import LocalResponseNorm
from convlens.layers.merge import (
    Add,
    Concatenate,
    Divide,
    MatMul,
    Maximum,
    Mean,
    Minimum,
    Multiply,
    Subtract,
)
from convlens.layers.module import Module
from convlens.layers.more_activation import (
    SELU,
    HardSigmoid,
    HardSwish,
    Hardtanh,
    PReLU,
    ReLU6,
    Softplus,
    Softsign,
)
from convlens.layers.normalization import (
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    GroupNorm,
    InstanceNorm1d,
    InstanceNorm2d,
    InstanceNorm3d,
    LayerNorm,
)
from convlens.layers.pixel_shuffle import PixelShuffle, PixelUnshuffle
from convlens.layers.pool import (
    AvgPool1d,
    AvgPool2d,
    AvgPool3d,
    FlatIndices,
    MaxPool1d,
    MaxPool2d,
    MaxPool3d,
    MinPool1d,
    MinPool2d,
    MinPool3d,
)
from convlens.layers.reduce import Reduce
from convlens.layers.rescale import Rescale
from convlens.layers.shape import Flatten, Reshape
from convlens.layers.shape_extra import Permute
from convlens.layers.shape_ops import Gather, Pad, Slice
from convlens.layers.upsample import Upsample

__all__ = [
    "Module", "Sequential", "Residual", "Concat",
    "Conv1d", "Conv2d", "Conv3d",
    "MaxPool1d", "MaxPool2d", "MaxPool3d", "FlatIndices", "AvgPool1d", "AvgPool2d", "AvgPool3d",
    "MinPool1d", "MinPool2d", "MinPool3d",
    "GlobalAvgPool1d", "GlobalAvgPool2d", "GlobalAvgPool3d",
    "GlobalMaxPool1d", "GlobalMaxPool2d", "GlobalMaxPool3d",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d",
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm",
    "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "GroupNorm",
    "Dropout", "Dropout1d", "Dropout2d", "Dropout3d",
    "Embedding", "PixelShuffle", "PixelUnshuffle",
    "Linear", "Dense", "Flatten", "Reshape", "Permute",
    "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "SiLU", "Swish", "ELU", "GELU", "Softmax",
    "LogSoftmax", "Identity",
    "Graph", "GraphNode", "Input", "SymbolicTensor", "Constant",
    "Add", "Subtract", "Multiply", "Divide", "Concatenate", "MatMul", "Maximum", "Minimum", "Mean",
    # activations and normalization of ONNX networks (more_activation, local_response_norm)
    "Hardtanh", "ReLU6", "HardSigmoid", "HardSwish", "SELU", "PReLU", "LocalResponseNorm",
    "Pad", "Slice", "Gather",
    "Reduce",  # ONNX ReduceMean / ReduceMax over any axes
    "Upsample",  # nearest / (bi|tri)linear resizing (ONNX Resize, Keras UpSampling)
    "Rescale",  # fixed per-channel scale and offset (Keras Rescaling, Normalization)
    "Softplus", "Softsign",
    "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
]
