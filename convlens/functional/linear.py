"""Fully connected (dense) layer: ``y = x Wᵀ + b``.

Shapes: x (N, *, in_features), W (out_features, in_features), b (out_features,),
y (N, *, out_features).  Backward from dy:

    dx = dy W          dW = Σ dyᵀ x (over every leading axis)          db = Σ dy

The products run on the threads of :mod:`~convlens.functional.parallel` (which holds the
BLAS at one thread while it owns the cores).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convlens.functional import parallel


@dataclass
class LinearCache:
    x: np.ndarray
    weight: np.ndarray
    has_bias: bool


def linear_forward(
    x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None
) -> tuple[np.ndarray, LinearCache]:
    y = parallel.matmul(x, weight.T)
    if bias is not None:
        y += bias
    return y, LinearCache(x, weight, bias is not None)


def linear_backward(
    dy: np.ndarray, cache: LinearCache, need_input_grad: bool = True
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    x2 = cache.x.reshape(-1, cache.x.shape[-1])
    dy2 = dy.reshape(-1, dy.shape[-1])
    dweight = parallel.matmul(dy2.T, x2)
    dbias = dy2.sum(axis=0) if cache.has_bias else None
    dx = parallel.matmul(dy, cache.weight) if need_input_grad else None
    return dx, dweight, dbias
