"""`Loss`: the base of every loss. ``loss = loss_fn(prediction, target)``, then
``loss_fn.backward()`` returns dL/d(prediction) for ``model.backward``."""

from __future__ import annotations

from typing import Any

import numpy as np

REDUCTIONS = ("mean", "sum", "none")


class Loss:
    """Args: reduction: ``'mean'`` (default), ``'sum'`` or ``'none'`` (one value per element)."""

    def __init__(self, reduction: str = "mean") -> None:
        if reduction not in REDUCTIONS:
            raise ValueError(
                f"{type(self).__name__}: reduction must be one of {REDUCTIONS}, received {reduction!r}"
            )
        self.reduction = reduction
        self._cache: Any = None

    def __call__(self, prediction: np.ndarray, target: np.ndarray) -> Any:
        return self.forward(prediction, target)

    def forward(self, prediction: np.ndarray, target: np.ndarray) -> Any:
        raise NotImplementedError

    def backward(self, grad: np.ndarray | float | None = None) -> np.ndarray:
        """dL/d(prediction). ``grad`` is the upstream gradient of the loss itself (default 1;
        with ``reduction='none'`` an array shaped like the per-element losses)."""
        raise NotImplementedError

    def _reduce(self, values: np.ndarray, denominator: float | None = None) -> Any:
        """Apply the reduction; returns a Python float for 'mean' and 'sum'."""
        if self.reduction == "none":
            return values
        total = values.sum()
        if self.reduction == "sum":
            return float(total)
        return float(total / (values.size if denominator is None else denominator))

    def _scale(self, grad: np.ndarray | float | None, count: float) -> Any:
        """Factor that turns per-element derivatives into derivatives of the reduced loss."""
        upstream = 1.0 if grad is None else grad
        if self.reduction == "mean":
            return np.asarray(upstream) / count
        return np.asarray(upstream)

    def _require_cache(self) -> Any:
        if self._cache is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward() was called before the loss was computed"
            )
        return self._cache

    def get_config(self) -> dict[str, Any]:
        return {} if self.reduction == "mean" else {"reduction": self.reduction}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def check_same_shape(name: str, prediction: np.ndarray, target: np.ndarray) -> None:
    if prediction.shape != target.shape:
        raise ValueError(
            f"{name}: prediction and target must have the same shape, received prediction "
            f"{prediction.shape} and target {target.shape}"
        )


class ElementwiseLoss(Loss):
    """A loss that is a sum or mean of per-element terms ℓ(ŷ, y) of same-shaped arrays.

    Subclasses give the terms and their derivative dℓ/dŷ; reductions are handled here.
    """

    def _terms(self, prediction: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, Any]:
        raise NotImplementedError

    def _derivative(self, cache: Any) -> np.ndarray:
        raise NotImplementedError

    def _check(self, prediction: np.ndarray, target: np.ndarray) -> None:
        check_same_shape(type(self).__name__, prediction, target)

    def forward(self, prediction: np.ndarray, target: np.ndarray) -> Any:
        prediction = np.asarray(prediction)
        if not np.issubdtype(prediction.dtype, np.floating):
            prediction = prediction.astype(np.float32)
        target = np.asarray(target, dtype=prediction.dtype)
        self._check(prediction, target)
        terms, cache = self._terms(prediction, target)
        self._cache = (cache, prediction.size, prediction.dtype)
        return self._reduce(terms)

    def backward(self, grad: np.ndarray | float | None = None) -> np.ndarray:
        cache, count, dtype = self._require_cache()
        return (self._derivative(cache) * self._scale(grad, count)).astype(dtype, copy=False)
