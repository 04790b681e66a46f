"""Pooling layers (max, min, average) for 1-D, 2-D and 3-D inputs.

Pooling sub-samples each channel on its own: a window slides over the input (stride defaults
to the window size, so windows tile; stride < kernel gives overlapping pooling) and keeps the
largest, smallest or mean value. It has no parameters. See :mod:`convlens.functional.pool`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convlens.functional import engine
from convlens.functional.conv_arithmetic import layout
from convlens.functional.loops import LoopPoolCache, pool_backward_loops, pool_forward_loops
from convlens.functional.pool import (
    pool_backward,
    pool_forward,
    pool_hyperparameters,
    winner_indices,
)
from convlens.layers.module import Module


class _PoolNd(Module):
    """Args: kernel_size, stride (default: kernel_size), padding (≤ kernel/2), dilation,
    ceil_mode (round the output size up), count_include_pad (average pooling only),
    return_indices (max and min pooling: also return where each window's winner sits,
    ``y, indices = pool(x)``, as PyTorch's ``return_indices``: int64 of y's shape, the
    row-major flat index within the winner's (n, c) plane of S; indices have no gradient).

    Shape: (N, C, *S) -> (N, C, *O), O_i = ⌊(S_i + 2p_i − d_i·(k_i − 1) − 1)/s_i⌋ + 1.
    """

    ndim = 2
    kind = "max"

    def __init__(
        self,
        kernel_size: int | tuple[int, ...],
        stride: int | tuple[int, ...] | None = None,
        padding: int | tuple[int, ...] = 0,
        dilation: int | tuple[int, ...] = 1,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        return_indices: bool = False,
    ) -> None:
        super().__init__()
        if return_indices and self.kind == "avg":
            raise ValueError(f"{type(self).__name__}: return_indices is for max and min pooling "
                             "(an average has no winning position), received return_indices=True")
        self.return_indices = bool(return_indices)
        self.kernel_size, self.stride, self.padding, self.dilation = pool_hyperparameters(
            type(self).__name__, kernel_size, stride, padding, dilation, self.ndim)
        self.ceil_mode = bool(ceil_mode)
        self.count_include_pad = bool(count_include_pad)
        self._cache = None

    @property
    def input_layout(self) -> str:  # type: ignore[override]
        return layout(self.ndim)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Max/min pooling of integers (ONNX's uint8 MaxPool) keeps their dtype: it pools in a
        float type that holds them exactly (float64 for 32-bit integers; 64-bit ones are exact up
        to 2**53) and casts back; average pooling returns floats."""
        integer, integer_dtype = x.dtype.kind in "iu" and self.kind != "avg", x.dtype
        if integer:
            x = x.astype(np.float32 if x.dtype.itemsize <= 2 else np.float64)
        forward = (pool_forward_loops if engine.loops_enabled() and not self.return_indices
                   else pool_forward)
        y, self._cache = forward(
            x, self.kind, self.kernel_size, self.stride, self.padding, self.dilation,
            self.ceil_mode, self.count_include_pad, nd=self.ndim, name=type(self).__name__,
            **({} if forward is pool_forward_loops else
               {"need_backward": engine.grad_enabled() or self.return_indices}),
        )
        y = y.astype(integer_dtype) if integer else y
        if self.return_indices:
            indices = winner_indices(self._cache)
            if not engine.grad_enabled():
                self._cache = None
            return y, indices
        return y

    def backward(self, dy: Any, need_input_grad: bool = True) -> np.ndarray | None:
        if self.return_indices:
            dy = dy[0]   # the indices have no gradient
        cache = self._cached()
        if not need_input_grad:
            return None
        if isinstance(cache, LoopPoolCache):
            return pool_backward_loops(dy, cache)
        return pool_backward(dy, cache)

    def get_config(self) -> dict[str, Any]:
        def short(t: tuple[int, ...]) -> Any:
            return t[0] if len(set(t)) == 1 else t

        config: dict[str, Any] = {"kernel_size": short(self.kernel_size),
                                  "stride": short(self.stride)}
        if any(self.padding):
            config["padding"] = short(self.padding)
        if self.dilation != (1,) * self.ndim:
            config["dilation"] = short(self.dilation)
        if self.ceil_mode:
            config["ceil_mode"] = True
        if self.kind == "avg" and not self.count_include_pad:
            config["count_include_pad"] = False
        if self.return_indices:
            config["return_indices"] = True
        return config


def _pool_class(kind: str, nd: int, doc: str) -> type[_PoolNd]:
    name = f"{kind.capitalize()}Pool{nd}d"
    return type(name, (_PoolNd,), {"ndim": nd, "kind": kind, "__doc__": doc,
                                   "__module__": __name__})


MaxPool1d = _pool_class("max", 1, "Max pooling over (N, C, L).")
MaxPool2d = _pool_class("max", 2, "Max pooling over (N, C, H, W): keeps each window's largest value.")
MaxPool3d = _pool_class("max", 3, "Max pooling over (N, C, D, H, W).")
AvgPool1d = _pool_class("avg", 1, "Average pooling over (N, C, L).")
AvgPool2d = _pool_class("avg", 2, "Average pooling over (N, C, H, W) (LeNet-5's sub-sampling).")
AvgPool3d = _pool_class("avg", 3, "Average pooling over (N, C, D, H, W).")
MinPool1d = _pool_class("min", 1, "Min pooling over (N, C, L) (the seeds name it; PyTorch has none).")
MinPool2d = _pool_class("min", 2, "Min pooling over (N, C, H, W): keeps each window's smallest value.")
MinPool3d = _pool_class("min", 3, "Min pooling over (N, C, D, H, W).")



class FlatIndices(Module):
    """Per-plane pooling indices (PyTorch's) to indices over the whole input (ONNX's).

    Args:
        spatial_shape: S, the spatial shape of the pooled input.
        column_major: count the plane's positions column-major (ONNX ``storage_order=1``).

    Shape: indices (N, C, *O) -> the same, int64: ``(n·C + c)·∏S + p`` where ``p`` is the
    position in the plane, row-major (as given) or column-major. No gradient.
    """

    def __init__(self, spatial_shape: tuple[int, ...], column_major: bool = False) -> None:
        super().__init__()
        self.spatial_shape = tuple(int(n) for n in spatial_shape)
        self.column_major = bool(column_major)

    def forward(self, indices: np.ndarray) -> np.ndarray:
        plane = indices.astype(np.int64)
        if self.column_major:
            coords = np.unravel_index(plane, self.spatial_shape)
            plane = np.ravel_multi_index(coords, self.spatial_shape, order="F").astype(np.int64)
        n, c = indices.shape[:2]
        offset = np.arange(n * c, dtype=np.int64).reshape((n, c) + (1,) * (indices.ndim - 2))
        return plane + offset * int(np.prod(self.spatial_shape))

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> None:
        return None   # integer positions: nothing to differentiate

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"spatial_shape": list(self.spatial_shape)}
        if self.column_major:
            config["column_major"] = True
        return config
