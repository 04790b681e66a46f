"""``PixelShuffle`` / ``PixelUnshuffle``: trade channels for resolution and back.

A convolution producing C·r² channels followed by ``PixelShuffle(r)`` is the "sub-pixel
convolution" upsampler of ESPCN (Shi et al., 2016). See :mod:`convlens.functional.pixel_shuffle`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convlens.functional.pixel_shuffle import pixel_shuffle, pixel_unshuffle
from convlens.layers.module import Module


def _factor(name: str, arg: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}: {arg} must be a positive int, received {value!r}")
    return int(value)


class PixelShuffle(Module):
    """(*, C·r², H, W) -> (*, C, H·r, W·r), ``y[c, h·r + i, w·r + j] = x[c·r² + i·r + j, h, w]``
    (``torch.nn.PixelShuffle``'s ordering). No parameters.

    >>> import numpy as np, convlens as cl
    >>> cl.PixelShuffle(2)(np.zeros((1, 12, 5, 5))).shape
    (1, 3, 10, 10)
    """

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = _factor(type(self).__name__, "upscale_factor", upscale_factor)
        self._cache: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = pixel_shuffle(x, self.upscale_factor, type(self).__name__)
        self._cache = x.shape
        return y

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        self._cached()
        return pixel_unshuffle(dy, self.upscale_factor) if need_input_grad else None

    def get_config(self) -> dict[str, Any]:
        return {"upscale_factor": self.upscale_factor}


class PixelUnshuffle(Module):
    """(*, C, H·r, W·r) -> (*, C·r², H, W): the inverse of ``PixelShuffle(r)``
    (``torch.nn.PixelUnshuffle``). No parameters.

    >>> import numpy as np, convlens as cl
    >>> cl.PixelUnshuffle(2)(np.zeros((1, 3, 10, 10))).shape
    (1, 12, 5, 5)
    """

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = _factor(type(self).__name__, "downscale_factor", downscale_factor)
        self._cache: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = pixel_unshuffle(x, self.downscale_factor, type(self).__name__)
        self._cache = x.shape
        return y

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        self._cached()
        return pixel_shuffle(dy, self.downscale_factor) if need_input_grad else None

    def get_config(self) -> dict[str, Any]:
        return {"downscale_factor": self.downscale_factor}
