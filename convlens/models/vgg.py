"""A small VGG-style network (Simonyan & Zisserman, 2015): stacks of 3×3 convolutions.

Each stage is two (3×3 conv → batch norm → ReLU) layers and a 2×2 max pool, doubling the
channels as the maps halve; a dense head with dropout classifies. With widths (32, 64, 128) on
28×28 input: 28 → 14 → 7 → 3, 128·3·3 = 1,152 features.
"""

from __future__ import annotations

from convlens.layers import (
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    Linear,
    MaxPool2d,
    Module,
    ReLU,
    Sequential,
)
from convlens.models.registry import register


def conv_bn_relu(in_channels: int, out_channels: int) -> list[Module]:
    return [Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            BatchNorm2d(out_channels), ReLU()]


@register("vgg_small", "VGG-style: 3 stages of 2×(conv3×3-BN-ReLU) + max pool, dense head",
          "Simonyan & Zisserman 2015 (VGG), scaled down for 28×28 / 32×32 inputs",
          expected="mnist-5k 98.6 % (`convlens train --model vgg_small`, 10 epochs); fashion-mnist "
                   "93.6 % (6 epochs, --augment flip, batch 128, weight decay 5e-4)")
def vgg_small(in_channels: int = 1, num_classes: int = 10, input_size: int = 28,
              widths: tuple[int, ...] = (32, 64, 128), hidden: int = 256,
              dropout: float = 0.3) -> Sequential:
    layers: list[Module] = []
    channels, size = in_channels, input_size
    for width in widths:
        layers += conv_bn_relu(channels, width) + conv_bn_relu(width, width) + [MaxPool2d(2)]
        channels, size = width, size // 2
    layers += classifier_head(channels * size * size, hidden, num_classes, dropout)
    return Sequential(*layers)


def classifier_head(in_features: int, hidden: int, num_classes: int, dropout: float) -> list[Module]:
    """Flatten → dropout → dense (BN, ReLU) → dropout → class scores."""
    return [Flatten(), Dropout(dropout), Linear(in_features, hidden, bias=False),
            BatchNorm1d(hidden), ReLU(), Dropout(dropout), Linear(hidden, num_classes)]
