"""The networks the seed notes build.

``seed_net`` (seed 000): 28×28 → 10@5×5 → pool → 20@5×5 → pool → 320 → 100 → 10.
    Weights 250 + 5,000 + 32,000 + 1,000 = 38,250; with 140 biases 38,390 parameters.
``simple_cnn`` (seed 004, its NumPy CNN): 28×28 → 8@3×3 → pool → 16@3×3 → pool → 400 → 10.
"""

from __future__ import annotations

from convlens.layers import Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential
from convlens.models.registry import register


@register("seed_net", "The CNN of seed note 000: 10@5×5, 20@5×5, 320→100→10",
          "seed note 000 ('CNN이란?', What is a CNN?)",
          expected="mnist-5k 97.5 % (`convlens train --model seed_net`, 10 epochs)")
def seed_net(in_channels: int = 1, num_classes: int = 10) -> Sequential:
    return Sequential(
        Conv2d(in_channels, 10, kernel_size=5), ReLU(), MaxPool2d(2),   # 28 -> 24 -> 12
        Conv2d(10, 20, kernel_size=5), ReLU(), MaxPool2d(2),            # 12 -> 8 -> 4
        Flatten(),                                                      # 20·4·4 = 320
        Linear(320, 100), ReLU(),
        Linear(100, num_classes),
    )


@register("simple_cnn", "The NumPy CNN of seed note 004: 8@3×3, 16@3×3, 400→10",
          "seed note 004 ('Numpy로 CNN 구현하기', A CNN in NumPy)",
          expected="mnist-5k 96.7 % (`convlens train --model simple_cnn`, 10 epochs)")
def simple_cnn(in_channels: int = 1, num_classes: int = 10) -> Sequential:
    return Sequential(
        Conv2d(in_channels, 8, kernel_size=3), ReLU(), MaxPool2d(2),    # 28 -> 26 -> 13
        Conv2d(8, 16, kernel_size=3), ReLU(), MaxPool2d(2),             # 13 -> 11 -> 5
        Flatten(),                                                      # 16·5·5 = 400
        Linear(400, num_classes),
    )
