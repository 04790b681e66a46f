"""Ops on several tensors (the merge layers of a graph model), forward and backward together.

All follow NumPy broadcasting (``(N, C, H, W) + (C, 1, 1)`` adds a per-channel constant). The
gradient that reaches a broadcast input is summed over the axes it was stretched along, so
every gradient has its input's shape (:func:`unbroadcast`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` (of the broadcast result's shape) back to an input of ``shape``.

    Leading axes the input lacks are summed away; axes where the input has size 1 and the
    result does not are summed with ``keepdims``: the adjoint of ``np.broadcast_to``.
    """
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad.reshape(shape)


def broadcast_shape(xs: Sequence[np.ndarray], op: str) -> tuple[int, ...]:
    """The common shape of ``xs`` under broadcasting, or an error naming every shape."""
    try:
        return np.broadcast_shapes(*(x.shape for x in xs))
    except ValueError:
        shapes = ", ".join(str(x.shape) for x in xs)
        raise ValueError(f"{op}: input shapes {shapes} do not broadcast (each axis must be "
                         "equal or 1, aligned from the last axis)") from None


# -- sums -----------------------------------------------------------------------------------
def add_backward(dy: np.ndarray, shapes: Sequence[tuple[int, ...]]) -> tuple[np.ndarray, ...]:
    """``y = Σ x_i``: ``∂y/∂x_i = 1``, so ``dx_i = unbroadcast(dy)``."""
    return tuple(unbroadcast(dy, s) for s in shapes)


def subtract_backward(dy: np.ndarray, shapes: Sequence[tuple[int, ...]]
                      ) -> tuple[np.ndarray, np.ndarray]:
    """``y = a − b``: ``da = dy``, ``db = −dy`` (each unbroadcast)."""
    return unbroadcast(dy, shapes[0]), unbroadcast(-dy, shapes[1])


def mean_backward(dy: np.ndarray, shapes: Sequence[tuple[int, ...]]) -> tuple[np.ndarray, ...]:
    """``y = (1/n) Σ x_i``: ``dx_i = unbroadcast(dy / n)``."""
    scaled = dy / len(shapes)
    return tuple(unbroadcast(scaled, s) for s in shapes)


# -- products -------------------------------------------------------------------------------
def multiply(xs: Sequence[np.ndarray]) -> np.ndarray:
    """``y = Π x_i`` (elementwise)."""
    y = xs[0]
    for x in xs[1:]:
        y = y * x
    return y


def multiply_backward(dy: np.ndarray, xs: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
    """``dx_i = unbroadcast(dy · Π_{j≠i} x_j)`` (the product of the others, so zeros are safe)."""
    grads = []
    for i, x in enumerate(xs):
        g = dy
        for j, other in enumerate(xs):
            if j != i:
                g = g * other
        grads.append(unbroadcast(g, x.shape))
    return tuple(grads)


def divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a / b``; integer tensors divide as integers, rounding toward zero (ONNX's ``Div``, C's
    ``/``, ``torch.div(..., rounding_mode="trunc")``): −7 / 2 = −3, exact for every int64."""
    a, b = np.asarray(a), np.asarray(b)
    if not (np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer)):
        return a / b
    quotient = np.floor_divide(a, b)
    inexact = (np.remainder(a, b) != 0) & ((a < 0) != (b < 0))
    return quotient + inexact.astype(quotient.dtype)


def divide_backward(dy: np.ndarray, a: np.ndarray, b: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """``y = a / b``: ``da = dy / b``, ``db = −dy · a / b²``."""
    return unbroadcast(dy / b, a.shape), unbroadcast(-dy * a / (b * b), b.shape)


# -- extremes -------------------------------------------------------------------------------
def extreme_backward(dy: np.ndarray, xs: Sequence[np.ndarray], y: np.ndarray
                     ) -> tuple[np.ndarray, ...]:
    """``y = max_i x_i`` (or min): the gradient goes to the inputs equal to ``y``, shared
    equally between ties (as ``torch.maximum`` halves it between two equal inputs)."""
    winners = [x == y for x in xs]
    count = sum(w.astype(dy.dtype) for w in winners)
    share = dy / count
    return tuple(unbroadcast(np.where(w, share, 0).astype(dy.dtype), x.shape)
                 for w, x in zip(winners, xs))


# -- matrix product -------------------------------------------------------------------------
def matmul_backward(dy: np.ndarray, a: np.ndarray, b: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """``y = a @ b`` (``np.matmul``: batch axes broadcast, 1-D operands promoted).

    With ``a`` (…, m, k), ``b`` (…, k, n), ``dy`` (…, m, n): ``da = dy @ bᵀ`` (…, m, k) and
    ``db = aᵀ @ dy`` (…, k, n), each summed back over broadcast batch axes. A 1-D ``a`` is a
    row (1, k) and a 1-D ``b`` a column (k, 1); the axis they add to ``dy`` is put back first.
    """
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    if b.ndim == 1:
        dy = dy[..., None]
    if a.ndim == 1:
        dy = dy[..., None, :]
    da = dy @ np.swapaxes(b2, -1, -2)   # (…, m, n) @ (…, n, k) -> (…, m, k)
    db = np.swapaxes(a2, -1, -2) @ dy   # (…, k, m) @ (…, m, n) -> (…, k, n)
    return (unbroadcast(da, a2.shape).reshape(a.shape),
            unbroadcast(db, b2.shape).reshape(b.shape))


# -- concatenation --------------------------------------------------------------------------
def concatenate(xs: Sequence[np.ndarray], axis: int) -> np.ndarray:
    """``np.concatenate`` with an error that names every shape."""
    try:
        return np.concatenate(xs, axis=axis)
    except (ValueError, np.exceptions.AxisError):
        shapes = ", ".join(str(x.shape) for x in xs)
        raise ValueError(f"Concatenate(dim={axis}): input shapes {shapes} must have the same "
                         f"number of axes and agree on every axis but {axis}") from None


def concatenate_backward(dy: np.ndarray, sizes: Sequence[int], axis: int
                         ) -> tuple[np.ndarray, ...]:
    """Split ``dy`` along ``axis`` into the inputs' parts (sizes along that axis)."""
    return tuple(np.split(dy, np.cumsum(sizes)[:-1], axis=axis))
