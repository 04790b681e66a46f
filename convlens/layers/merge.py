"""Merge layers: one output from several tensors (the joins of a graph model).

``Add``, ``Multiply``, ``Maximum``, ``Minimum``, ``Mean`` and ``Concatenate`` take any number of
inputs; ``Subtract``, ``Divide`` and ``MatMul`` take two. The elementwise ones follow NumPy
broadcasting, so a constant without a batch axis, shape (C, 1, 1), meets a batch (N, C, H, W);
each input's gradient is summed back to its own shape.

    a, b = cl.Input((16, 8, 8)), cl.Input((16, 8, 8))
    s = cl.Add()(a, b)                        # symbolic: a node of a graph model
    y = cl.Add()(np.ones((2, 3)), np.ones(3))  # on arrays: (2, 3)
    da, db = cl.Add().backward(dy)            # one gradient per input, each of its shape

Protocol (any layer with several inputs): ``forward(*xs)``; ``backward(dy, need_input_grad)``
returns a tuple with one entry per input (``None`` entries when no input gradient is needed);
the class attribute ``num_inputs`` says how many inputs (``None``: any number, at least one).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convlens.functional import merge as F
from convlens.layers.module import Module


class _Merge(Module):
    """Checks the number of inputs and keeps the cache; subclasses give the math."""

    num_inputs: int | None = None

    def __init__(self) -> None:
        super().__init__()
        self._cache: Any = None

    def _check(self, xs: tuple[np.ndarray, ...]) -> None:
        name = type(self).__name__
        if self.num_inputs is None and not xs:
            raise ValueError(f"{name} expects at least one input, received none")
        if self.num_inputs is not None and len(xs) != self.num_inputs:
            raise ValueError(f"{name} expects {self.num_inputs} inputs, received {len(xs)}")

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> tuple[Any, ...]:
        cache = self._cached()
        if not need_input_grad:
            return (None,) * self._count(cache)
        return self._grads(dy, cache)

    def _count(self, cache: Any) -> int:
        return len(cache[0])

    def _grads(self, dy: np.ndarray, cache: Any) -> tuple[np.ndarray, ...]:
        raise NotImplementedError


class Add(_Merge):
    """``y = x_1 + x_2 + … + x_n`` (broadcasting); ``dx_i = dy`` summed to ``x_i``'s shape.

    The join of a ResNet shortcut: ``cl.Add()(body, shortcut)``.
    """

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        self._check(xs)
        F.broadcast_shape(xs, "Add")
        self._cache = ([x.shape for x in xs],)
        return sum(xs[1:], start=xs[0])

    def _grads(self, dy: np.ndarray, cache: Any) -> tuple[np.ndarray, ...]:
        return F.add_backward(dy, cache[0])


class Subtract(_Merge):
    """``y = a − b`` (broadcasting); ``da = dy``, ``db = −dy``."""

    num_inputs = 2

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        self._check(xs)
        F.broadcast_shape(xs, "Subtract")
        self._cache = ([x.shape for x in xs],)
        return xs[0] - xs[1]

    def _grads(self, dy: np.ndarray, cache: Any) -> tuple[np.ndarray, ...]:
        return F.subtract_backward(dy, cache[0])


class Mean(_Merge):
    """``y = (x_1 + … + x_n) / n`` elementwise (broadcasting); ``dx_i = dy / n``."""

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        self._check(xs)
        F.broadcast_shape(xs, "Mean")
        self._cache = ([x.shape for x in xs],)
        return sum(xs[1:], start=xs[0]) / len(xs)

    def _grads(self, dy: np.ndarray, cache: Any) -> tuple[np.ndarray, ...]:
        return F.mean_backward(dy, cache[0])


class Multiply(_Merge):
    """``y = x_1 ⊙ … ⊙ x_n`` (broadcasting); ``dx_i = dy ⊙ Π_{j≠i} x_j``.

    Attention-style gating (squeeze-and-excitation: ``cl.Multiply()(x, weights)``).
    """

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        self._check(xs)
        F.broadcast_shape(xs, "Multiply")
        self._cache = (xs,)
        return F.multiply(xs)

    def _grads(self, dy: np.ndarray, cache: Any) -> tuple[np.ndarray, ...]:
        return F.multiply_backward(dy, cache[0])


class Divide(_Merge):
    """``y = a / b`` (broadcasting; integers divide rounding toward zero, as ONNX's ``Div``);
    ``da = dy / b``, ``db = −dy · a / b²``."""

    num_inputs = 2

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        self._check(xs)
        F.broadcast_shape(xs, "Divide")
        self._cache = (xs,)
        return F.divide(xs[0], xs[1])

    def _grads(self, dy: np.ndarray, cache: Any) -> tuple[np.ndarray, ...]:
        return F.divide_backward(dy, *cache[0])


class Maximum(_Merge):
    """``y = max(x_1, …, x_n)`` elementwise (broadcasting); the gradient goes to the largest
    input, split equally between ties (``torch.maximum``'s rule for two inputs)."""

    _reduce = staticmethod(np.maximum)

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        self._check(xs)
        F.broadcast_shape(xs, type(self).__name__)
        y = xs[0]
        for x in xs[1:]:
            y = self._reduce(y, x)
        self._cache = (xs, y)
        return y

    def _grads(self, dy: np.ndarray, cache: Any) -> tuple[np.ndarray, ...]:
        return F.extreme_backward(dy, *cache)


class Minimum(Maximum):
    """``y = min(x_1, …, x_n)`` elementwise (broadcasting); the gradient goes to the smallest
    input, split equally between ties."""

    _reduce = staticmethod(np.minimum)


class MatMul(_Merge):
    """``y = a @ b`` as ``np.matmul``: (…, m, k) @ (…, k, n) -> (…, m, n), batch axes
    broadcast, 1-D operands promoted. ``da = dy @ bᵀ``, ``db = aᵀ @ dy``.

    Used by importers for ONNX ``MatMul`` (a weight enters as a ``cl.Constant``).
    """

    num_inputs = 2

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        self._check(xs)
        a, b = xs
        try:
            y = np.matmul(a, b)
        except ValueError:
            raise ValueError(f"MatMul: cannot multiply shapes {a.shape} @ {b.shape} (the last "
                             "axis of a must equal the second-to-last of b)") from None
        self._cache = (xs,)
        return y

    def _grads(self, dy: np.ndarray, cache: Any) -> tuple[np.ndarray, ...]:
        return F.matmul_backward(dy, *cache[0])


class Concatenate(_Merge):
    """Join inputs along ``dim`` (channels by default; ``dim`` counts the batch axis, as in
    ``torch.cat``): (N, C_1, H, W), …, (N, C_n, H, W) -> (N, C_1 + … + C_n, H, W).

    Backward splits ``dy`` into each input's part. Inception and DenseNet join branches so.
    """

    def __init__(self, dim: int = 1) -> None:
        super().__init__()
        self.dim = int(dim)

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        self._check(xs)
        y = F.concatenate(xs, self.dim)
        self._cache = ([x.shape[self.dim] for x in xs],)
        return y

    def _grads(self, dy: np.ndarray, cache: Any) -> tuple[np.ndarray, ...]:
        return F.concatenate_backward(dy, cache[0], self.dim)

    def get_config(self) -> dict[str, Any]:
        return {"dim": self.dim}
