"""Random augmentations of image batches ``(N, C, H, W)``, vectorized over the batch.

Each example gets its own random draw (offset, flip, angle, rectangle) from the transform's
generator; the channels of one example move together. Every transform returns a new array
of the input's shape (:class:`RandomCrop` may change ``H, W`` to ``size``) and dtype.

======================  ==========================================================
:class:`RandomCrop`      pad by ``padding`` (``fill``), cut a random ``size`` window
:class:`RandomShift`     translate by up to ``max_pixels`` each way, ``fill`` behind
:class:`RandomHorizontalFlip`  mirror left-right with probability ``p``
:class:`RandomRotation`  rotate about the centre by an angle in ``[-degrees, degrees]``
                         (counter-clockwise positive, bilinear, ``fill`` outside)
:class:`RandomErasing`   with probability ``p``, set a random rectangle of
                         ``scale`` x the area to ``value`` (Zhong et al., 2017)
======================  ==========================================================

``fill``/``value`` default to 0, which is the mean after :class:`~convlens.data.Normalize`
and black before it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from convlens.data.transforms import RandomTransform, check_batch

IMAGES = "images (N, C, H, W)"


def _pair(name: str, value: int | tuple[int, int]) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pair):
        raise ValueError(f"expected {name} an int or a pair of ints, received {value!r}")
    return int(pair[0]), int(pair[1])


def _crop_at(
    x: np.ndarray, pad: tuple[int, int], top: np.ndarray, left: np.ndarray, size: tuple[int, int], fill: float
) -> np.ndarray:
    """Windows of ``size`` at ``(top[n], left[n])`` of ``x`` padded by ``pad`` with ``fill``."""
    n, c, h, w = x.shape
    ph, pw = pad
    padded = np.full((n, c, h + 2 * ph, w + 2 * pw), fill, dtype=x.dtype)
    padded[:, :, ph : ph + h, pw : pw + w] = x
    # windows[n, c, i, j] is the size[0] x size[1] window whose top-left corner is (i, j)
    windows = sliding_window_view(padded, size, axis=(2, 3))
    # advanced indices on axes 0, 2, 3 (not adjacent): result (N, C, size_h, size_w)
    return windows[np.arange(n), :, top, left]


class RandomCrop(RandomTransform):
    """Pad each image by ``padding`` pixels of ``fill``, then cut a ``size`` window at random.

    Shape: ``(N, C, H, W)`` -> ``(N, C, size_h, size_w)``; ``size=None`` keeps ``(H, W)``,
    which with ``padding=p`` shifts the content by up to ``p`` pixels each way (the classic
    CIFAR augmentation: ``RandomCrop(padding=4)``). Needs ``size <= H + 2 * padding``.
    """

    def __init__(
        self,
        size: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
        fill: float = 0.0,
        seed: int | None = None,
    ) -> None:
        super().__init__(seed)
        self.size = None if size is None else _pair("size", size)
        self.padding = _pair("padding", padding)
        if self.size is not None and min(self.size) < 1:
            raise ValueError(f"expected a positive crop size, received {size!r}")
        if min(self.padding) < 0:
            raise ValueError(f"expected padding >= 0, received {padding!r}")
        self.fill = float(fill)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        check_batch("RandomCrop", x, 4, IMAGES)
        n, _, h, w = x.shape
        size = self.size or (h, w)
        room = (h + 2 * self.padding[0] - size[0], w + 2 * self.padding[1] - size[1])
        if min(room) < 0:
            raise ValueError(
                f"RandomCrop: a {size[0]}x{size[1]} window does not fit in {h}x{w} images padded by "
                f"{self.padding}: {h}+2*{self.padding[0]}={h + 2 * self.padding[0]}, "
                f"{w}+2*{self.padding[1]}={w + 2 * self.padding[1]}; increase padding or reduce size"
            )
        top = self.rng.integers(0, room[0] + 1, size=n)
        left = self.rng.integers(0, room[1] + 1, size=n)
        return _crop_at(x, self.padding, top, left, size, self.fill)

    def get_config(self) -> dict[str, Any]:
        return {"size": self.size, "padding": self.padding, "fill": self.fill, "seed": self.seed}


class RandomShift(RandomTransform):
    """Translate each image by whole pixels, ``dy, dx`` uniform in ``[-max_pixels, max_pixels]``.

    Content moved out of the frame is lost; ``fill`` comes in behind. Shape kept.
    (The same as ``RandomCrop(padding=max_pixels)``, stated as a shift.)
    """

    def __init__(
        self, max_pixels: int | tuple[int, int] = 2, fill: float = 0.0, seed: int | None = None
    ) -> None:
        super().__init__(seed)
        self.max_pixels = _pair("max_pixels", max_pixels)
        if min(self.max_pixels) < 0:
            raise ValueError(f"expected max_pixels >= 0, received {max_pixels!r}")
        self.fill = float(fill)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        check_batch("RandomShift", x, 4, IMAGES)
        n, _, h, w = x.shape
        my, mx = self.max_pixels
        dy = self.rng.integers(-my, my + 1, size=n)
        dx = self.rng.integers(-mx, mx + 1, size=n)
        # shifting content down by dy = reading the padded image from row (my - dy)
        return _crop_at(x, (my, mx), my - dy, mx - dx, (h, w), self.fill)

    def get_config(self) -> dict[str, Any]:
        return {"max_pixels": self.max_pixels, "fill": self.fill, "seed": self.seed}


class RandomHorizontalFlip(RandomTransform):
    """Mirror each image left-right (the last axis) with probability ``p``. Shape kept."""

    def __init__(self, p: float = 0.5, seed: int | None = None) -> None:
        super().__init__(seed)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"expected a probability p in [0, 1], received {p}")
        self.p = float(p)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        check_batch("RandomHorizontalFlip", x, 4, IMAGES)
        flip = self.rng.random(size=len(x)) < self.p
        out = x.copy()
        out[flip] = x[flip, ..., ::-1]
        return out

    def get_config(self) -> dict[str, Any]:
        return {"p": self.p, "seed": self.seed}


def rotate(x: np.ndarray, angles_deg: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """Rotate each image ``x[n]`` by ``angles_deg[n]`` degrees counter-clockwise about its centre.

    Bilinear interpolation by index arithmetic: output pixel ``(r, c)`` takes the value at the
    source point obtained by rotating it back by ``-angle`` about the centre
    ``((H-1)/2, (W-1)/2)``; the four neighbours are weighted by distance, and neighbours
    outside the image count as ``fill``. With rows growing downward, in "y up" coordinates
    ``X = c - cx``, ``Y = cy - r``::

        X_src =  X cos a + Y sin a        c_src = X_src + cx
        Y_src = -X sin a + Y cos a        r_src = cy - Y_src

    An angle of 0 returns ``x`` exactly; 90 degrees on a square image equals ``np.rot90``.
    """
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
    n, c, h, w = x.shape
    theta = np.deg2rad(np.asarray(angles_deg, dtype=np.float64)).reshape(n, 1, 1)
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    big_x = np.arange(w, dtype=np.float64)[None, None, :] - cx
    big_y = cy - np.arange(h, dtype=np.float64)[None, :, None]
    cos, sin = np.cos(theta), np.sin(theta)
    col = big_x * cos + big_y * sin + cx  # (N, H, W) source column
    row = cy - (-big_x * sin + big_y * cos)  # (N, H, W) source row
    r0, c0 = np.floor(row), np.floor(col)
    fr, fc = (row - r0).astype(x.dtype), (col - c0).astype(x.dtype)
    # sample a copy framed by one pixel of `fill`: a neighbour outside the image, clipped to the
    # frame, reads `fill`, so no masks are needed. Channel-major table (C, N*(H+2)*(W+2)):
    # one np.take along axis 1 fetches every channel of the sample points at once.
    framed = np.full((c, n, h + 2, w + 2), fill, dtype=x.dtype)
    framed[:, :, 1:-1, 1:-1] = x.transpose(1, 0, 2, 3)
    table = framed.reshape(c, -1)
    base = (np.arange(n) * (h + 2) * (w + 2)).reshape(n, 1, 1)
    top, bottom = np.clip(r0 + 1, 0, h + 1).astype(np.intp), np.clip(r0 + 2, 0, h + 1).astype(np.intp)
    left, right = np.clip(c0 + 1, 0, w + 1).astype(np.intp), np.clip(c0 + 2, 0, w + 1).astype(np.intp)

    def at(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return np.take(table, base + rows * (w + 2) + cols, axis=1)  # (C, N, H, W)

    upper = at(top, left) * (1 - fc) + at(top, right) * fc
    lower = at(bottom, left) * (1 - fc) + at(bottom, right) * fc
    return np.ascontiguousarray((upper * (1 - fr) + lower * fr).transpose(1, 0, 2, 3))


class RandomRotation(RandomTransform):
    """Rotate each image by an angle uniform in ``[-degrees, degrees]`` (or ``[low, high]``).

    Counter-clockwise positive, about the image centre, bilinear (see :func:`rotate`);
    corners that come from outside the image are ``fill``. Shape kept.
    """

    def __init__(
        self, degrees: float | tuple[float, float] = 10.0, fill: float = 0.0, seed: int | None = None
    ) -> None:
        super().__init__(seed)
        if isinstance(degrees, (int, float, np.number)):
            if degrees < 0:
                raise ValueError(
                    f"expected degrees >= 0 (the range is [-degrees, degrees]), received {degrees}"
                )
            low, high = -float(degrees), float(degrees)
        else:
            low, high = (float(d) for d in degrees)
            if low > high:
                raise ValueError(f"expected degrees (low, high) with low <= high, received {degrees!r}")
        self.degrees = (low, high)
        self.fill = float(fill)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        check_batch("RandomRotation", x, 4, IMAGES)
        return rotate(x, self.rng.uniform(self.degrees[0], self.degrees[1], len(x)), self.fill)

    def get_config(self) -> dict[str, Any]:
        return {"degrees": self.degrees, "fill": self.fill, "seed": self.seed}


class RandomErasing(RandomTransform):
    """With probability ``p``, set one random rectangle of each image to ``value`` (all channels).

    The rectangle's area is a fraction of the image drawn uniformly from ``scale``, its
    height/width ratio log-uniformly from ``ratio``; height and width are rounded and
    clipped to the image, and its position is uniform where it fits. Shape kept.
    """

    def __init__(
        self,
        p: float = 0.5,
        scale: tuple[float, float] = (0.02, 0.33),
        ratio: tuple[float, float] = (0.3, 3.3),
        value: float = 0.0,
        seed: int | None = None,
    ) -> None:
        super().__init__(seed)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"expected a probability p in [0, 1], received {p}")
        if not 0.0 < scale[0] <= scale[1] <= 1.0:
            raise ValueError(f"expected 0 < scale[0] <= scale[1] <= 1, received {scale!r}")
        if not 0.0 < ratio[0] <= ratio[1]:
            raise ValueError(f"expected 0 < ratio[0] <= ratio[1], received {ratio!r}")
        self.p, self.scale, self.ratio, self.value = float(p), tuple(scale), tuple(ratio), float(value)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        check_batch("RandomErasing", x, 4, IMAGES)
        n, _, h, w = x.shape
        erase = np.asarray(self.rng.random(size=n) < self.p)
        area = self.rng.uniform(self.scale[0], self.scale[1], n) * (h * w)
        aspect = np.exp(self.rng.uniform(np.log(self.ratio[0]), np.log(self.ratio[1]), n))  # height / width
        eh = np.clip(np.rint(np.sqrt(area * aspect)), 1, h).astype(np.intp)
        ew = np.clip(np.rint(np.sqrt(area / aspect)), 1, w).astype(np.intp)
        top = (self.rng.random(size=n) * (h - eh + 1)).astype(np.intp)
        left = (self.rng.random(size=n) * (w - ew + 1)).astype(np.intp)
        rows = np.arange(h)[None, :]
        cols = np.arange(w)[None, :]
        in_rows = (rows >= top[:, None]) & (rows < (top + eh)[:, None])  # (N, H)
        in_cols = (cols >= left[:, None]) & (cols < (left + ew)[:, None])  # (N, W)
        mask = in_rows[:, :, None] & in_cols[:, None, :] & erase[:, None, None]  # (N, H, W)
        return np.where(mask[:, None], np.asarray(self.value, dtype=x.dtype), x)

    def get_config(self) -> dict[str, Any]:
        return {"p": self.p, "scale": self.scale, "ratio": self.ratio, "value": self.value, "seed": self.seed}
