"""Pixel shuffle (sub-pixel convolution) and its inverse, with PyTorch's channel ordering.

Shuffle, upscale factor r: (*, C·r², H, W) -> (*, C, H·r, W·r)

    y[…, c, h·r + i, w·r + j] = x[…, c·r² + i·r + j, h, w]

i.e. view x as (*, C, r, r, H, W), move the two r axes next to H and W: (*, C, H, r, W, r),
and merge. Unshuffle, downscale factor r, is the exact inverse: (*, C, H·r, W·r) ->
(*, C·r², H, W). Both only move values, so each one's backward pass is the other.
"""

from __future__ import annotations

import numpy as np


def _check(name: str, x: np.ndarray, factor: int, what: str) -> None:
    if x.ndim < 3:
        raise ValueError(
            f"{name} expects an input (*, C, H, W) with at least 3 axes, received shape "
            f"{x.shape} ({x.ndim}-D)"
        )
    c, h, w = x.shape[-3:]
    if what == "shuffle" and c % (factor * factor):
        raise ValueError(
            f"{name}(upscale_factor={factor}) needs a channel count divisible by "
            f"upscale_factor² = {factor * factor}, received shape {x.shape} with C={c} "
            f"({c} % {factor * factor} = {c % (factor * factor)})"
        )
    if what == "unshuffle" and (h % factor or w % factor):
        raise ValueError(
            f"{name}(downscale_factor={factor}) needs height and width divisible by "
            f"{factor}, received shape {x.shape} with H={h}, W={w}"
        )


def pixel_shuffle(x: np.ndarray, r: int, name: str = "PixelShuffle") -> np.ndarray:
    """(*, C·r², H, W) -> (*, C, H·r, W·r)."""
    _check(name, x, r, "shuffle")
    *lead, c, h, w = x.shape
    out_c = c // (r * r)
    v = x.reshape(*lead, out_c, r, r, h, w)
    k = len(lead)
    # (*, C, r_i, r_j, H, W) -> (*, C, H, r_i, W, r_j)
    v = v.transpose(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return v.reshape(*lead, out_c, h * r, w * r)


def pixel_unshuffle(x: np.ndarray, r: int, name: str = "PixelUnshuffle") -> np.ndarray:
    """(*, C, H·r, W·r) -> (*, C·r², H, W)."""
    _check(name, x, r, "unshuffle")
    *lead, c, hr, wr = x.shape
    h, w = hr // r, wr // r
    v = x.reshape(*lead, c, h, r, w, r)
    k = len(lead)
    # (*, C, H, r_i, W, r_j) -> (*, C, r_i, r_j, H, W)
    v = v.transpose(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return v.reshape(*lead, c * r * r, h, w)

