"""``LocalResponseNorm``: AlexNet's normalization across neighbouring channels (ONNX ``LRN``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from convlens.functional.local_response_norm import (
    local_response_norm_backward,
    local_response_norm_forward,
)
from convlens.layers.module import Module


class LocalResponseNorm(Module):
    """y_c = x_c · (k + (α/n)·Σ_{c' near c} x_{c'}²)^(−β), the sum over ``size`` = n channels
    centred on c (see :mod:`convlens.functional.local_response_norm`). Arguments as
    ``torch.nn.LocalResponseNorm``; AlexNet used n = 5, α = 1e-4, β = 0.75, k = 2.

    Shape: (N, C, *S) -> (N, C, *S). No parameters.

    >>> import numpy as np, convlens as cl
    >>> cl.LocalResponseNorm(5)(np.ones((2, 8, 4, 4), np.float32)).shape
    (2, 8, 4, 4)
    """

    input_layout = "(N, C, *S)"

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"LocalResponseNorm: size must be a positive int, received {size!r}")
        self.size, self.alpha, self.beta, self.k = int(size), float(alpha), float(beta), float(k)
        self._cache = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim < 3:
            raise ValueError(f"LocalResponseNorm expects input (N, C, *S) with at least one spatial "
                             f"axis, received shape {x.shape}")
        y, self._cache = local_response_norm_forward(x, self.size, self.alpha, self.beta, self.k)
        return y

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        cache = self._cached()
        return local_response_norm_backward(dy, cache) if need_input_grad else None

    def get_config(self) -> dict[str, Any]:
        return {"size": self.size, "alpha": self.alpha, "beta": self.beta, "k": self.k}
