"""``Permute``: reorder the axes of the data (e.g. (N, L, D) -> (N, D, L) for Conv1d)."""

from __future__ import annotations

from typing import Any

import numpy as np

from convlens.layers.module import Module


class Permute(Module):
    """``y = x.transpose(dims)``, like ``torch.Tensor.permute``: ``dims`` names every axis,
    the batch axis included (keep ``dims[0] = 0`` to leave the batch where it is).

    Shape: (d_0, …, d_k) -> (d_dims[0], …, d_dims[k]). Backward applies the inverse
    permutation. The output is a contiguous copy, so the next layer sees an ordinary array.

    >>> import numpy as np, convlens as cl
    >>> cl.Permute(0, 2, 1)(np.zeros((8, 50, 128))).shape   # (N, L, D) -> (N, D, L)
    (8, 128, 50)
    """

    def __init__(self, *dims: int) -> None:
        super().__init__()
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        dims = tuple(int(d) for d in dims)
        if sorted(dims) != list(range(len(dims))):
            raise ValueError(
                f"Permute expects a permutation of 0 … {len(dims) - 1} (every axis once), "
                f"received {dims}"
            )
        self.dims = dims
        self._inverse = tuple(int(i) for i in np.argsort(dims))
        self._cache: bool | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != len(self.dims):
            raise ValueError(
                f"Permute{self.dims} expects a {len(self.dims)}-D input, received shape "
                f"{x.shape} ({x.ndim}-D)"
            )
        self._cache = True
        return np.ascontiguousarray(x.transpose(self.dims))

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        self._cached()
        return np.ascontiguousarray(dy.transpose(self._inverse)) if need_input_grad else None

    def get_config(self) -> dict[str, Any]:
        return {"dims": self.dims}

    @classmethod
    def from_config(cls, config: dict[str, Any], where: str = "model") -> Permute:
        if "dims" not in config:
            raise ValueError("missing key 'dims'")
        return cls(*config["dims"])
