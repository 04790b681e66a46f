"""Benchmark workloads, each declared once and built in both convlens and PyTorch.

A network is a list of ``(layer_name, args, kwargs)``; convlens and ``torch.nn`` share the
layer names, so ``build(spec, lib)`` makes the twin in either library. Weights are copied from
the convlens model into the PyTorch one so both compute the same numbers (checked each run).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Spec = list[tuple[str, tuple, dict]]


def L(name: str, *args: Any, **kwargs: Any) -> tuple[str, tuple, dict]:  # noqa: N802
    return (name, args, kwargs)


LENET5: Spec = [
    L("Conv2d", 1, 6, 5, padding=2), L("ReLU"), L("MaxPool2d", 2),
    L("Conv2d", 6, 16, 5), L("ReLU"), L("MaxPool2d", 2),
    L("Flatten"), L("Linear", 400, 120), L("ReLU"), L("Linear", 120, 84), L("ReLU"),
    L("Linear", 84, 10),
]

CONV_BN_RELU: Spec = [
    L("Conv2d", 1, 32, 3, padding=1), L("BatchNorm2d", 32), L("ReLU"), L("MaxPool2d", 2),
    L("Conv2d", 32, 64, 3, padding=1), L("BatchNorm2d", 64), L("ReLU"), L("MaxPool2d", 2),
    L("Conv2d", 64, 128, 3, padding=1), L("BatchNorm2d", 128), L("ReLU"),
    L("AdaptiveAvgPool2d", 1), L("Flatten"), L("Linear", 128, 10),
]

CONV1D: Spec = [
    L("Conv1d", 1, 64, 7, padding=3), L("ReLU"), L("MaxPool1d", 2),
    L("Conv1d", 64, 64, 5, padding=2), L("ReLU"), L("MaxPool1d", 2),
    L("Conv1d", 64, 64, 3, padding=1), L("ReLU"),
    L("AdaptiveAvgPool1d", 1), L("Flatten"), L("Linear", 64, 10),
]

CONV3D: Spec = [
    L("Conv3d", 1, 16, 3, padding=1), L("ReLU"), L("MaxPool3d", 2),
    L("Conv3d", 16, 32, 3, padding=1), L("ReLU"), L("MaxPool3d", 2),
    L("Flatten"), L("Linear", 32 * 4 * 4 * 4, 10),
]


@dataclass
class Workload:
    name: str
    spec: Spec
    input_shape: tuple[int, ...]  # including the batch axis
    train: bool
    num_classes: int = 10
    note: str = ""
    loop_batch: int = 2  # batch for the plain-loop sample (scaled linearly to the full batch)
    extra: dict = field(default_factory=dict)

    @property
    def batch(self) -> int:
        return self.input_shape[0]


WORKLOADS = [
    Workload("lenet5_train_b64", LENET5, (64, 1, 28, 28), True, note="LeNet-5 training step"),
    Workload("lenet5_train_b256", LENET5, (256, 1, 28, 28), True, note="LeNet-5 training step"),
    Workload("lenet5_infer_b1", LENET5, (1, 1, 28, 28), False, note="LeNet-5 inference", loop_batch=1),
    Workload("lenet5_infer_b256", LENET5, (256, 1, 28, 28), False, note="LeNet-5 inference"),
    Workload("conv_bn_relu_train_b128", CONV_BN_RELU, (128, 1, 28, 28), True,
             note="3× conv-BN-ReLU (32-64-128) training step", loop_batch=1),
    Workload("conv1d_train_b32", CONV1D, (32, 1, 1000), True,
             note="Conv1d net, length 1000, 64 channels, training step", loop_batch=1),
    Workload("conv3d_train_b16", CONV3D, (16, 1, 16, 16, 16), True,
             note="Conv3d net, 16³ volumes, training step", loop_batch=1),
]

# (name, layer spec, input shape): forward and backward of one layer at a typical size
LAYERS = [
    ("Conv2d 32→64 3×3 @28²", L("Conv2d", 32, 64, 3, padding=1), (32, 32, 28, 28)),
    ("Conv1d 64→64 k5 @1000", L("Conv1d", 64, 64, 5, padding=2), (16, 64, 1000)),
    ("Conv3d 16→32 3³ @16³", L("Conv3d", 16, 32, 3, padding=1), (8, 16, 16, 16, 16)),
    ("MaxPool2d 2 @28²", L("MaxPool2d", 2), (32, 64, 28, 28)),
    ("AvgPool2d 2 @28²", L("AvgPool2d", 2), (32, 64, 28, 28)),
    ("BatchNorm2d 64 @28²", L("BatchNorm2d", 64), (32, 64, 28, 28)),
    ("ReLU @64×28²", L("ReLU"), (32, 64, 28, 28)),
    ("Linear 1024→512", L("Linear", 1024, 512), (256, 1024)),
]


def build(spec: Spec, lib: str):
    """The network in ``lib`` ('convlens' or 'torch')."""
    if lib == "convlens":
        import convlens as cl

        return cl.Sequential(*(getattr(cl, name)(*args, **kw) for name, args, kw in spec))
    import torch

    return torch.nn.Sequential(*(getattr(torch.nn, name)(*args, **kw) for name, args, kw in spec))


def copy_weights(cl_model, torch_model) -> None:
    import torch

    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in cl_model.state_dict().items()}
    torch_model.load_state_dict(state, strict=True)


def forward_flops(spec: Spec, input_shape: tuple[int, ...]) -> int:
    """Multiply-adds × 2 of the convolutions and linear layers of one forward pass."""
    import convlens as cl

    model = build(spec, "convlens")
    x = np.zeros(input_shape, np.float32)
    flops = 0
    for layer in model:
        y = layer(x)
        if isinstance(layer, cl.layers.conv._ConvNd):
            flops += 2 * y.size * math.prod(layer.weight.shape[1:])
        elif isinstance(layer, cl.Linear):
            flops += 2 * y.size * layer.in_features
        x = y
    return flops
