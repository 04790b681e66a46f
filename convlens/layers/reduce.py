"""``Reduce``: the mean or the maximum over chosen axes (ONNX's ReduceMean / ReduceMax).

Global pooling (:mod:`convlens.layers.global_pool`) reduces all the spatial axes of
(N, C, *S); ``Reduce`` takes any axes but the batch axis. Formulas and gradients:
:mod:`convlens.functional.reduce`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convlens.functional.reduce import REDUCE_KINDS, reduce_backward, reduce_forward
from convlens.layers.module import Module


class Reduce(Module):
    """Args: kind: ``"mean"`` or ``"max"``; dims: the axes to reduce, counting the batch axis
    (as in ``torch.amax(x, dims)``; 0 is refused, negative counts from the end); keepdims: keep
    them as size 1.

    Shape: (N, *S) -> (N, *S without dims), or with size 1 at dims when ``keepdims``.
    """

    def __init__(self, kind: str, dims: Any, keepdims: bool = True) -> None:
        super().__init__()
        if kind not in REDUCE_KINDS:
            raise ValueError(f"Reduce: kind must be one of {REDUCE_KINDS}, received {kind!r}")
        dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
        if not dims or any(int(d) == 0 for d in dims):
            raise ValueError(f"Reduce: dims must name one or more axes other than the batch axis 0, "
                             f"received {dims!r}")
        self.kind, self.dims, self.keepdims = kind, tuple(int(d) for d in dims), bool(keepdims)
        self._cache: Any = None

    @property
    def takes_bool(self) -> bool:  # type: ignore[override]
        """The maximum of booleans is their logical or: bool in, bool out."""
        return self.kind == "max"

    def _axes(self, x: np.ndarray) -> tuple[int, ...]:
        if any(not -x.ndim <= d < x.ndim or d % x.ndim == 0 for d in self.dims):
            raise ValueError(f"Reduce: dims {self.dims} must name axes 1 to {x.ndim - 1} of the input "
                             f"(or count back from the end, not reaching the batch axis), received "
                             f"shape {x.shape}")
        return tuple(sorted({d % x.ndim for d in self.dims}))

    def forward(self, x: np.ndarray) -> np.ndarray:
        axes = self._axes(x)
        y = reduce_forward(x, self.kind, axes, self.keepdims)
        self._cache = (x, y, axes)
        return y

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        x, y, axes = self._cached()
        return reduce_backward(dy, x, y, self.kind, axes, self.keepdims) if need_input_grad else None

    def get_config(self) -> dict[str, Any]:
        return {"kind": self.kind, "dims": list(self.dims), "keepdims": self.keepdims}

    @classmethod
    def from_config(cls, config: dict[str, Any], where: str = "model") -> Reduce:
        missing = [key for key in ("kind", "dims") if key not in config]
        if missing:
            raise ValueError(f"missing key {missing[0]!r}")
        return cls(config["kind"], config["dims"], config.get("keepdims", True))
