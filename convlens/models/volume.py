"""A 3-D CNN for volumes and short clips (N, C, D, H, W), e.g. moving-digit clips (T×H×W).

Two (Conv3d 3×3×3 → batch norm → ReLU → 2×2×2 max pool) stages, global average pooling,
a linear layer. Convolving over time as well as space lets it see motion.
"""

from __future__ import annotations

from convlens.layers import (
    BatchNorm3d,
    Conv3d,
    Flatten,
    GlobalAvgPool3d,
    Linear,
    MaxPool3d,
    Module,
    ReLU,
    Sequential,
)
from convlens.models.registry import register


@register("cnn3d", "3-D CNN for volumes / clips: 2×(Conv3d-BN-ReLU-MaxPool3d), global average pool",
          "after Tran et al. 2015 (C3D), scaled down")
def cnn3d(in_channels: int = 1, num_classes: int = 10,
          widths: tuple[int, ...] = (16, 32)) -> Sequential:
    layers: list[Module] = []
    channels = in_channels
    for width in widths:
        layers += [Conv3d(channels, width, 3, padding=1, bias=False), BatchNorm3d(width), ReLU(),
                   MaxPool3d(2)]
        channels = width
    layers += [GlobalAvgPool3d(), Flatten(), Linear(channels, num_classes)]
    return Sequential(*layers)
