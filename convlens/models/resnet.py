"""A small ResNet (He et al., 2016) for 28×28 and 32×32 images.

A 3×3 stem, then stages of *basic blocks*: two 3×3 conv-BN layers whose output is added to the
block's input (the skip connection) before a ReLU. The first block of a stage halves the
maps with stride 2 and widens the channels; its shortcut is then a 1×1 conv with stride 2 and
batch norm so the shapes match. Global average pooling and one linear layer classify.
``blocks=(1, 1, 1)`` gives ResNet-8, ``(3, 3, 3)`` the CIFAR ResNet-20 layout.
"""

from __future__ import annotations

from convlens.layers import (
    BatchNorm2d,
    Conv2d,
    Flatten,
    GlobalAvgPool2d,
    Linear,
    Module,
    ReLU,
    Residual,
    Sequential,
)
from convlens.models.registry import register


def basic_block(in_channels: int, out_channels: int, stride: int = 1) -> Sequential:
    """conv3×3-BN-ReLU-conv3×3-BN (+ shortcut) → ReLU."""
    body = Sequential(
        Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
        BatchNorm2d(out_channels), ReLU(),
        Conv2d(out_channels, out_channels, 3, padding=1, bias=False), BatchNorm2d(out_channels),
    )
    shortcut = None
    if stride != 1 or in_channels != out_channels:
        shortcut = Sequential(Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                              BatchNorm2d(out_channels))
    return Sequential(Residual(body, shortcut), ReLU())


@register("resnet_small", "ResNet with basic blocks (default ResNet-8: 16-32-64, one block per stage)",
          "He et al. 2016 (Deep Residual Learning), CIFAR variant",
          expected="mnist-5k 98.2 % (`convlens train --model resnet_small`, 10 epochs); "
                   "fashion-mnist 92.8 % (10 epochs, --augment flip, batch 128, weight decay 5e-4)")
def resnet_small(in_channels: int = 1, num_classes: int = 10,
                 widths: tuple[int, ...] = (16, 32, 64),
                 blocks: tuple[int, ...] = (1, 1, 1)) -> Sequential:
    layers: list[Module] = [Conv2d(in_channels, widths[0], 3, padding=1, bias=False),
                            BatchNorm2d(widths[0]), ReLU()]
    channels = widths[0]
    for stage, (width, count) in enumerate(zip(widths, blocks)):
        for i in range(count):
            stride = 2 if stage > 0 and i == 0 else 1
            layers.append(basic_block(channels, width, stride))
            channels = width
    layers += [GlobalAvgPool2d(), Flatten(), Linear(channels, num_classes)]
    return Sequential(*layers)
