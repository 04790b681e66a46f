"""Global and adaptive pooling layers: a fixed output size whatever the input's size.

``GlobalAvgPool2d`` replaces the flatten + large dense layers of older CNNs (Network in
Network, ResNet): each feature map becomes one number, (N, C, H, W) -> (N, C), so the network
accepts any image size. ``AdaptiveAvgPool2d((7, 7))`` (VGG, ResNet in torchvision) pools any
input to 7×7. See :mod:`convlens.functional.global_pool` for the windows and the gradients.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convlens.functional.conv_arithmetic import layout
from convlens.functional.global_pool import (
    AdaptivePoolCache,
    GlobalPoolCache,
    adaptive_pool_backward,
    adaptive_pool_forward,
    check_pool_input,
    global_pool_backward,
    global_pool_forward,
    resolve_output_size,
)
from convlens.layers.module import Module


class _GlobalPoolNd(Module):
    """Args: keepdims: keep the pooled axes as size 1, (N, C, 1, …), instead of dropping them.

    Shape: (N, C, *S) -> (N, C), or (N, C, 1, …) with ``keepdims=True``.
    """

    ndim = 2
    kind = "avg"

    @property
    def input_layout(self) -> str:  # type: ignore[override]
        return layout(self.ndim)

    def __init__(self, keepdims: bool = False) -> None:
        super().__init__()
        self.keepdims = bool(keepdims)
        self._cache: GlobalPoolCache | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = check_pool_input(type(self).__name__, x, self.ndim)
        y, self._cache = global_pool_forward(x, self.kind, self.keepdims)
        return y

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        cache = self._cached()
        return global_pool_backward(dy, cache) if need_input_grad else None

    def get_config(self) -> dict[str, Any]:
        return {"keepdims": True} if self.keepdims else {}


class _AdaptivePoolNd(Module):
    """Args: output_size: O, an int (the same on every axis) or a tuple; ``None`` on an
    axis keeps the input's size there.

    Shape: (N, C, *S) -> (N, C, *O). Output i along an axis of size S pools the input
    window ⌊i·S/O⌋ … ⌈(i + 1)·S/O⌉ − 1 (as PyTorch; windows overlap when O does not divide S).
    """

    ndim = 2
    kind = "avg"

    @property
    def input_layout(self) -> str:  # type: ignore[override]
        return layout(self.ndim)

    def __init__(self, output_size: int | None | tuple[int | None, ...]) -> None:
        super().__init__()
        if isinstance(output_size, (list, tuple)):
            if len(output_size) != self.ndim:
                raise ValueError(
                    f"{type(self).__name__}: output_size must be an int or a tuple of "
                    f"{self.ndim} ints, received {output_size!r}"
                )
            output_size = tuple(None if o is None else int(o) for o in output_size)
        elif output_size is not None:
            output_size = int(output_size)
        resolve_output_size(type(self).__name__, output_size, (1,) * self.ndim)  # validate
        self.output_size = output_size
        self._cache: AdaptivePoolCache | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        name = type(self).__name__
        x = check_pool_input(name, x, self.ndim)
        y, self._cache = adaptive_pool_forward(x, self.kind, self.output_size, name)
        return y

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        cache = self._cached()
        return adaptive_pool_backward(dy, cache) if need_input_grad else None

    def get_config(self) -> dict[str, Any]:
        return {"output_size": self.output_size}


class GlobalAvgPool1d(_GlobalPoolNd):
    """Mean of each channel: (N, C, L) -> (N, C)."""

    ndim = 1
    kind = "avg"


class GlobalAvgPool2d(_GlobalPoolNd):
    """Mean of each feature map: (N, C, H, W) -> (N, C) (the head of NiN and ResNet)."""

    ndim = 2
    kind = "avg"


class GlobalAvgPool3d(_GlobalPoolNd):
    """Mean of each channel: (N, C, D, H, W) -> (N, C)."""

    ndim = 3
    kind = "avg"


class GlobalMaxPool1d(_GlobalPoolNd):
    """Maximum of each channel: (N, C, L) -> (N, C) (the max-over-time pooling of text CNNs)."""

    ndim = 1
    kind = "max"


class GlobalMaxPool2d(_GlobalPoolNd):
    """Maximum of each feature map: (N, C, H, W) -> (N, C)."""

    ndim = 2
    kind = "max"


class GlobalMaxPool3d(_GlobalPoolNd):
    """Maximum of each channel: (N, C, D, H, W) -> (N, C)."""

    ndim = 3
    kind = "max"


class AdaptiveAvgPool1d(_AdaptivePoolNd):
    """Average pooling of (N, C, L) to a fixed length O (``torch.nn.AdaptiveAvgPool1d``)."""

    ndim = 1
    kind = "avg"


class AdaptiveAvgPool2d(_AdaptivePoolNd):
    """Average pooling of (N, C, H, W) to a fixed size (``torch.nn.AdaptiveAvgPool2d``)."""

    ndim = 2
    kind = "avg"


class AdaptiveAvgPool3d(_AdaptivePoolNd):
    """Average pooling of (N, C, D, H, W) to a fixed size (``torch.nn.AdaptiveAvgPool3d``)."""

    ndim = 3
    kind = "avg"


class AdaptiveMaxPool1d(_AdaptivePoolNd):
    """Max pooling of (N, C, L) to a fixed length O (``torch.nn.AdaptiveMaxPool1d``)."""

    ndim = 1
    kind = "max"


class AdaptiveMaxPool2d(_AdaptivePoolNd):
    """Max pooling of (N, C, H, W) to a fixed size (``torch.nn.AdaptiveMaxPool2d``)."""

    ndim = 2
    kind = "max"


class AdaptiveMaxPool3d(_AdaptivePoolNd):
    """Max pooling of (N, C, D, H, W) to a fixed size (``torch.nn.AdaptiveMaxPool3d``)."""

    ndim = 3
    kind = "max"
