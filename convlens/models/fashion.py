"""A compact two-stage CNN for 28×28 grey images (Fashion-MNIST), the "two conv + pooling +
batch norm" baseline of the Fashion-MNIST benchmark table, with a dense head.

Two (3×3 conv → batch norm → ReLU → 2×2 max pool) stages of 32 and 64 channels (28 → 14 → 7),
then dropout → dense 256 → batch norm → ReLU → dropout → dense. 824,810 parameters for one
input channel and 10 classes.

Measured (RESULTS.md, seed 0): 93.67 % Fashion-MNIST test accuracy with
``convlens train --model fmnist_cnn --dataset fashion-mnist --epochs 20 --batch-size 128
--lr 0.05 --weight-decay 5e-4 --augment flip`` in 18.8 min on 2 CPU cores (about 41-53 s per
epoch on an idle machine); the same recipe in PyTorch (benchmarks/fashion_mnist_pytorch.py)
reached 93.53 %. With ``--augment crop,flip`` and 15 epochs it underfits: 92.74 %.
"""

from __future__ import annotations

from convlens.layers import MaxPool2d, Module, Sequential
from convlens.models.registry import register
from convlens.models.vgg import classifier_head, conv_bn_relu


@register("fmnist_cnn", "2 stages of conv3×3-BN-ReLU-maxpool (32, 64), dense 256 with dropout",
          "the 'two conv + pooling + batch norm' baseline of the Fashion-MNIST benchmark "
          "(Xiao et al. 2017, github.com/zalandoresearch/fashion-mnist), 93.4 % reported",
          expected="fashion-mnist 93.9 %, mean of 3 random seeds (36 epochs, --augment flip chosen on a "
                   "validation split, lr 0.05, batch 128, weight decay 5e-4: 25 minutes on one core; "
                   "PyTorch's twin 93.8 %; RESULTS.md)")
def fmnist_cnn(in_channels: int = 1, num_classes: int = 10, input_size: int = 28,
               widths: tuple[int, int] = (32, 64), hidden: int = 256,
               dropout: float = 0.3) -> Sequential:
    layers: list[Module] = []
    channels, size = in_channels, input_size
    for width in widths:
        layers += [*conv_bn_relu(channels, width), MaxPool2d(2)]
        channels, size = width, size // 2
    layers += classifier_head(channels * size * size, hidden, num_classes, dropout)
    return Sequential(*layers)
