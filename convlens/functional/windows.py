"""Sliding windows: the im2col step of convolution and pooling, for any number of axes.

``sliding_windows`` returns a *view* (no copy) of every window a kernel visits, built with
``numpy.lib.stride_tricks.sliding_window_view``: for input (N, C, *S) it has shape
(N, C, *O, *K) where O is the output size along each axis and K the kernel size. Stride and
dilation are plain slices of that view. Copying the view into a matrix is im2col; no Python
loop runs over the batch, channels or pixels.

``scatter_windows`` is the reverse (col2im): it adds a gradient laid out per window back onto
the input positions the windows came from. It loops over the kernel offsets only (25 for a
5×5 kernel), as Chainer's ``col2im_cpu`` does, adding one strided slice per offset.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


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
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    axes = tuple(range(xp.ndim - nd, xp.ndim))
    view = sliding_window_view(xp, spans, axis=axes)
    index = (
        (Ellipsis,)
        + tuple(slice(None, None, s) for s in stride)
        + tuple(slice(None, None, d) for d in dilation)
    )
    return view[index]


def scatter_windows(
    dwindows: np.ndarray,
    padded_shape: Sequence[int],
    kernel: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
) -> np.ndarray:
    """Adjoint of :func:`sliding_windows`: (N, C, *O, *K) gradients -> (N, C, *S) sums.

    For every kernel offset ``k`` the slice ``xp[..., k·d : k·d + s·O : s]`` receives
    ``dwindows[..., k]``; overlapping windows add up.
    """
    nd = len(kernel)
    out_shape = dwindows.shape[-2 * nd : -nd]
    dxp = np.zeros(padded_shape, dtype=dwindows.dtype)
    for offset in itertools.product(*(range(k) for k in kernel)):
        target = tuple(
            slice(k * d, k * d + s * (o - 1) + 1, s)
            for k, d, s, o in zip(offset, dilation, stride, out_shape)
        )
        dxp[(Ellipsis, *target)] += dwindows[(Ellipsis, *offset)]
    return dxp
