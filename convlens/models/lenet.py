"""LeNet-5 (LeCun, Bottou, Bengio & Haffner, 1998), as seed 001 describes it.

    input 1×32×32 (or 28×28 with padding 2 in the first convolution)
    C1: 6 filters 5×5      -> 6×28×28      S2: 2×2 pooling -> 6×14×14
    C3: 16 filters 5×5     -> 16×10×10     S4: 2×2 pooling -> 16×5×5
    F5: 400 -> 120,  F6: 120 -> 84,  output: 84 -> 10

Two variants: ``'1998'`` with tanh and average pooling (the paper's sub-sampling layers, less
its trainable coefficients and the RBF output), and ``'modern'`` with ReLU and max pooling.
61,706 parameters in both.
"""

from __future__ import annotations

from convlens.layers import AvgPool2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential, Tanh
from convlens.models.registry import register


def lenet5(variant: str = "modern", input_size: int = 28, in_channels: int = 1,
           num_classes: int = 10) -> Sequential:
    """LeNet-5. ``input_size`` 28 pads the first convolution by 2; 32 uses no padding."""
    if variant not in ("modern", "1998"):
        raise ValueError(f"lenet5: variant must be 'modern' or '1998', received {variant!r}")
    if input_size not in (28, 32):
        raise ValueError(f"lenet5: input_size must be 28 or 32, received {input_size}")
    act = ReLU if variant == "modern" else Tanh
    pool = MaxPool2d if variant == "modern" else AvgPool2d
    return Sequential(
        Conv2d(in_channels, 6, kernel_size=5, padding=2 if input_size == 28 else 0), act(), pool(2),
        Conv2d(6, 16, kernel_size=5), act(), pool(2),
        Flatten(),
        Linear(16 * 5 * 5, 120), act(),
        Linear(120, 84), act(),
        Linear(84, num_classes),
    )


@register("lenet5", "LeNet-5, modern variant (ReLU, max pooling), 28×28 input",
          "LeCun et al. 1998; seed note 001",
          expected="mnist-5k 97.5 % (`convlens train`: the defaults, 10 epochs; "
                   "random seeds 0-9: 97.4-98.1 %)")
def lenet5_modern(input_size: int = 28, in_channels: int = 1, num_classes: int = 10) -> Sequential:
    return lenet5("modern", input_size, in_channels, num_classes)


@register("lenet5-1998", "LeNet-5 as in 1998 (tanh, average pooling), 28×28 input",
          "LeCun et al. 1998; seed note 001",
          expected="mnist-5k 96.5 % (`convlens train --model lenet5-1998`, 10 epochs)")
def lenet5_1998(input_size: int = 28, in_channels: int = 1, num_classes: int = 10) -> Sequential:
    return lenet5("1998", input_size, in_channels, num_classes)
