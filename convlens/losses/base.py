"""`Loss`: the base of every loss. ``loss = loss_fn(prediction, target)``, then
``loss_fn.backward()`` returns dL/d(prediction) for ``model.backward``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from convlens.validate import as_array

REDUCTIONS = ("mean", "sum", "none")


def _checked_forward(forward: Callable[..., Any]) -> Callable[..., Any]:
    """``forward`` with prediction and target checked by :func:`convlens.validate.as_array`
    (array-likes converted; None, strings, complex or object dtypes and empty batches refused)."""

    @functools.wraps(forward)
    def checked(self: Loss, prediction: Any, target: Any, *args: Any, **kwargs: Any) -> Any:
        name = type(self).__name__
        prediction = as_array(prediction, f"{name}: prediction", self.expected_prediction)
        target = as_array(target, f"{name}: target", self.expected_target)
        return forward(self, prediction, target, *args, **kwargs)

    return checked


class Loss:
    """Args: reduction: ``'mean'`` (default), ``'sum'`` or ``'none'`` (one value per element)."""

    #: what ``forward`` takes, for error messages (subclasses say more)
    expected_prediction = "an array (N, …) of real-valued predictions"
    expected_target = "an array of targets with the prediction's shape"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "forward" in cls.__dict__:  # every loss checks its inputs the same way
            cls.forward = _checked_forward(cls.__dict__["forward"])  # type: ignore[method-assign]

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
