"""``Rescale``: a fixed per-channel scale and offset (Keras's ``Rescaling(1/255)`` and its
``Normalization`` with a mean and variance). Formulas in :mod:`convlens.functional.rescale`."""

from __future__ import annotations

from typing import Any

import numpy as np

from convlens.functional.rescale import rescale_backward, rescale_forward
from convlens.layers.module import Module


class Rescale(Module):
    """y = x·scale + offset, ``scale`` and ``offset`` each a number or one value per channel
    (axis 1). Shape: (N, C, *) -> the same. Not learned: both are buffers saved with the model.

    >>> import numpy as np, convlens as cl
    >>> cl.Rescale(1 / 255)(np.array([[0.0, 255.0]])).tolist()
    [[0.0, 1.0]]
    """

    def __init__(self, scale: Any = 1.0, offset: Any = 0.0) -> None:
        super().__init__()
        arrays = [np.array(v, dtype=np.float64) for v in (scale, offset)]
        for what, value in zip(("scale", "offset"), arrays):
            if value.ndim > 1 or not np.isfinite(value).all():
                raise ValueError(f"Rescale: {what} must be a finite number or a vector over the "
                                 f"channels, received {np.asarray(value).tolist()!r}")
        if arrays[0].ndim and arrays[1].ndim and arrays[0].shape != arrays[1].shape:
            raise ValueError(f"Rescale: scale {arrays[0].shape} and offset {arrays[1].shape} must "
                             "have the same number of channels")
        self.register_buffer("scale", arrays[0])
        self.register_buffer("offset", arrays[1])
        self._cache: bool | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        channels = max(self.scale.size if self.scale.ndim else 1, self.offset.size if self.offset.ndim else 1)
        if (self.scale.ndim or self.offset.ndim) and (x.ndim < 2 or x.shape[1] != channels):
            raise ValueError(f"Rescale expects an input (N, {channels}, …) with the {channels} "
                             f"channels of its scale and offset, received shape {x.shape}")
        self._cache = True
        return rescale_forward(x, self.scale, self.offset)

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        self._cached()
        return rescale_backward(dy, self.scale) if need_input_grad else None

    def get_config(self) -> dict[str, Any]:
        return {"scale": self.scale.tolist(), "offset": self.offset.tolist()}
