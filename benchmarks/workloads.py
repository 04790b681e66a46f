"""Benchmark workloads, each declared once and built in both convlens and PyTorch.

A network is a list of ``(layer_name, args, kwargs)``; convlens and ``torch.nn`` share the
layer names, so ``build(spec, lib)`` makes the twin in either library. One entry is not a
``torch.nn`` layer: ``L("Residual", body_spec, shortcut_spec)``, the skip connection
``y = body(x) + shortcut(x)`` (identity shortcut for ``None``), is ``cl.Residual`` in convlens
and :func:`torch_residual` (same child names, so the same ``state_dict`` keys) in PyTorch.
Weights are copied from the convlens model into the PyTorch one so both compute the same
numbers (checked each run).
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

# 1-D CNN on long signals (length 4096): conv-BN-ReLU with ×4 pooling, then global pooling
CONV1D_LONG: Spec = [
    L("Conv1d", 1, 32, 7, padding=3, bias=False), L("BatchNorm1d", 32), L("ReLU"), L("MaxPool1d", 4),
    L("Conv1d", 32, 64, 5, padding=2, bias=False), L("BatchNorm1d", 64), L("ReLU"), L("MaxPool1d", 4),
    L("Conv1d", 64, 128, 3, padding=1, bias=False), L("BatchNorm1d", 128), L("ReLU"),
    L("MaxPool1d", 4),
    L("Conv1d", 128, 128, 3, padding=1, bias=False), L("BatchNorm1d", 128), L("ReLU"),
    L("AdaptiveAvgPool1d", 1), L("Flatten"), L("Linear", 128, 10),
]


def basic_block(c_in: int, c_out: int, stride: int) -> Spec:
    """ResNet's basic block: conv3×3-BN-ReLU-conv3×3-BN plus the shortcut, then ReLU."""
    body = [L("Conv2d", c_in, c_out, 3, stride=stride, padding=1, bias=False), L("BatchNorm2d", c_out),
            L("ReLU"), L("Conv2d", c_out, c_out, 3, padding=1, bias=False), L("BatchNorm2d", c_out)]
    shortcut = None
    if stride != 1 or c_in != c_out:  # a 1×1 projection makes the shapes match
        shortcut = [L("Conv2d", c_in, c_out, 1, stride=stride, bias=False), L("BatchNorm2d", c_out)]
    return [L("Residual", body, shortcut), L("ReLU")]


def resnet18_cifar(num_classes: int = 10) -> Spec:
    """ResNet-18 for 32×32 images (He et al. 2016; the usual CIFAR variant: a 3×3 stem, no
    max pooling, stages of 64-128-256-512 channels with two basic blocks each)."""
    spec: Spec = [L("Conv2d", 3, 64, 3, padding=1, bias=False), L("BatchNorm2d", 64), L("ReLU")]
    channels = 64
    for stage, width in enumerate((64, 128, 256, 512)):
        for block in range(2):
            spec += basic_block(channels, width, 2 if stage > 0 and block == 0 else 1)
            channels = width
    return spec + [L("AdaptiveAvgPool2d", 1), L("Flatten"), L("Linear", 512, num_classes)]


RESNET18_CIFAR: Spec = resnet18_cifar()


@dataclass
class Workload:
    name: str
    spec: Spec
    input_shape: tuple[int, ...]  # including the batch axis
    train: bool
    num_classes: int = 10
    note: str = ""
    loop_batch: int = 2  # batch for the plain-loop sample (scaled linearly to the full batch)
    loops: bool = True  # False: too slow to time with the plain loops even at batch 1
    max_repeats: int | None = None  # cap on timed repeats (a long step: the suite stays short)
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
    Workload("resnet18_cifar_train_b128", RESNET18_CIFAR, (128, 3, 32, 32), True,
             note="CIFAR-style ResNet-18 training step, 3×32×32", loops=False, max_repeats=3),
    Workload("conv1d_long_train_b64", CONV1D_LONG, (64, 1, 4096), True,
             note="1-D CNN on long signals (length 4096) training step", loop_batch=1),
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

        return cl.Sequential(*(build_layer(entry, lib) for entry in spec))
    import torch

    return torch.nn.Sequential(*(build_layer(entry, lib) for entry in spec))


def build_layer(entry: tuple[str, tuple, dict], lib: str):
    name, args, kw = entry
    if name == "Residual":
        body, shortcut = (None if s is None else build(s, lib) for s in args)
        if lib == "convlens":
            import convlens as cl

            return cl.Residual(body, shortcut)
        return torch_residual()(body, shortcut)
    if lib == "convlens":
        import convlens as cl

        return getattr(cl, name)(*args, **kw)
    import torch

    return getattr(torch.nn, name)(*args, **kw)


_TORCH_RESIDUAL = None


def torch_residual():
    """The PyTorch twin of ``cl.Residual``: ``body(x) + shortcut(x)`` (made on first use, so
    this module imports without PyTorch)."""
    global _TORCH_RESIDUAL
    if _TORCH_RESIDUAL is None:
        import torch

        class Residual(torch.nn.Module):
            def __init__(self, body, shortcut=None):
                super().__init__()
                self.body, self.shortcut = body, shortcut

            def forward(self, x):
                return self.body(x) + (x if self.shortcut is None else self.shortcut(x))

        _TORCH_RESIDUAL = Residual
    return _TORCH_RESIDUAL


def copy_weights(cl_model, torch_model) -> None:
    import torch

    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in cl_model.state_dict().items()}
    torch_model.load_state_dict(state, strict=True)


def forward_flops(spec: Spec, input_shape: tuple[int, ...]) -> int:
    """Multiply-adds × 2 of the convolutions and linear layers of one forward pass."""
    import convlens as cl

    def count(model, x: np.ndarray) -> tuple[int, np.ndarray]:
        flops = 0
        for layer in model:
            if isinstance(layer, cl.Residual):
                body, y = count(layer.body, x)
                shortcut = count(layer.shortcut, x)[0] if layer.shortcut is not None else 0
                flops += body + shortcut
                x = layer(x)
                continue
            y = layer(x)
            if isinstance(layer, cl.layers.conv._ConvNd):
                flops += 2 * y.size * math.prod(layer.weight.shape[1:])
            elif isinstance(layer, cl.Linear):
                flops += 2 * y.size * layer.in_features
            x = y
        return flops, x

    with cl.no_grad():
        # one example, scaled: FLOPs are linear in the batch
        example = np.zeros((1, *input_shape[1:]), np.float32)
        return count(build(spec, "convlens"), example)[0] * input_shape[0]
