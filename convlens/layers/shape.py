"""Layers that only change the shape of the data: ``Flatten`` and ``Reshape``."""

from __future__ import annotations

from typing import Any

import numpy as np

from convlens.layers.module import Module


class Flatten(Module):
    """(N, C, H, W) -> (N, C·H·W): order-3 feature maps become one vector per example.

    Like ``torch.nn.Flatten(start_dim=1, end_dim=-1)``. No parameters; backward reshapes back.
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)
        self._cache: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._cache = x.shape
        start = self.start_dim % x.ndim
        end = self.end_dim % x.ndim
        return x.reshape(*x.shape[:start], -1, *x.shape[end + 1:])

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        shape = self._cached()
        return dy.reshape(shape) if need_input_grad else None

    def get_config(self) -> dict[str, Any]:
        return {} if (self.start_dim, self.end_dim) == (1, -1) else {
            "start_dim": self.start_dim, "end_dim": self.end_dim}


class Reshape(Module):
    """(N, *) -> (N, *shape); ``shape`` excludes the batch axis and may hold one -1."""

    def __init__(self, *shape: int) -> None:
        super().__init__()
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        self.shape = tuple(int(s) for s in shape)
        self._cache: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._cache = x.shape
        try:
            return x.reshape(x.shape[0], *self.shape)
        except ValueError:
            known = int(np.prod([n for n in self.shape if n != -1]))
            need = f"a multiple of {known}" if -1 in self.shape else str(known)
            raise ValueError(
                f"Reshape{self.shape}: expected an input with {need} values per example to reshape "
                f"to (N, {', '.join(map(str, self.shape))}), received shape {x.shape} "
                f"({int(np.prod(x.shape[1:]))} values per example)"
            ) from None

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        shape = self._cached()
        return dy.reshape(shape) if need_input_grad else None

    def get_config(self) -> dict[str, Any]:
        return {"shape": self.shape}

    @classmethod
    def from_config(cls, config: dict[str, Any], where: str = "model") -> Reshape:
        if "shape" not in config:
            raise ValueError("missing key 'shape'")
        return cls(*config["shape"])
