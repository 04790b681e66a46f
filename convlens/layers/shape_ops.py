"""Layers that pad or select values along the axes after the batch: ``Pad``, ``Slice``,
``Gather`` (importers map ONNX's Pad, Slice, Split and Gather onto them).

The batch axis (axis 0) is never touched; every other axis is counted as in the full array
(axis 1 is the channel axis of (N, C, *S)).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convlens.functional.padding import pad, pad_backward
from convlens.layers.module import Module

# ONNX's mode names, and convlens's own (functional.padding) they mean
_MODES = {"constant": "zeros", "zeros": "zeros", "reflect": "reflect", "edge": "replicate",
          "replicate": "replicate", "wrap": "circular", "circular": "circular"}


class Pad(Module):
    """Pad the trailing ``len(pads)`` axes: ``pads`` = ((before, after), …), one pair per axis
    counted from the end (leave the batch axis out, or give it (0, 0)).

    Modes: ``'constant'`` (``value``), ``'reflect'``, ``'edge'`` (``'replicate'``), ``'wrap'``
    (``'circular'``). Shape: each padded axis grows by before + after. Backward hands each padded
    position's gradient to the input position it was copied from.

    >>> import numpy as np, convlens as cl
    >>> cl.Pad([(1, 2), (0, 1)], value=-1.0)(np.zeros((2, 3, 4))).shape
    (2, 6, 5)
    """

    def __init__(self, pads: Any, mode: str = "constant", value: float = 0.0) -> None:
        super().__init__()
        pairs = tuple((int(lo), int(hi)) for lo, hi in pads)
        if any(lo < 0 or hi < 0 for lo, hi in pairs):
            raise ValueError(f"Pad: pads must be >= 0, received {pairs}")
        if mode not in _MODES:
            raise ValueError(f"Pad: mode must be one of {sorted(_MODES)}, received {mode!r}")
        self.pads, self.mode, self.value = pairs, mode, float(value)
        self._cache: bool | None = None

    def _pairs(self, ndim: int) -> tuple[tuple[int, int], ...]:
        if len(self.pads) > ndim - 1 and any(lo or hi for lo, hi in self.pads[: len(self.pads) - ndim + 1]):
            raise ValueError(f"Pad: {len(self.pads)} pairs for a {ndim}-D input would pad the batch axis")
        return self.pads[-(ndim - 1):] if len(self.pads) > ndim - 1 else self.pads

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._cache = True
        return pad(x, self._pairs(x.ndim), _MODES[self.mode], self.value)

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        self._cached()
        if not need_input_grad:
            return None
        return np.ascontiguousarray(pad_backward(dy, self._pairs(dy.ndim), _MODES[self.mode]))

    def get_config(self) -> dict[str, Any]:
        return {"pads": [list(p) for p in self.pads], "mode": self.mode, "value": self.value}


class Slice(Module):
    """``y = x[:, s_1, s_2, …]``: one slice (start, stop, step) per axis after the batch, given
    as Python ``slice`` objects or ``[start, stop, step]`` lists (``None`` keeps an axis whole).

    Backward scatters ``dy`` into zeros of the input's shape.

    >>> import numpy as np, convlens as cl
    >>> cl.Slice([slice(0, 2), slice(None, None, 2)])(np.zeros((5, 3, 6))).shape
    (5, 2, 3)
    """

    def __init__(self, index: Any) -> None:
        super().__init__()
        slices = []
        for item in index:
            if item is None:
                item = slice(None)
            elif not isinstance(item, slice):
                item = slice(*item)
            if item.step == 0:
                raise ValueError("Slice: a step of 0 selects nothing")
            slices.append(item)
        self.index = tuple(slices)
        self._cache: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        if len(self.index) > x.ndim - 1:
            raise ValueError(f"Slice over {len(self.index)} axes expects at least {len(self.index) + 1}-D "
                             f"input (N, …), received shape {x.shape}")
        self._cache = x.shape
        return np.ascontiguousarray(x[(slice(None), *self.index)])

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        shape = self._cached()
        if not need_input_grad:
            return None
        dx = np.zeros(shape, dtype=dy.dtype)
        dx[(slice(None), *self.index)] = dy
        return dx

    def get_config(self) -> dict[str, Any]:
        return {"index": [[s.start, s.stop, s.step] for s in self.index]}


class Gather(Module):
    """``y = take(x, indices, axis)``: pick entries along one axis after the batch (ONNX
    ``Gather`` with constant indices). Shape: axis ``axis`` of length n becomes
    ``indices.shape``. Backward adds each ``dy`` entry back at the index it came from (an index
    picked twice gets the sum)."""

    def __init__(self, indices: Any, axis: int = 1) -> None:
        super().__init__()
        self.indices = np.asarray(indices, dtype=np.int64)
        self.axis = int(axis)
        if self.axis == 0:
            raise ValueError("Gather: axis 0 is the batch axis; give an axis >= 1")
        self._cache: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._cache = x.shape
        return np.take(x, self.indices, axis=self.axis)

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        shape = self._cached()
        if not need_input_grad:
            return None
        axis = self.axis % len(shape)
        dx = np.zeros(shape, dtype=dy.dtype)
        moved = np.moveaxis(dx, axis, 0)
        k = self.indices.ndim
        grad = np.moveaxis(dy, tuple(range(axis, axis + k)), tuple(range(k)))
        np.add.at(moved, self.indices, grad)
        return dx

    def get_config(self) -> dict[str, Any]:
        return {"indices": self.indices.tolist(), "axis": self.axis}
