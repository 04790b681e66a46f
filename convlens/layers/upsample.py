"""``Upsample``: resize the spatial axes by nearest or (bi/tri)linear interpolation, as
``torch.nn.Upsample``. Formulas in :mod:`convlens.functional.upsample`."""

from __future__ import annotations

from typing import Any

import numpy as np

from convlens.functional.upsample import (
    LINEAR_MODES,
    MODES,
    AxisResize,
    axis_resize,
    upsample_backward,
    upsample_forward,
)
from convlens.layers.module import Module

_SPATIAL = {"linear": 1, "bilinear": 2, "trilinear": 3}


def _per_axis(value: Any, n: int, name: str, arg: str, kind: type) -> tuple[Any, ...]:
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * n
    if len(values) != n or any(isinstance(v, bool) or not isinstance(v, (int, float, np.number))
                               or v <= 0 for v in values):
        raise ValueError(f"{name}: {arg} must be a positive number or one per spatial axis "
                         f"({n}), received {value!r}")
    return tuple(kind(v) for v in values)


class Upsample(Module):
    """(N, C, *S) -> (N, C, *S'), S of 1 to 3 spatial axes. Give exactly one of ``size``
    (S', an int or one per axis) and ``scale_factor`` (S'ᵢ = ⌊Sᵢ·fᵢ⌋). ``mode``: ``nearest``,
    or ``linear`` / ``bilinear`` / ``trilinear`` for 1 / 2 / 3 spatial axes, with
    ``align_corners`` (default False) as in PyTorch. No parameters.

    >>> import numpy as np, convlens as cl
    >>> cl.Upsample(scale_factor=2)(np.zeros((1, 3, 4, 5))).shape
    (1, 3, 8, 10)
    """

    def __init__(self, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                 align_corners: bool | None = None) -> None:
        super().__init__()
        name = type(self).__name__
        if mode not in MODES:
            raise ValueError(f"{name}: mode must be one of {', '.join(MODES)}, received {mode!r}")
        if (size is None) == (scale_factor is None):
            raise ValueError(f"{name}: give exactly one of size and scale_factor, received "
                             f"size={size!r}, scale_factor={scale_factor!r}")
        if align_corners is not None and mode not in LINEAR_MODES:
            raise ValueError(f"{name}: align_corners applies to the linear modes only, "
                             f"received mode={mode!r} with align_corners={align_corners!r}")
        self.size = tuple(size) if isinstance(size, (list, tuple)) else size
        self.scale_factor = tuple(scale_factor) if isinstance(scale_factor, (list, tuple)) else scale_factor
        self.mode = mode
        self.align_corners = bool(align_corners) if mode in LINEAR_MODES else None
        self._cache: list[AxisResize] | None = None

    def _plan(self, x: np.ndarray) -> list[AxisResize]:
        name = type(self).__name__
        n = x.ndim - 2
        if not 1 <= n <= 3 or (self.mode in _SPATIAL and _SPATIAL[self.mode] != n):
            need = f"{_SPATIAL[self.mode]}" if self.mode in _SPATIAL else "1 to 3"
            raise ValueError(f"{name}(mode={self.mode!r}) expects an input (N, C, *spatial) with "
                             f"{need} spatial axes, received shape {x.shape}")
        spatial = x.shape[2:]
        if self.size is not None:
            sizes = _per_axis(self.size, n, name, "size", int)
            factors: tuple[Any, ...] = (None,) * n
        else:
            factors = _per_axis(self.scale_factor, n, name, "scale_factor", float)
            sizes = tuple(int(np.floor(s * f)) for s, f in zip(spatial, factors))
        return [axis_resize(s_in, s_out, self.mode, bool(self.align_corners), f)
                for s_in, s_out, f in zip(spatial, sizes, factors)]

    def forward(self, x: np.ndarray) -> np.ndarray:
        plan = self._plan(x)
        self._cache = plan
        return upsample_forward(x, plan)

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        plan = self._cached()
        return upsample_backward(dy, plan) if need_input_grad else None

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"mode": self.mode}
        for key in ("size", "scale_factor", "align_corners"):
            value = getattr(self, key)
            if value is not None:
                config[key] = list(value) if isinstance(value, tuple) else value
        return config
