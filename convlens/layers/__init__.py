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
from convlens.layers.container import Residual, Sequential
from convlens.layers.conv import Conv1d, Conv2d, Conv3d
from convlens.layers.linear import Dense, Linear
from convlens.layers.module import Module
from convlens.layers.pool import (
    AvgPool1d,
    AvgPool2d,
    AvgPool3d,
    MaxPool1d,
    MaxPool2d,
    MaxPool3d,
    MinPool1d,
    MinPool2d,
    MinPool3d,
)
from convlens.layers.shape import Flatten, Reshape

__all__ = [
    "Module", "Sequential", "Residual",
    "Conv1d", "Conv2d", "Conv3d",
    "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
    "MinPool1d", "MinPool2d", "MinPool3d",
    "Linear", "Dense", "Flatten", "Reshape",
    "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "SiLU", "Swish", "ELU", "GELU", "Softmax",
    "LogSoftmax", "Identity",
]
