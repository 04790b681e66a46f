"""A fixed per-channel affine map (Keras's ``Rescaling`` and ``Normalization`` layers).

    y[n, c, …] = x[n, c, …] · s[c] + o[c]        dy/dx = s[c]

``s`` and ``o`` are scalars or vectors over the channel axis (axis 1), broadcast over the rest.
"""

from __future__ import annotations

import numpy as np


def channel_view(value: np.ndarray, ndim: int) -> np.ndarray:
    """A scalar as is; a (C,) vector as (C, 1, …, 1) to broadcast over a rank-``ndim`` input."""
    return value if value.ndim == 0 else value.reshape((-1,) + (1,) * (ndim - 2))


def rescale_forward(x: np.ndarray, scale: np.ndarray, offset: np.ndarray) -> np.ndarray:
    s, o = channel_view(scale, x.ndim), channel_view(offset, x.ndim)
    return (x * s.astype(x.dtype) + o.astype(x.dtype)).astype(x.dtype, copy=False)


def rescale_backward(dy: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return dy * channel_view(scale, dy.ndim).astype(dy.dtype)
