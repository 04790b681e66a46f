"""Upsampling (resizing) of the spatial axes, as ``torch.nn.functional.interpolate`` computes it.

Every mode is separable: the output along one spatial axis of size n_out reads the input of
size n_in through an interpolation matrix M (n_out × n_in), and the axes are resized one
after another. With s the scale (1/scale_factor when a factor is given, else n_in/n_out):

- ``nearest``: y[o] = x[i(o)], i(o) = min(⌊o·s⌋, n_in − 1)  (PyTorch's legacy nearest).
- ``linear`` / ``bilinear`` / ``trilinear``: with the source position
  p(o) = (o + ½)·s − ½ clipped below at 0 (``align_corners=False``), or
  p(o) = o·(n_in − 1)/(n_out − 1) (``align_corners=True``),
  y[o] = (1 − λ)·x[i₀] + λ·x[i₁], i₀ = ⌊p⌋, i₁ = min(i₀ + 1, n_in − 1), λ = p − i₀.

Backward: dx = Mᵀ·dy along each axis, in reverse order (each axis is a linear map).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LINEAR_MODES = ("linear", "bilinear", "trilinear")
MODES = ("nearest", *LINEAR_MODES)


@dataclass(frozen=True)
class AxisResize:
    """How one axis is resized: output o reads ``(1 − λ[o])·x[low[o]] + λ[o]·x[high[o]]``."""

    size_in: int
    low: np.ndarray
    high: np.ndarray
    weight: np.ndarray  # λ, as float64

    def matrix(self) -> np.ndarray:
        """The interpolation matrix M (n_out × n_in)."""
        m = np.zeros((len(self.low), self.size_in))
        rows = np.arange(len(self.low))
        np.add.at(m, (rows, self.low), 1.0 - self.weight)
        np.add.at(m, (rows, self.high), self.weight)
        return m


def axis_resize(size_in: int, size_out: int, mode: str, align_corners: bool,
                scale_factor: float | None) -> AxisResize:
    """The source indices and weights of one axis (formulas in the module docstring)."""
    out = np.arange(size_out, dtype=np.float64)
    scale = 1.0 / scale_factor if scale_factor else size_in / size_out
    if mode == "nearest":
        # in float32, as PyTorch computes it, so ⌊o·s⌋ rounds the same way at the edges
        s32 = (np.float32(1.0) / np.float32(scale_factor) if scale_factor
               else np.float32(size_in) / np.float32(size_out))
        index = np.minimum(np.floor(out.astype(np.float32) * s32).astype(np.int64), size_in - 1)
        if size_out == 2 * size_in:
            index = np.arange(size_out) // 2
        return AxisResize(size_in, index, index, np.zeros(size_out))
    if align_corners:
        source = out * ((size_in - 1) / (size_out - 1) if size_out > 1 else 0.0)
    else:
        source = np.maximum((out + 0.5) * scale - 0.5, 0.0)
    low = np.minimum(np.floor(source).astype(np.int64), size_in - 1)
    high = np.minimum(low + 1, size_in - 1)
    return AxisResize(size_in, low, high, source - low)


def upsample_forward(x: np.ndarray, plan: list[AxisResize]) -> np.ndarray:
    """(N, C, *spatial_in) -> (N, C, *spatial_out): ``plan`` holds one resize per spatial axis."""
    y = x
    for k, axis in enumerate(plan):
        at = 2 + k
        if axis.weight.any():
            lam = axis.weight.astype(x.dtype).reshape((-1,) + (1,) * (x.ndim - at - 1))
            y = y.take(axis.low, axis=at) * (1 - lam) + y.take(axis.high, axis=at) * lam
        else:  # nearest, or a linear axis whose samples all fall on input points
            y = y.take(axis.low, axis=at)
    return y


def upsample_backward(dy: np.ndarray, plan: list[AxisResize]) -> np.ndarray:
    """dx = Mᵀ·dy along each spatial axis, last axis first."""
    dx = dy
    for k in reversed(range(len(plan))):
        at = 2 + k
        m = plan[k].matrix().astype(dy.dtype)
        # (…, n_out at `at`, …) · M (n_out, n_in) -> n_in moved back to `at`
        dx = np.moveaxis(np.tensordot(dx, m, axes=([at], [0])), -1, at)
    return np.ascontiguousarray(dx)
