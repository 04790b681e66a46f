"""Seed 003's padding figure: three feature maps of a 3-filter convolution on an MNIST digit,
without padding (26×26) and with padding 1 (28×28).

The seed builds ``nn.Conv2d(1, 3, kernel_size=3, padding=0)`` and the same with
``padding=1``, runs both on ``mnist[0]`` (a 5), and draws the three maps of each in a 2×3
grid. Its filters are random; here they are three fixed, documented edge detectors, so the
picture means the same every time and each map can be read:

* **vertical edge** (Prewitt, x-derivative): ``[[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]]``:
  positive where the image gets brighter from left to right, negative where it gets darker;
* **horizontal edge** (Prewitt, y-derivative), its transpose: brighter from top to bottom;
* **diagonal edge**: ``[[0, 1, 1], [-1, 0, 1], [-1, -1, 0]]``: brighter towards the top right.

Convolution layers compute a cross-correlation (the kernel is not flipped), as PyTorch's, so
map[i, j] = Σ_ab kernel[a, b]·image[i + a, j + b] without padding. The output size is
``28 − 3 + 2p + 1``: 26 for p = 0 (the border pixels lose their centre positions), 28 for p = 1.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from convlens.layers.conv import Conv2d
from convlens.viz.overlay import new_figure

EDGE_KERNELS: dict[str, np.ndarray] = {
    "vertical edge": np.array([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]], dtype=np.float32),
    "horizontal edge": np.array([[-1, -1, -1], [0, 0, 0], [1, 1, 1]], dtype=np.float32),
    "diagonal edge": np.array([[0, 1, 1], [-1, 0, 1], [-1, -1, 0]], dtype=np.float32),
}


def seed003_conv(padding: int, kernels: dict[str, np.ndarray] | None = None) -> Conv2d:
    """``Conv2d(1, 3, kernel_size=3, padding=padding, bias=False)`` holding ``kernels``."""
    kernels = EDGE_KERNELS if kernels is None else kernels
    stack = np.stack([np.asarray(k, dtype=np.float32) for k in kernels.values()])
    if stack.ndim != 3 or stack.shape[1:] != (3, 3):
        raise ValueError(f"expected 3×3 kernels, received an array of shape {stack.shape}")
    conv = Conv2d(1, len(stack), kernel_size=3, padding=padding, bias=False)
    conv.weight.data[:, 0] = stack
    return conv


def seed003_feature_maps(image: np.ndarray, kernels: dict[str, np.ndarray] | None = None
                         ) -> tuple[np.ndarray, np.ndarray]:
    """The maps without and with padding: ``(3, H−2, W−2)`` and ``(3, H, W)``.

    ``image`` is one grey image ``(H, W)`` or ``(1, H, W)``, e.g. a 28×28 MNIST digit.
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 3 and image.shape[0] == 1:
        image = image[0]
    if image.ndim != 2:
        raise ValueError(f"expected one grey image (H, W) or (1, H, W), received shape {image.shape}")
    batch = image[None, None]
    return seed003_conv(0, kernels)(batch)[0], seed003_conv(1, kernels)(batch)[0]


def mnist_digit(index: int | None = None, digit: int = 5) -> tuple[np.ndarray, int]:
    """A real MNIST digit from mnist-5k's training set: ``(image (1, 28, 28), label)``.

    ``index`` picks one by position; by default the first ``digit`` (a 5, as ``mnist[0]``
    in the seed).
    """
    from convlens.data import load_dataset

    ds = load_dataset("mnist-5k")
    if index is None:
        index = int(np.flatnonzero(ds.y_train == digit)[0])
    return ds.x_train[index], int(ds.y_train[index])


def plot_seed003(image: np.ndarray, label: int | str | None = None,
                 kernels: dict[str, np.ndarray] | None = None) -> Figure:
    """Seed 003's 2×3 figure: top row "[No Pad] Map i" (26×26), bottom "[Pad] Map i" (28×28).

    Grey scale as in the seed, one scale per row with its colorbar; the input is drawn at
    the left of each row for reference.
    """
    kernels = EDGE_KERNELS if kernels is None else kernels
    no_pad, pad = seed003_feature_maps(image, kernels)
    img = np.asarray(image, dtype=np.float64).reshape(no_pad.shape[1] + 2, -1)
    fig = new_figure(11, 6.2)
    axes = fig.subplots(2, 4, width_ratios=[1, 1, 1, 1])
    names = list(kernels)
    for row, (maps, tag, p) in enumerate(((no_pad, "No Pad", 0), (pad, "Pad", 1))):
        axes[row, 0].imshow(img, cmap="gray")
        digit = f" (digit {label})" if label is not None else ""
        axes[row, 0].set_title(f"input {img.shape[0]}×{img.shape[1]}{digit}", fontsize=9)
        lim = float(np.abs(maps).max()) or 1.0
        for i in range(maps.shape[0]):
            shown = axes[row, i + 1].imshow(maps[i], cmap="gray", vmin=-lim, vmax=lim)
            axes[row, i + 1].set_title(
                f"[{tag}] Map {i + 1}: {names[i]}\n{maps.shape[1]}×{maps.shape[2]} (padding={p})", fontsize=9)
        fig.colorbar(shown, ax=list(axes[row]), label="filter response", shrink=0.9)
    for ax in axes.ravel():
        ax.axis("off")
    fig.suptitle("Seed 003: three 3×3 edge filters, without padding (28 − 3 + 1 = 26) and with "
                 "padding 1 (28 + 2 − 3 + 1 = 28)", fontsize=11)
    return fig
