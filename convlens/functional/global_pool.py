"""Global and adaptive pooling: pool to a fixed output size whatever the input size.

Global pooling reduces every channel to one number (x (N, C, *S) -> y (N, C)):

    avg:  y[n, c] = (1/m) Σ_s x[n, c, s]      dL/dx[n, c, s] = dy[n, c] / m     (m = ∏S)
    max:  y[n, c] = max_s x[n, c, s]          dL/dx = dy[n, c] at the first maximum, 0 elsewhere

Adaptive pooling (PyTorch's ``AdaptiveAvgPool``/``AdaptiveMaxPool``) gives an output of size O
per axis from an input of size S: output i pools the input window

    start_i = ⌊i·S/O⌋,   end_i = ⌈(i + 1)·S/O⌉          (windows may overlap when O ∤ S)

Averaging over a box is separable, so adaptive average pooling is one small matrix per axis,
``A (O, S)`` with ``A[i, start_i:end_i] = 1/(end_i − start_i)``, contracted with that axis of x;
its backward pass contracts dy with the same matrices (transposed). Max pooling keeps, per
window, the (flat) input position of the first maximum; the backward pass adds dy there.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from convlens.functional.conv_arithmetic import axis_names, check_rank


def check_pool_input(name: str, x: np.ndarray, nd: int) -> np.ndarray:
    check_rank(name, x.shape, nd)
    if 0 in x.shape[2:]:
        raise ValueError(f"{name}: cannot pool an empty input, received shape {x.shape}")
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float32)


# -- global pooling -----------------------------------------------------------------------
@dataclass
class GlobalPoolCache:
    kind: str
    x_shape: tuple[int, ...]
    keepdims: bool
    argmax: np.ndarray | None  # max: (N, C) flat spatial index of the first maximum


def global_pool_forward(x: np.ndarray, kind: str, keepdims: bool = False
                        ) -> tuple[np.ndarray, GlobalPoolCache]:
    """(N, C, *S) -> (N, C), or (N, C, 1, …) with ``keepdims``; ``kind`` is 'avg' or 'max'."""
    if kind not in ("avg", "max"):
        raise ValueError(f"global pooling kind must be 'avg' or 'max', received {kind!r}")
    n, c = x.shape[:2]
    flat = x.reshape(n, c, -1)
    argmax = None
    if kind == "avg":
        y = flat.mean(axis=-1)
    else:
        argmax = flat.argmax(axis=-1)
        y = np.take_along_axis(flat, argmax[..., None], axis=-1)[..., 0]
    if keepdims:
        y = y.reshape(n, c, *(1,) * (x.ndim - 2))
    return y, GlobalPoolCache(kind, x.shape, keepdims, argmax)


def global_pool_backward(dy: np.ndarray, cache: GlobalPoolCache) -> np.ndarray:
    n, c = cache.x_shape[:2]
    m = math.prod(cache.x_shape[2:])
    dy = dy.reshape(n, c, 1)
    if cache.argmax is None:  # avg
        dflat = np.empty((n, c, m), dtype=dy.dtype)
        dflat[...] = dy / m
    else:
        dflat = np.zeros((n, c, m), dtype=dy.dtype)
        np.put_along_axis(dflat, cache.argmax[..., None], dy, axis=-1)
    return dflat.reshape(cache.x_shape)


# -- adaptive pooling ---------------------------------------------------------------------
def adaptive_windows(size: int, out: int) -> list[tuple[int, int]]:
    """The (start, end) input window of each of the ``out`` outputs along an axis of ``size``."""
    return [((i * size) // out, -((-(i + 1) * size) // out)) for i in range(out)]


def resolve_output_size(name: str, output_size: int | None | tuple[int | None, ...],
                        spatial: tuple[int, ...]) -> tuple[int, ...]:
    """Output size per axis; ``None`` (alone or per axis) keeps that axis's input size."""
    nd = len(spatial)
    if output_size is None or isinstance(output_size, (int, np.integer)):
        sizes = (output_size,) * nd
    else:
        sizes = tuple(output_size)
        if len(sizes) != nd:
            raise ValueError(
                f"{name}: output_size must be an int or a tuple of {nd} ints, received "
                f"{output_size!r}"
            )
    out = tuple(n if o is None else int(o) for o, n in zip(sizes, spatial))
    for o, axis in zip(out, axis_names(nd)):
        if o < 1:
            raise ValueError(f"{name}: output_size along {axis} must be >= 1, received {o}")
    return out


