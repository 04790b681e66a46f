"""Reductions over chosen axes: the mean and the maximum (ONNX's ReduceMean / ReduceMax,
``torch.mean(x, dims)`` / ``torch.amax(x, dims)``).

``y = mean(x, axes)``: ``dx = dy / n`` broadcast back over the reduced axes (``n`` values each).
``y = max(x, axes)``: ``dx = dy`` at the positions equal to the maximum, shared equally between
ties (``torch.amax``'s rule), 0 elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

REDUCE_KINDS = ("mean", "max")


def reduce_forward(x: np.ndarray, kind: str, axes: Sequence[int], keepdims: bool) -> np.ndarray:
    """``kind`` of ``x`` over ``axes`` (non-negative): (…) -> the shape without them (size 1
    with ``keepdims``). The maximum over no values is −inf (ONNX's empty set)."""
    axes = tuple(axes)
    if kind == "mean":
        return np.mean(x, axis=axes, keepdims=keepdims, dtype=x.dtype if x.dtype.kind == "f" else None)
    if kind != "max":
        raise ValueError(f"reduce kind must be one of {REDUCE_KINDS}, received {kind!r}")
    if x.size == 0 and x.dtype.kind in "fb":   # False is the least boolean
        return np.max(x, axis=axes, keepdims=keepdims, initial=False if x.dtype == bool else -np.inf)
    return np.max(x, axis=axes, keepdims=keepdims)


def reduce_backward(dy: np.ndarray, x: np.ndarray, y: np.ndarray, kind: str, axes: Sequence[int],
                    keepdims: bool) -> np.ndarray:
    """dL/dx of :func:`reduce_forward` for ``dy`` of ``y``'s shape."""
    axes = tuple(axes)
    if not keepdims:
        dy, y = np.expand_dims(dy, axes), np.expand_dims(y, axes)
    if kind == "mean":
        count = int(np.prod([x.shape[a] for a in axes]))
        return np.broadcast_to(dy / count, x.shape).astype(dy.dtype)
    winners = (x == y)
    share = dy / np.sum(winners, axis=axes, keepdims=True).astype(dy.dtype)
    return np.where(winners, share, 0).astype(dy.dtype)
