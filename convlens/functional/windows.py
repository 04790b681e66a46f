"""Sliding windows: the im2col step of convolution and pooling, for any number of axes.

Two views of the same geometry. For a padded input (N, C, *S), kernel K, stride s and
dilation d, output position o and kernel tap k meet at input position ``o·s + k·d``.

``sliding_windows`` returns every window at once as a *view* (no copy) of shape
(N, C, *O, *K), made with ``numpy.lib.stride_tricks.as_strided`` (what ``sliding_window_view`` does, with
less overhead per call); transposing and
reshaping it copies it once into an im2col matrix. No Python loop runs over the batch,
the channels or the pixels.

``window_offsets`` goes the other way round, one kernel tap at a time: for tap k it yields
the strided slice ``x[..., k·d : k·d + s·(O − 1) + 1 : s]``, i.e. the input value that tap
sees for *every* output position at once. Loops over the taps (25 for a 5×5 kernel) are how
col2im adds gradients back (Chainer's ``col2im_cpu``) and how pooling takes its maxima.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided


def sliding_windows(
    xp: np.ndarray,
    kernel: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
) -> np.ndarray:
    """View of the windows of the (already padded) ``xp``: (N, C, *S) -> (N, C, *O, *K).

    ``view[n, c, o1, …, k1, …] = xp[n, c, o1·s1 + k1·d1, …]``.
    """
    nd = len(kernel)
    spatial = xp.shape[-nd:]
    axis_strides = xp.strides[-nd:]
    out = tuple((n - d * (k - 1) - 1) // s + 1
                for n, k, s, d in zip(spatial, kernel, stride, dilation))
    # the same view numpy's sliding_window_view + strided slicing gives, built directly
    # (read-only, so no write can reach overlapping windows)
    shape = (*xp.shape[:-nd], *out, *kernel)
    strides = (*xp.strides[:-nd], *(st * s for st, s in zip(axis_strides, stride)),
               *(st * d for st, d in zip(axis_strides, dilation)))
    if not xp.flags.c_contiguous:
        return as_strided(xp, shape=shape, strides=strides, writeable=False)
    # a contiguous array is a buffer: the ndarray constructor makes the view ~3× faster than
    # as_strided (microseconds that count at batch size 1)
    view = np.ndarray(shape, xp.dtype, xp, 0, strides)
    view.flags.writeable = False
    return view


def window_offsets(
    kernel: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    out_shape: Sequence[int],
) -> tuple[tuple[int, tuple[int, ...], tuple[slice, ...]], ...]:
    """For every kernel tap: (flat tap index, tap, slices of the padded spatial axes).

    ``xp[(..., *slices)]`` has the output's spatial shape: entry o is the input value that
    tap meets at output position o. The tuple is built once per geometry and shared (it
    matters at batch size 1), so several threads may walk it.
    """
    return _tap_slices(tuple(kernel), tuple(stride), tuple(dilation), tuple(out_shape))


@functools.lru_cache(maxsize=512)
def _tap_slices(
    kernel: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...],
    out_shape: tuple[int, ...],
) -> tuple[tuple[int, tuple[int, ...], tuple[slice, ...]], ...]:
    """The list ``window_offsets`` walks, built once per geometry (it matters at batch 1)."""
    taps = itertools.product(*(range(k) for k in kernel))
    return tuple(
        (index, tap, tuple(slice(k * d, k * d + s * (o - 1) + 1, s)
                           for k, d, s, o in zip(tap, dilation, stride, out_shape)))
        for index, tap in enumerate(taps)
    )
