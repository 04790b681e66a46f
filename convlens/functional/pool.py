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

from convlens.functional import parallel
from convlens.functional.activation import select
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
    taps = window_offsets(kernel, stride_t, dilation_t, out)
    y = np.empty((*x.shape[:2], *out), dtype=xp.dtype)
    winner = divisor = None
    if kind == "avg":
        divisor = _avg_divisor(tuple(x.shape[2:]), kernel, stride_t, dilation_t, pads, out,
                               count_include_pad).astype(y.dtype)
    elif need_backward:
        winner = np.empty(y.shape, dtype=np.uint8 if math.prod(kernel) < 256 else np.int32)
    if parallel.serial(x.size):
        _pool_block(xp, y, winner, kind, taps, divisor)
    else:  # examples (or channels) are independent: blocks of them run on the threads
        axis = parallel.split_axis(y.shape)

        def pool_block(start: int, stop: int) -> None:
            index = parallel.blocks_along(axis, start, stop)
            _pool_block(xp[index], y[index], None if winner is None else winner[index], kind,
                        taps, divisor)

        parallel.run(pool_block, y.shape[axis], x.size)
    cache = PoolCache(kind, x.shape, xp.shape, full, kernel, stride_t, dilation_t, out,
                      winner, divisor)
    return y, cache


def _pool_block(xp: np.ndarray, y: np.ndarray, winner: np.ndarray | None, kind: str, taps,
                divisor: np.ndarray | None) -> None:
    """Pool one block of examples or channels: fill ``y`` (and ``winner`` if given)."""
    (_, _, first), *rest = taps
    np.copyto(y, xp[(Ellipsis, *first)])
    if kind == "avg":
        for _, _, slices in rest:
            y += xp[(Ellipsis, *slices)]
        y /= divisor
    elif winner is None:
        keep = np.maximum if kind == "max" else np.minimum
        for _, _, slices in rest:
            keep(y, xp[(Ellipsis, *slices)], out=y)
    else:
        _winners(xp, y, winner, kind, rest, nan_wins=False)
        if np.isnan(y).any():  # NaN propagates through maximum/minimum: some window has one
            np.copyto(y, xp[(Ellipsis, *first)])
            _winners(xp, y, winner, kind, rest, nan_wins=True)


def _winners(xp: np.ndarray, y: np.ndarray, winner: np.ndarray, kind: str, taps,
             nan_wins: bool) -> None:
    """Fold the remaining ``taps`` into ``y`` (which holds tap 0) in place, and record in
    ``winner``, for each window, the flat index of the tap that won.

    Taps come in increasing index order, so a new winner always has a larger index than the
    old one: max(winner, better·index) records it (strictly better only, so the first tap
    wins ties, as in PyTorch; faster than np.putmask). A NaN wins too in PyTorch; checking
    for it costs two more passes per tap, so the caller asks for it (``nan_wins``) only when
    the result shows a NaN.
    """
    index_type = winner.dtype.type
    winner[...] = 0
    beats, keep = (np.greater, np.maximum) if kind == "max" else (np.less, np.minimum)
    for index, _, slices in taps:
        candidate = xp[(Ellipsis, *slices)]
        better = beats(candidate, y)
        if nan_wins:
            better |= np.isnan(candidate)
        np.maximum(winner, better * index_type(index), out=winner)
        keep(y, candidate, out=y)


def pool_backward(dy: np.ndarray, cache: PoolCache) -> np.ndarray:
    """``dL/dx`` from ``dy = dL/dy``: routed to the winners (max/min) or spread (avg)."""
    dxp = np.zeros(cache.padded_shape, dtype=dy.dtype)
    taps = window_offsets(cache.kernel, cache.stride, cache.dilation, cache.out_spatial)
    # Windows that do not overlap (stride ≥ window span, e.g. 2×2 stride 2) meet every input
    # position at most once: each tap's gradient is written, not added (one pass less).
    overlap = any(s < d * (k - 1) + 1 for k, s, d in zip(cache.kernel, cache.stride, cache.dilation))
    share = dy / cache.divisor.astype(dy.dtype) if cache.kind == "avg" else None
    axis = parallel.split_axis(dy.shape)

    def route_block(start: int, stop: int) -> None:
        index = parallel.blocks_along(axis, start, stop)
        grads, block = dxp[index], dy[index]
        for tap_index, _, slices in taps:
            target = grads[(Ellipsis, *slices)]
            if share is not None:
                if overlap:
                    target += share[index]
                else:
                    target[...] = share[index]
            elif overlap:
                target += select(block, cache.winner[index] == tap_index)
            else:  # select, not block · mask: an inf gradient reaches only its window's winner
                select(block, cache.winner[index] == tap_index, out=target)

    parallel.run(route_block, dy.shape[axis], dxp.size)
    return pad_backward(dxp, cache.pads, "zeros")


def winner_indices(cache: PoolCache) -> np.ndarray:
    """Where each window's max (or min) sits in its input plane: the row-major flat index
    over the unpadded spatial axes ``S``, as ``torch.nn.MaxPool2d(return_indices=True)``
    gives it (int64, the output's shape). Needs the winners (``need_backward=True``).

    For output position o and winning tap t, the input coordinate on axis i is
    ``o_i·s_i − p_i + t_i·d_i`` (``p_i`` the padding before). A window that only ever saw
    −∞ padding (impossible unless the input is −∞) is clipped to the plane.
    """
    if cache.winner is None:
        raise ValueError("winner_indices: the pooling ran without recording winners "
                         "(pool_forward(..., need_backward=True) records them)")
    taps = np.unravel_index(cache.winner, cache.kernel)
    nd = len(cache.kernel)
    coords = []
    for i, (tap, s, d, (lo, _), o) in enumerate(zip(taps, cache.stride, cache.dilation,
                                                    cache.pads, cache.out_spatial)):
        start = (np.arange(o) * s - lo).reshape((o,) + (1,) * (nd - 1 - i))
        coords.append(start + tap.astype(np.int64) * d)
    return np.ravel_multi_index(coords, cache.x_shape[2:], mode="clip").astype(np.int64)
