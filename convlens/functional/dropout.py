"""Dropout: zero random elements (or whole channels) in training, rescale the rest.

Inverted dropout, as PyTorch: with keep-mask M (each entry 1 with probability 1 − p),

    y = x ⊙ M / (1 − p)        dL/dx = dy ⊙ M / (1 − p)

so E[y] = x and nothing needs rescaling at test time, where dropout is the identity.
Channel-wise dropout (``Dropout1d/2d/3d``) draws M of shape (N, C, 1, …): one decision per
feature map, broadcast over its positions, so a channel is kept or zeroed as a whole (nearby
pixels are correlated, and dropping single pixels of a feature map barely regularizes).

The randomness lives in :func:`dropout_mask` alone; forward and backward are deterministic
given the mask, which makes them testable and replayable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass
class DropoutCache:
    mask: np.ndarray | None  # bool keep-mask broadcastable to x; None: identity
    scale: float


def check_probability(name: str, p: float) -> float:
    """``p`` as a float, or ``ValueError`` unless it is a number with 0 ≤ p ≤ 1."""
    try:
        value = float(p)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(p, bool) or not 0.0 <= value <= 1.0:  # NaN fails the comparison too
        raise ValueError(
            f"{name}: p (the probability of zeroing an element) must be a number in [0, 1], "
            f"received {p!r}"
        )
    return value


def channel_mask_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """(N, C, *S) -> (N, C, 1, …): one keep/drop decision per example and channel."""
    return (*shape[:2], *(1,) * (len(shape) - 2))


def dropout_mask(shape: tuple[int, ...], p: float, rng: np.random.Generator) -> np.ndarray:
    """A boolean keep-mask: each entry True with probability 1 − p, independently."""
    return rng.random(shape) >= p


def dropout_forward(x: np.ndarray, mask: np.ndarray | None, p: float) -> tuple[np.ndarray, DropoutCache]:
    """``y = x ⊙ mask / (1 − p)``; ``mask=None`` is the identity (eval mode, or p = 0).

    ``mask`` is a boolean array broadcastable to ``x``. With p = 1 every entry is dropped and
    the output is 0 (the scale is taken as 0 rather than 1/0).
    """
    if mask is None:
        return x, DropoutCache(None, 1.0)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)  # scaled integers would be truncated
    scale = 0.0 if p >= 1.0 else 1.0 / (1.0 - p)
    y = np.where(mask, x * scale, 0).astype(x.dtype, copy=False)
    return y, DropoutCache(mask, scale)


def dropout_backward(dy: np.ndarray, cache: DropoutCache) -> np.ndarray:
    """``dL/dx = dy ⊙ mask / (1 − p)``: the gradient flows only through kept entries."""
    if cache.mask is None:
        return dy
    return np.where(cache.mask, dy * cache.scale, 0).astype(dy.dtype, copy=False)