@dataclass
class AdaptivePoolCache:
    kind: str
    x_shape: tuple[int, ...]
    matrices: list[np.ndarray] | None  # avg: A_k (O_k, S_k) per spatial axis
    argmax: np.ndarray | None  # max: (N, C, *O) flat spatial index of each window's maximum


def _pool_matrix(size: int, out: int, dtype: np.dtype) -> np.ndarray:
    a = np.zeros((out, size), dtype=dtype)
    for i, (lo, hi) in enumerate(adaptive_windows(size, out)):
        a[i, lo:hi] = 1.0 / (hi - lo)
    return a


def adaptive_pool_forward(
    x: np.ndarray, kind: str, output_size: int | None | tuple[int | None, ...],
    name: str | None = None,
) -> tuple[np.ndarray, AdaptivePoolCache]:
    """(N, C, *S) -> (N, C, *O) with windows ``[⌊i·S/O⌋, ⌈(i + 1)·S/O⌉)`` (module docstring)."""
    if kind not in ("avg", "max"):
        raise ValueError(f"adaptive pooling kind must be 'avg' or 'max', received {kind!r}")
    nd = x.ndim - 2
    name = name or f"Adaptive{kind.capitalize()}Pool{nd}d"
    spatial = x.shape[2:]
    out = resolve_output_size(name, output_size, spatial)
    if kind == "avg":
        matrices = [_pool_matrix(s, o, x.dtype) for s, o in zip(spatial, out)]
        y = x
        for k, a in enumerate(matrices):
            # contract input axis 2 + k (S_k) with A's axis 1; the new O_k axis comes last
            y = np.moveaxis(np.tensordot(y, a, axes=([2 + k], [1])), -1, 2 + k)
        return y, AdaptivePoolCache(kind, x.shape, matrices, None)
    n, c = x.shape[:2]
    y = np.empty((n, c, *out), dtype=x.dtype)
    argmax = np.empty((n, c, *out), dtype=np.int64)
    windows = [adaptive_windows(s, o) for s, o in zip(spatial, out)]
    for idx in itertools.product(*(range(o) for o in out)):
        box = [windows[k][i] for k, i in enumerate(idx)]
        region_index = (slice(None), slice(None)) + tuple(slice(lo, hi) for lo, hi in box)
        out_index = (slice(None), slice(None)) + idx
        region = x[region_index].reshape(n, c, -1)
        local = region.argmax(axis=-1)  # the first maximum of the window, as PyTorch
        y[out_index] = np.take_along_axis(region, local[..., None], axis=-1)[..., 0]
        coords = np.unravel_index(local, [hi - lo for lo, hi in box])
        argmax[out_index] = np.ravel_multi_index(
            tuple(co + lo for co, (lo, _) in zip(coords, box)), spatial)
    return y, AdaptivePoolCache(kind, x.shape, None, argmax)


def adaptive_pool_backward(dy: np.ndarray, cache: AdaptivePoolCache) -> np.ndarray:
    if cache.matrices is not None:  # avg
        dx = dy
        for k, a in enumerate(cache.matrices):
            # contract dy's axis 2 + k (O_k) with A's axis 0: back to S_k
            dx = np.moveaxis(np.tensordot(dx, a, axes=([2 + k], [0])), -1, 2 + k)
        return dx.astype(dy.dtype, copy=False)
    assert cache.argmax is not None
    n, c = cache.x_shape[:2]
    m = math.prod(cache.x_shape[2:])
    rows = np.arange(n * c).reshape(n, c, *(1,) * (dy.ndim - 2)) * m
    # overlapping windows may share a maximum: bincount adds their gradients up
    dx = np.bincount((rows + cache.argmax).ravel(), weights=dy.ravel(), minlength=n * c * m)
    return dx.astype(dy.dtype, copy=False).reshape(cache.x_shape)
