"""N-dimensional pooling (max, min, average): forward and backward.

Shapes: x (N, C, *S) -> y (N, C, *O) with O_i = ⌊(S_i + 2p_i − d_i·(k_i − 1) − 1)/s_i⌋ + 1
(⌈…⌉ with ``ceil_mode``, the last window starting inside the input or the left padding,
as in PyTorch). Stride defaults to the kernel size: non-overlapping windows; a stride smaller
than the kernel gives overlapping pooling.

    max:  y = max over the window        dL/dx: the whole dy goes to the position that won
    min:  y = min over the window        (ties: the first position, as PyTorch)
    avg:  y = Σ window / count           dL/dx: dy / count to every position of the window

``count`` is the full window size including zero padding (``count_include_pad=True``,
PyTorch's default) or only the real input positions inside it. Padding is −∞ for max
(+∞ for min) so it never wins.

How: one pass per kernel tap (``window_offsets``): the strided slice of the input that tap
meets is compared with (max/min) or added to (avg) the running result, so no window is ever
copied out, and the winning tap of each window is remembered in a small integer array for
the backward pass. A 2×2 pool is four element-wise operations on quarter-size arrays.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from convlens.functional.conv import hashable
from convlens.functional.conv_arithmetic import Pairs, as_tuple, axis_names, check_rank, output_shape
from convlens.functional.padding import pad, pad_backward
from convlens.functional.windows import window_offsets

POOL_KINDS = ("max", "min", "avg")


@dataclass
class PoolCache:
    kind: str
    x_shape: tuple[int, ...]
    padded_shape: tuple[int, ...]
    pads: Pairs
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    out_spatial: tuple[int, ...]
    winner: np.ndarray | None  # max/min: flat index of the winning tap of each window
    divisor: np.ndarray | None  # avg: per-position count


def pool_geometry(name: str, x: np.ndarray, kernel_size, stride, padding, dilation,
                  ceil_mode: bool, nd: int):
    """Validate and return (kernel, stride, dilation, pads, pads incl. ceil extra, out).

    Memoized per input shape and hyperparameters (see ``conv_geometry``).
    """
    return _pool_geometry(name, x.shape, hashable(kernel_size), hashable(stride),
                          hashable(padding), hashable(dilation), ceil_mode, nd)


def pool_hyperparameters(
    name: str,
    kernel_size: int | tuple[int, ...],
    stride: int | tuple[int, ...] | None,
    padding: int | tuple[int, ...],
    dilation: int | tuple[int, ...],
    nd: int,
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """``(kernel, stride, padding, dilation)`` as ``nd``-tuples, checked (the pooling layers
    check them at construction with this, the ops on every call); stride defaults to the kernel."""
    kernel = as_tuple(kernel_size, nd, "kernel_size")
    stride_t = kernel if stride is None else as_tuple(stride, nd, "stride")
    padding_t = as_tuple(padding, nd, "padding", minimum=0)
    dilation_t = as_tuple(dilation, nd, "dilation")
    for p, k, axis in zip(padding_t, kernel, axis_names(nd)):
        if p > k // 2:
            raise ValueError(
                f"{name}: padding {p} along {axis} must be at most half the kernel size {k} "
                f"(padding > k/2 would create windows that hold only padding)"
            )
    return kernel, stride_t, padding_t, dilation_t


@functools.lru_cache(maxsize=512)
def _pool_geometry(
    name: str,
    shape: tuple[int, ...],
    kernel_size: int | tuple[int, ...],
    stride: int | tuple[int, ...] | None,
    padding: int | tuple[int, ...],
    dilation: int | tuple[int, ...],
    ceil_mode: bool,
    nd: int,
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], Pairs, Pairs, tuple[int, ...]]:
    check_rank(name, shape, nd)
    kernel, stride_t, padding_t, dilation_t = pool_hyperparameters(
        name, kernel_size, stride, padding, dilation, nd)
    pads = tuple((p, p) for p in padding_t)
    spatial = shape[2:]
    out = output_shape(name, spatial, kernel, stride_t, pads, dilation_t, ceil_mode,
                       max_padding=tuple(k // 2 for k in kernel))
    # ceil_mode: the last window may run past the padded input; pad a little more after
    full = []
    for n, k, s, d, (lo, hi), o in zip(spatial, kernel, stride_t, dilation_t, pads, out):
        need = (o - 1) * s + d * (k - 1) + 1 - (n + lo + hi)
        full.append((lo, hi + max(need, 0)))
    return kernel, stride_t, dilation_t, pads, tuple(full), out


@functools.lru_cache(maxsize=128)
def _avg_divisor(spatial, kernel, stride, dilation, pads, out, count_include_pad) -> np.ndarray:
    """Per output position: how many window positions count (a product over axes)."""
    divisor = np.ones((), dtype=np.int64)
    for n, k, s, d, (lo, _), o in zip(spatial, kernel, stride, dilation, pads, out):
        # position of each window element in padded coordinates: o·s + k·d
        pos = np.arange(o)[:, None] * s + np.arange(k)[None, :] * d
        valid = (pos < n + 2 * lo) if count_include_pad else ((pos >= lo) & (pos < n + lo))
        divisor = np.multiply.outer(divisor, valid.sum(axis=1))
    return divisor


def pool_forward(
    x: np.ndarray,
    kind: str,
    kernel_size: int | tuple[int, ...],
    stride: int | tuple[int, ...] | None = None,
    padding: int | tuple[int, ...] = 0,
    dilation: int | tuple[int, ...] = 1,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    nd: int = 2,
    name: str | None = None,
    need_backward: bool = True,
) -> tuple[np.ndarray, PoolCache]:
    """Pool ``x`` (N, C, *S) with windows of ``kernel_size``; returns ``(y, cache)``.

    ``need_backward=False`` skips recording the winners (inference only).
    """
    if kind not in POOL_KINDS:
        raise ValueError(f"pooling kind must be one of {POOL_KINDS}, received {kind!r}")
    name = name or f"{kind.capitalize()}Pool{nd}d"
    if x.dtype.kind != "f":  # (np.issubdtype is slow at batch size 1)
        x = x.astype(np.float32)
    kernel, stride_t, dilation_t, pads, full, out = pool_geometry(
        name, x, kernel_size, stride, padding, dilation, ceil_mode, nd)
    fill = {"max": -np.inf, "min": np.inf, "avg": 0.0}[kind]
    xp = pad(x, full, "zeros", value=fill)
    (_, _, first), *taps = window_offsets(kernel, stride_t, dilation_t, out)
    y = xp[(Ellipsis, *first)].copy()
    winner = divisor = None
    if kind == "avg":
        for _, _, slices in taps:
            y += xp[(Ellipsis, *slices)]
        divisor = _avg_divisor(tuple(x.shape[2:]), kernel, stride_t, dilation_t, pads, out,
                               count_include_pad)
        y /= divisor.astype(y.dtype)
    elif not need_backward:
        keep = np.maximum if kind == "max" else np.minimum
        for _, _, slices in taps:
            keep(y, xp[(Ellipsis, *slices)], out=y)
    else:
        winner = _winners(xp, y, kind, kernel, taps, nan_wins=False)
        if np.isnan(y).any():  # NaN propagates through maximum/minimum: some window has one
            y = xp[(Ellipsis, *first)].copy()
            winner = _winners(xp, y, kind, kernel, taps, nan_wins=True)
    cache = PoolCache(kind, x.shape, xp.shape, full, kernel, stride_t, dilation_t, out,
                      winner, divisor)
    return y, cache


def _winners(xp: np.ndarray, y: np.ndarray, kind: str, kernel: tuple[int, ...], taps,
             nan_wins: bool) -> np.ndarray:
    """Fold the remaining ``taps`` into ``y`` (which holds tap 0) in place; return, for each
    window, the flat index of the tap that won.

    Taps come in increasing index order, so a new winner always has a larger index than the
    old one: max(winner, better·index) records it (strictly better only, so the first tap
    wins ties, as in PyTorch; faster than np.putmask). A NaN wins too in PyTorch; checking
    for it costs two more passes per tap, so the caller asks for it (``nan_wins``) only when
    the result shows a NaN.
    """
    index_type = np.uint8 if math.prod(kernel) < 256 else np.int32
    winner = np.zeros(y.shape, dtype=index_type)
    beats, keep = (np.greater, np.maximum) if kind == "max" else (np.less, np.minimum)
    for index, _, slices in taps:
        candidate = xp[(Ellipsis, *slices)]
        better = beats(candidate, y)
        if nan_wins:
            better |= np.isnan(candidate)
        np.maximum(winner, better * index_type(index), out=winner)
        keep(y, candidate, out=y)
    return winner


def pool_backward(dy: np.ndarray, cache: PoolCache) -> np.ndarray:
    """``dL/dx`` from ``dy = dL/dy``: routed to the winners (max/min) or spread (avg)."""
    dxp = np.zeros(cache.padded_shape, dtype=dy.dtype)
    taps = window_offsets(cache.kernel, cache.stride, cache.dilation, cache.out_spatial)
    # Windows that do not overlap (stride ≥ window span, e.g. 2×2 stride 2) meet every input
    # position at most once: each tap's gradient is written, not added (one pass less).
    overlap = any(s < d * (k - 1) + 1 for k, s, d in zip(cache.kernel, cache.stride, cache.dilation))
    if cache.kind == "avg":
        share = dy / cache.divisor.astype(dy.dtype)
        for _, _, slices in taps:
            target = dxp[(Ellipsis, *slices)]
            if overlap:
                target += share
            else:
                target[...] = share
    else:
        for index, _, slices in taps:
            target = dxp[(Ellipsis, *slices)]
            if overlap:
                target += dy * (cache.winner == index)
            else:
                np.multiply(dy, cache.winner == index, out=target)
    return pad_backward(dxp, cache.pads, "zeros")
