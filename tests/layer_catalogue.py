"""Every convlens layer with a small valid input: the API checks and the fuzz suite run over all
of them. A new layer class must be added here (tests/test_validate.py fails until it is)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import convlens as cl


def _graph() -> cl.Module:
    x = cl.Input((2, 5, 5))
    conv = cl.Conv2d(2, 2, 3, padding=1)
    y = cl.Add()(conv(x), cl.ReLU()(conv(x)))  # a shared layer, a merge
    return cl.Graph(inputs=x, outputs=cl.Flatten()(cl.GlobalAvgPool2d()(y)))


# name -> (builder, input shape, dtype of the input)
LAYERS: dict[str, tuple[Callable[[], cl.Module], tuple[int, ...], str]] = {
    "Conv1d": (lambda: cl.Conv1d(2, 3, 3), (2, 2, 7), "float32"),
    "Conv2d": (lambda: cl.Conv2d(2, 3, 3, padding=1), (2, 2, 5, 5), "float32"),
    "Conv3d": (lambda: cl.Conv3d(1, 2, 2), (2, 1, 3, 3, 3), "float32"),
    "MaxPool1d": (lambda: cl.MaxPool1d(2), (2, 2, 6), "float32"),
    "MaxPool2d": (lambda: cl.MaxPool2d(2), (2, 2, 4, 4), "float32"),
    "MaxPool3d": (lambda: cl.MaxPool3d(2), (2, 1, 4, 4, 4), "float32"),
    "MinPool1d": (lambda: cl.MinPool1d(2), (2, 2, 6), "float32"),
    "MinPool2d": (lambda: cl.MinPool2d(2), (2, 2, 4, 4), "float32"),
    "MinPool3d": (lambda: cl.MinPool3d(2), (2, 1, 4, 4, 4), "float32"),
    "AvgPool1d": (lambda: cl.AvgPool1d(2), (2, 2, 6), "float32"),
    "AvgPool2d": (lambda: cl.AvgPool2d(2), (2, 2, 4, 4), "float32"),
    "AvgPool3d": (lambda: cl.AvgPool3d(2), (2, 1, 4, 4, 4), "float32"),
    "GlobalAvgPool1d": (lambda: cl.GlobalAvgPool1d(), (2, 3, 5), "float32"),
    "GlobalAvgPool2d": (lambda: cl.GlobalAvgPool2d(), (2, 3, 4, 4), "float32"),
    "GlobalAvgPool3d": (lambda: cl.GlobalAvgPool3d(), (2, 3, 2, 2, 2), "float32"),
    "GlobalMaxPool1d": (lambda: cl.GlobalMaxPool1d(), (2, 3, 5), "float32"),
    "GlobalMaxPool2d": (lambda: cl.GlobalMaxPool2d(), (2, 3, 4, 4), "float32"),
    "GlobalMaxPool3d": (lambda: cl.GlobalMaxPool3d(), (2, 3, 2, 2, 2), "float32"),
    "AdaptiveAvgPool1d": (lambda: cl.AdaptiveAvgPool1d(3), (2, 2, 7), "float32"),
    "AdaptiveAvgPool2d": (lambda: cl.AdaptiveAvgPool2d(2), (2, 2, 5, 5), "float32"),
    "AdaptiveAvgPool3d": (lambda: cl.AdaptiveAvgPool3d(2), (2, 1, 3, 3, 3), "float32"),
    "AdaptiveMaxPool1d": (lambda: cl.AdaptiveMaxPool1d(3), (2, 2, 7), "float32"),
    "AdaptiveMaxPool2d": (lambda: cl.AdaptiveMaxPool2d(2), (2, 2, 5, 5), "float32"),
    "AdaptiveMaxPool3d": (lambda: cl.AdaptiveMaxPool3d(2), (2, 1, 3, 3, 3), "float32"),
    "BatchNorm1d": (lambda: cl.BatchNorm1d(3), (4, 3), "float32"),
    "BatchNorm2d": (lambda: cl.BatchNorm2d(2), (3, 2, 3, 3), "float32"),
    "BatchNorm3d": (lambda: cl.BatchNorm3d(2), (2, 2, 2, 2, 2), "float32"),
    "InstanceNorm1d": (lambda: cl.InstanceNorm1d(2), (2, 2, 5), "float32"),
    "InstanceNorm2d": (lambda: cl.InstanceNorm2d(2), (2, 2, 3, 3), "float32"),
    "InstanceNorm3d": (lambda: cl.InstanceNorm3d(2), (2, 2, 2, 2, 2), "float32"),
    "GroupNorm": (lambda: cl.GroupNorm(2, 4), (2, 4, 3, 3), "float32"),
    "LayerNorm": (lambda: cl.LayerNorm(5), (3, 5), "float32"),
    "Linear": (lambda: cl.Linear(4, 3), (2, 4), "float32"),
    "Embedding": (lambda: cl.Embedding(10, 4), (2, 5), "int64"),
    "Flatten": (lambda: cl.Flatten(), (2, 3, 4), "float32"),
    "Reshape": (lambda: cl.Reshape(4, 3), (2, 12), "float32"),
    "Permute": (lambda: cl.Permute(0, 2, 1), (2, 3, 4), "float32"),
    "PixelShuffle": (lambda: cl.PixelShuffle(2), (2, 4, 2, 2), "float32"),
    "PixelUnshuffle": (lambda: cl.PixelUnshuffle(2), (2, 1, 4, 4), "float32"),
    "Softplus": (lambda: cl.Softplus(), (2, 5), "float32"),
    "Softsign": (lambda: cl.Softsign(), (2, 5), "float32"),
    "ConvTranspose1d": (lambda: cl.ConvTranspose1d(2, 3, 3, stride=2), (2, 2, 5), "float32"),
    "ConvTranspose2d": (lambda: cl.ConvTranspose2d(2, 3, 3, stride=2, padding=1), (2, 2, 3, 4), "float32"),
    "ConvTranspose3d": (lambda: cl.ConvTranspose3d(2, 1, 2), (2, 2, 2, 3, 2), "float32"),
    "Rescale": (lambda: cl.Rescale([0.5, 2.0], 0.1), (2, 2, 3), "float32"),
    "Upsample": (lambda: cl.Upsample(scale_factor=2, mode="bilinear"), (2, 2, 3, 3), "float32"),
    "Dropout": (lambda: cl.Dropout(0.5, seed=0), (2, 6), "float32"),
    "Dropout1d": (lambda: cl.Dropout1d(0.5, seed=0), (2, 3, 4), "float32"),
    "Dropout2d": (lambda: cl.Dropout2d(0.5, seed=0), (2, 3, 2, 2), "float32"),
    "Dropout3d": (lambda: cl.Dropout3d(0.5, seed=0), (2, 3, 2, 2, 2), "float32"),
    "ReLU": (lambda: cl.ReLU(), (2, 5), "float32"),
    "LeakyReLU": (lambda: cl.LeakyReLU(0.1), (2, 5), "float32"),
    "Sigmoid": (lambda: cl.Sigmoid(), (2, 5), "float32"),
    "Tanh": (lambda: cl.Tanh(), (2, 5), "float32"),
    "SiLU": (lambda: cl.SiLU(), (2, 5), "float32"),
    "ELU": (lambda: cl.ELU(), (2, 5), "float32"),
    "GELU": (lambda: cl.GELU(), (2, 5), "float32"),
    "Softmax": (lambda: cl.Softmax(), (2, 5), "float32"),
    "LogSoftmax": (lambda: cl.LogSoftmax(), (2, 5), "float32"),
    "Identity": (lambda: cl.Identity(), (2, 5), "float32"),
    "Sequential": (lambda: cl.Sequential(cl.Conv2d(1, 2, 3), cl.ReLU(), cl.Flatten(),
                                         cl.Linear(18, 3)), (2, 1, 5, 5), "float32"),
    "Residual": (lambda: cl.Residual(cl.Sequential(cl.Conv2d(2, 2, 3, padding=1), cl.ReLU())),
                 (2, 2, 4, 4), "float32"),
    "Graph": (lambda: _graph(), (2, 2, 5, 5), "float32"),
    "Concat": (lambda: cl.Concat(cl.Conv1d(2, 2, 3, padding=1), cl.Conv1d(2, 3, 1)), (2, 2, 6),
               "float32"),
    # layers of ONNX networks (more_activation, local_response_norm, shape_ops)
    "Hardtanh": (lambda: cl.Hardtanh(-0.5, 2.0), (2, 5), "float32"),
    "ReLU6": (lambda: cl.ReLU6(), (2, 5), "float32"),
    "HardSigmoid": (lambda: cl.HardSigmoid(), (2, 5), "float32"),
    "HardSwish": (lambda: cl.HardSwish(), (2, 5), "float32"),
    "SELU": (lambda: cl.SELU(), (2, 5), "float32"),
    "PReLU": (lambda: cl.PReLU(3), (2, 3, 4), "float32"),
    "LocalResponseNorm": (lambda: cl.LocalResponseNorm(3), (2, 4, 3, 3), "float32"),
    "Pad": (lambda: cl.Pad([(1, 0), (0, 2)]), (2, 3, 4, 4), "float32"),
    "Slice": (lambda: cl.Slice([slice(0, 2), None, slice(1, None)]), (2, 3, 4, 5), "float32"),
    "Gather": (lambda: cl.Gather([2, 0], 1), (2, 3, 4), "float32"),
    "Reduce": (lambda: cl.Reduce("mean", (1, -1)), (2, 3, 4), "float32"),
    "FlatIndices": (lambda: cl.FlatIndices((4, 5)), (2, 3, 2, 2), "int64"),
}


def valid_input(name: str, seed: int = 0) -> np.ndarray:
    """A random input ``LAYERS[name]`` accepts."""
    _, shape, dtype = LAYERS[name]
    rng = np.random.default_rng(seed)
    if dtype == "int64":
        return rng.integers(0, 10, shape)
    return rng.standard_normal(shape).astype(dtype)


def build(name: str, seed: int = 0) -> cl.Module:
    """``LAYERS[name]``'s layer with weights drawn after ``cl.manual_seed(seed)``."""
    cl.manual_seed(seed)
    return LAYERS[name][0]()
