"""Activation layers: element-wise nonlinearities and softmax, with no parameters.

Each layer calls the forward/backward pair of :mod:`convlens.functional.activation`, where
the formulas and derivatives are written next to the code.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convlens.functional import activation as F
from convlens.functional import engine
from convlens.layers.module import Module
from convlens.validate import finite_number


class _Activation(Module):
    """Shape: any -> the same shape."""

    def __init__(self) -> None:
        super().__init__()
        self._cache = None

    def _forward(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        raise NotImplementedError

    def _backward(self, dy: np.ndarray, cache: Any) -> np.ndarray:
        raise NotImplementedError

    def forward(self, x: np.ndarray) -> np.ndarray:
        y, self._cache = self._forward(x)
        return y

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        cache = self._cached()
        return self._backward(dy, cache) if need_input_grad else None


class ReLU(_Activation):
    """max(0, x); gradient 1 where x > 0, else 0."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        if engine.grad_enabled():
            y, self._cache = F.relu_forward(x)
            return y
        self._cache = None  # inference (cl.no_grad): no mask to keep
        return np.maximum(x, 0)

    def _forward(self, x):
        return F.relu_forward(x)

    def _backward(self, dy, cache):
        return F.relu_backward(dy, cache)


class LeakyReLU(_Activation):
    """x if x > 0 else negative_slope·x."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = finite_number(type(self).__name__, "negative_slope", negative_slope)

    def _forward(self, x):
        return F.leaky_relu_forward(x, self.negative_slope)

    def _backward(self, dy, cache):
        return F.leaky_relu_backward(dy, cache)

    def get_config(self):
        return {"negative_slope": self.negative_slope}


class Sigmoid(_Activation):
    """1 / (1 + e^(−x))."""

    def _forward(self, x):
        return F.sigmoid_forward(x)

    def _backward(self, dy, cache):
        return F.sigmoid_backward(dy, cache)


class Tanh(_Activation):
    """tanh(x)."""

    def _forward(self, x):
        return F.tanh_forward(x)

    def _backward(self, dy, cache):
        return F.tanh_backward(dy, cache)


class SiLU(_Activation):
    """x·σ(x), also called Swish."""

    def _forward(self, x):
        return F.silu_forward(x)

    def _backward(self, dy, cache):
        return F.silu_backward(dy, cache)


Swish = SiLU


class ELU(_Activation):
    """x if x > 0 else α(eˣ − 1)."""

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = finite_number(type(self).__name__, "alpha", alpha)

    def _forward(self, x):
        return F.elu_forward(x, self.alpha)

    def _backward(self, dy, cache):
        return F.elu_backward(dy, cache)

    def get_config(self):
        return {"alpha": self.alpha}


class GELU(_Activation):
    """x·Φ(x) (``approximate='tanh'`` for the tanh formula)."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', received {approximate!r}")
        self.approximate = approximate

    def _forward(self, x):
        return F.gelu_forward(x, self.approximate)

    def _backward(self, dy, cache):
        return F.gelu_backward(dy, cache)

    def get_config(self):
        return {"approximate": self.approximate} if self.approximate != "none" else {}


class Softmax(_Activation):
    """e^(x_i) / Σ_j e^(x_j) along ``dim`` (default 1: the class / channel axis)."""

    def __init__(self, dim: int = 1) -> None:
        super().__init__()
        self.dim = int(dim)

    @property
    def input_layout(self) -> str:  # type: ignore[override]
        return f"(N, …) with an axis {self.dim} to normalize over"

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not -x.ndim <= self.dim < x.ndim:
            raise ValueError(f"{type(self).__name__}(dim={self.dim}) expects an input with an axis "
                             f"{self.dim} to normalize over, received shape {x.shape} ({x.ndim}-D)")
        return super().forward(x)

    def _forward(self, x):
        return F.softmax_forward(x, self.dim)

    def _backward(self, dy, cache):
        return F.softmax_backward(dy, cache)

    def get_config(self):
        return {"dim": self.dim}


class LogSoftmax(Softmax):
    """log softmax along ``dim`` (pair it with ``NLLLoss``)."""

    def _forward(self, x):
        return F.log_softmax_forward(x, self.dim)

    def _backward(self, dy, cache):
        return F.log_softmax_backward(dy, cache)


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. a residual shortcut)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        return dy if need_input_grad else None
