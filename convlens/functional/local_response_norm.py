"""Local response normalization (AlexNet, Krizhevsky et al. 2012; ONNX ``LRN``).

Each value is divided by a power of the energy of its neighbours across channels::

    s_c = k + (α/n) · Σ_{c' ∈ W(c)} x_{c'}²          W(c) = [c − ⌊n/2⌋, c + ⌊(n−1)/2⌋]
    y_c = x_c · s_c^(−β)

(channels outside 0 … C−1 count as zero). For odd n the window is centred, as in PyTorch and
ONNX; for even n PyTorch puts the extra channel before c (this code does too) and the ONNX
specification after it. The derivative: x_c enters
its own y_c and, through s, every y_j whose window holds c::

    dL/dx_c = dy_c · s_c^(−β) − (2αβ/n) · x_c · Σ_{j : c ∈ W(j)} dy_j · x_j · s_j^(−β−1)

and c ∈ W(j) ⟺ j ∈ [c − ⌊(n−1)/2⌋, c + ⌊n/2⌋]: the same window, mirrored.
"""

from __future__ import annotations

import numpy as np


def window_sum(z: np.ndarray, before: int, after: int) -> np.ndarray:
    """Σ_{c' = c − before}^{c + after} z_{c'} along axis 1, zeros outside (cumulative sums)."""
    c = z.shape[1]
    pad = [(0, 0)] * z.ndim
    pad[1] = (before + 1, after)
    cumulative = np.cumsum(np.pad(z, pad), axis=1)
    upper = cumulative[:, before + after + 1: before + after + 1 + c]
    lower = cumulative[:, :c]
    return upper - lower


def local_response_norm_forward(x: np.ndarray, size: int, alpha: float = 1e-4,
                                beta: float = 0.75, k: float = 1.0) -> tuple[np.ndarray, tuple]:
    """(N, C, *S) -> (N, C, *S); see the module docstring for the formula."""
    before, after = size // 2, (size - 1) // 2
    s = k + (alpha / size) * window_sum(x * x, before, after)
    scale = s ** (-beta)
    y = (x * scale).astype(x.dtype, copy=False)
    return y, (x, s, scale, size, alpha, beta)


def local_response_norm_backward(dy: np.ndarray, cache: tuple) -> np.ndarray:
    x, s, scale, size, alpha, beta = cache
    before, after = size // 2, (size - 1) // 2
    inner = dy * x * scale / s                       # dy_j · x_j · s_j^(−β−1)
    spread = window_sum(inner, after, before)        # over the mirrored window
    dx = dy * scale - (2 * alpha * beta / size) * x * spread
    return dx.astype(dy.dtype, copy=False)
