"""Convolution without a stored im2col matrix: products on shifted views of the padded input.

For stride 1 and one group, lay the padded input out as X (C_in, L): one row per channel
holding every example's padded volume one after the other (L = N·∏Sp). Kernel tap k meets
input position p + off_k, with off_k = Σ_a k_a·d_a·(flat stride of padded axis a), so what
that tap reads for *every* output position at once is the column range X[:, off_k : off_k + L′]
— a view, no copy. With W_k = weight[:, :, k] (C_out, C_in):

    Y[:, p]  = Σ_k W_k @ X[:, p + off_k]                 (forward)
    dW_k     = dY @ X[:, off_k : off_k + L′]ᵀ             (weight gradient)
    dX[:, q] = Σ_k W_kᵀ @ dY[:, q − off_k]                (input gradient)

for p on the padded grid. The outputs are the grid points (n, o) with every o_a < O_a; the
other columns (windows that run past the end of a row) are computed and dropped, and dY is
zero there, so they add nothing to dW or dX. The sums over k (forward, dX) run one example
at a time (its outputs lie in its own ∏Sp grid columns, so a small scratch grid is computed
and its outputs copied into place) and in blocks of columns: the K shifted slices of a block
are copied into a buffer that stays in cache, and one product with C·K inner terms gives the
block (:func:`_stacked_products`).

Against im2col (:mod:`~convlens.functional.conv`), the K-times larger column matrix is never
written to memory nor kept (the backward cache is the input itself, laid out again as padded
rows by the backward pass), at the price of
products over the padded grid (∏Sp/∏O times more columns: 1.13 for a 32×32 map with padding
1, 1.95 for 8³). :func:`use_shifted` picks it when that price is low (measured numbers next
to the thresholds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from convlens.functional import parallel
from convlens.functional.conv_arithmetic import Pairs
from convlens.functional.padding import pad, pad_backward

#: The shifted products need this many input channels (inner terms per product) to run near
#: the speed of one large product…
MIN_CHANNELS = 16
#: …and a padded grid at most this much larger than the output. Measured (one thread, CPU
#: time, forward + backward against im2col, 2026-11-30): 0.92 for Conv1d 64→64 k5 at 1000,
#: 0.99 for Conv2d 64→64 3×3 at 32², 1.08 at 28², 1.11 for 128→128 at 16², 1.24 at 14²,
#: 1.58 at 8², 1.75 for Conv3d at 8³; inside a whole ResNet-18 step the missing copy and
#: cache count for more (batch 32: 1.30 s against 1.56 s with im2col only), so the line is
#: drawn at 16² (1.27×) and 14² (1.31×) stays with im2col.
MAX_GROWTH = 1.3


def use_shifted(x_shape: tuple[int, ...], weight_shape: tuple[int, ...], groups: int,
                stride: tuple[int, ...], pads: Pairs, out: tuple[int, ...]) -> bool:
    """Whether :func:`shifted_forward` should compute this convolution (module docstring).
    The cheap tests come first (a few microseconds count at batch size 1)."""
    if weight_shape[1] < MIN_CHANNELS or groups != 1 or any(s != 1 for s in stride):
        return False
    padded = math.prod(n + lo + hi for n, (lo, hi) in zip(x_shape[2:], pads))
    return math.prod(weight_shape[2:]) > 1 and padded <= MAX_GROWTH * math.prod(out)


@dataclass
class ShiftedConvCache:
    """The input itself (not a copy: the layer before usually keeps the same array), the
    weights and the geometry; the backward pass lays the input out as padded rows again."""

    x: np.ndarray
    weight: np.ndarray
    has_bias: bool
    x_shape: tuple[int, ...]
    padded: tuple[int, ...]
    out_spatial: tuple[int, ...]
    offsets: tuple[int, ...]
    pads: Pairs
    padding_mode: str


def tap_offsets(kernel: tuple[int, ...], dilation: tuple[int, ...],
                padded: tuple[int, ...]) -> tuple[int, ...]:
    """off_k = Σ_a k_a·d_a·(flat stride of axis a of the padded grid), for every tap k in
    the order of ``weight.reshape(C_out, C_in, -1)``."""
    flat_strides = [math.prod(padded[a + 1:]) for a in range(len(padded))]
    grid = np.indices(kernel).reshape(len(kernel), -1)
    return tuple(int(v) for v in (grid.T * np.array(dilation) * np.array(flat_strides)).sum(axis=1))


def _grid_rows(x: np.ndarray, pads: Pairs, padding_mode: str) -> np.ndarray:
    """(N, C, *S) -> the padded input as (C, N, *Sp), contiguous (one copy for zero padding)."""
    n, c = x.shape[:2]
    padded = tuple(s + lo + hi for s, (lo, hi) in zip(x.shape[2:], pads))
    rows = (np.zeros if padding_mode == "zeros" else np.empty)((c, n, *padded), dtype=x.dtype)
    if padding_mode == "zeros":
        inner = tuple(slice(lo, lo + s) for s, (lo, _) in zip(x.shape[2:], pads))
        parallel.copyto(rows[(slice(None), slice(None), *inner)], x.swapaxes(0, 1), axis=0)
    else:
        parallel.copyto(rows, pad(x, pads, padding_mode).swapaxes(0, 1), axis=0)
    return rows


def _stacked_products(mat: np.ndarray, src: np.ndarray, offsets: tuple[int, ...],
                      out: np.ndarray, length: int) -> None:
    """out[:, p] = mat @ [src[:, p + offsets[0]]; …; src[:, p + offsets[K−1]]] for p < length.

    With ``mat = [W_0 … W_K−1]`` this is Σ_k W_k @ src[:, p + off_k], computed as one product
    of C·K inner terms per block of columns, whose K shifted copies are made in a buffer that
    stays in cache (im2col a block at a time). Measured against K products of C inner terms
    accumulated block by block: 3–7 % less time for the forward pass and dX (one thread,
    eight layer shapes); for dW, K products over all columns are as fast and kept."""
    channels, taps = src.shape[0], len(offsets)
    step = max(64, STACK_VALUES // (channels * taps))
    stack = np.empty((taps, channels, min(step, length)), dtype=src.dtype)
    rows = stack.reshape(taps * channels, -1)
    for start in range(0, length, step):
        stop = min(start + step, length)
        width = stop - start
        for k, offset in enumerate(offsets):
            np.copyto(stack[k, :, :width], src[:, start + offset:stop + offset])
        np.matmul(mat, rows[:, :width], out=out[:, start:stop])


#: Values in the buffer of :func:`_stacked_products` (1 MiB of float32).
STACK_VALUES = 1 << 18


def shifted_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, pads: Pairs,
                    dilation: tuple[int, ...], out: tuple[int, ...],
                    padding_mode: str) -> tuple[np.ndarray, ShiftedConvCache]:
    """``y`` (N, C_out, *O) and the cache; stride 1, one group (see :func:`use_shifted`)."""
    n = x.shape[0]
    c_out, c_in = weight.shape[:2]
    kernel = weight.shape[2:]
    rows = _grid_rows(x, pads, padding_mode)
    padded = rows.shape[2:]
    x_rows = rows.reshape(c_in, -1)                                    # (C_in, L)
    offsets = tap_offsets(kernel, dilation, padded)
    taps = np.ascontiguousarray(weight.reshape(c_out, c_in, -1).transpose(2, 0, 1))  # (K, C_out, C_in)
    # One example at a time: its outputs lie in its own G = ∏Sp grid columns (all below
    # G − off_K), so a small scratch grid is computed and its outputs copied into y[i].
    # Blocks of examples run on the threads of `parallel`, each with its own scratch grid.
    size = math.prod(padded)
    mat = taps.transpose(1, 0, 2).reshape(c_out, -1)
    dtype = np.result_type(x, weight)
    y = np.empty((n, c_out, *out), dtype=dtype)
    b = None if bias is None else bias.reshape(c_out, *(1,) * len(out))

    def examples(start: int, stop: int) -> None:
        scratch = np.empty((c_out, size), dtype=dtype)
        outputs = scratch.reshape(c_out, *padded)[(slice(None), *map(slice, out))]
        for i in range(start, stop):
            _stacked_products(mat, x_rows[:, i * size:], offsets, scratch, size - offsets[-1])
            if b is None:
                np.copyto(y[i], outputs)
            else:
                np.add(outputs, b, out=y[i])

    parallel.run(examples, n, x_rows.size)
    cache = ShiftedConvCache(x, weight, bias is not None, x.shape, padded, out, offsets,
                             pads, padding_mode)
    return y, cache


def shifted_backward(dy: np.ndarray, cache: ShiftedConvCache, need_input_grad: bool = True
                     ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """``(dx, dweight, dbias)``, as :func:`convlens.functional.conv.conv_backward`."""
    weight, offsets = cache.weight, cache.offsets
    x_rows = _grid_rows(cache.x, cache.pads, cache.padding_mode).reshape(cache.x.shape[1], -1)
    n, c_out = dy.shape[:2]
    c_in = weight.shape[1]
    nd = len(cache.out_spatial)
    grid_size = x_rows.shape[1]
    lead = offsets[-1]  # zeros before dY, so every tap of dX reads inside the buffer
    buffer = np.zeros((c_out, lead + grid_size), dtype=dy.dtype)
    dy_rows = buffer[:, lead:]                                         # dY (C_out, L)
    on_grid = dy_rows.reshape(c_out, n, *cache.padded)
    parallel.copyto(on_grid[(slice(None), slice(None), *map(slice, cache.out_spatial))],
                    dy.swapaxes(0, 1), axis=0)
    length = grid_size - lead
    dweight = np.empty((len(offsets), c_out, c_in), dtype=np.result_type(dy, x_rows))

    def tap_products(start: int, stop: int) -> None:  # one product per tap: inner dimension L′
        for k in range(start, stop):
            np.matmul(dy_rows[:, :length], x_rows[:, offsets[k]:offsets[k] + length].T,
                      out=dweight[k])

    parallel.run(tap_products, len(offsets), x_rows.size)
    dweight = dweight.transpose(1, 2, 0).reshape(weight.shape)
    dbias = dy.sum(axis=(0, *range(2, 2 + nd))) if cache.has_bias else None
    if not need_input_grad:
        return None, dweight, dbias
    taps_t = np.ascontiguousarray(weight.reshape(c_out, c_in, -1).transpose(2, 1, 0))  # W_kᵀ
    mat = taps_t.transpose(1, 0, 2).reshape(c_in, -1)
    backward_offsets = tuple(lead - o for o in offsets)
    size = math.prod(cache.padded)
    dtype = np.result_type(dy, weight)
    zeros = cache.padding_mode == "zeros"
    inner = tuple(slice(lo, lo + s) for s, (lo, _) in zip(cache.x_shape[2:], cache.pads))
    if zeros:  # only the interior goes back to the input
        dx = np.empty(cache.x_shape, dtype=dtype)
    else:
        dx_padded = np.empty((n, c_in, *cache.padded), dtype=dtype)

    def examples(start: int, stop: int) -> None:
        scratch = np.empty((c_in, size), dtype=dtype)  # one example's dX grid
        grid = scratch.reshape(c_in, *cache.padded)
        for i in range(start, stop):
            _stacked_products(mat, buffer[:, i * size:], backward_offsets, scratch, size)
            if zeros:
                np.copyto(dx[i], grid[(slice(None), *inner)])
            else:
                np.copyto(dx_padded[i], grid)

    parallel.run(examples, n, buffer.size)
    if not zeros:
        dx = pad_backward(dx_padded, cache.pads, cache.padding_mode)
    return dx, dweight, dbias
