"""Binary cross-entropy, for a single sigmoid output per example (seeds 000 and 004):

    ℓ = −w·[y·log p + (1 − y)·log(1 − p)]

``BCEWithLogitsLoss`` takes the logit x (p = σ(x)) and is the stable choice: with
softplus(x) = log(1 + eˣ) = max(x, 0) + log(1 + e^(−|x|)),

    ℓ = w·[pw·y·softplus(−x) + (1 − y)·softplus(x)]      dℓ/dx = w·[(1 − y)·σ(x) − pw·y·(1 − σ(x))]

(pw = ``pos_weight``, 1 by default: then dℓ/dx = w·(σ(x) − y)). ``BCELoss`` takes p itself and,
like PyTorch, clamps each log at −100 so p = 0 or 1 gives a large finite loss.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convlens.functional.activation import sigmoid
from convlens.losses.base import ElementwiseLoss


def softplus(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


class BCEWithLogitsLoss(ElementwiseLoss):
    """Sigmoid + binary cross-entropy on logits (``torch.nn.BCEWithLogitsLoss``).

    Args: weight (broadcast to the input), reduction, pos_weight (per class, broadcast along
    the last axis: > 1 counts positive examples more).
    Shape: logits and targets (probabilities in [0, 1]) alike, e.g. (N, 1) or (N,).
    """

    def __init__(self, weight: np.ndarray | None = None, reduction: str = "mean",
                 pos_weight: np.ndarray | None = None) -> None:
        super().__init__(reduction)
        self.weight = None if weight is None else np.asarray(weight)
        self.pos_weight = None if pos_weight is None else np.asarray(pos_weight)

    def _terms(self, x, y):
        pw = 1.0 if self.pos_weight is None else self.pos_weight
        w = 1.0 if self.weight is None else self.weight
        terms = w * (pw * y * softplus(-x) + (1 - y) * softplus(x))
        return terms, (x, y, pw, w)

    def _derivative(self, cache):
        x, y, pw, w = cache
        s = sigmoid(x)
        return w * ((1 - y) * s - pw * y * (1 - s))


class BCELoss(ElementwiseLoss):
    """Binary cross-entropy on probabilities p ∈ [0, 1] (``torch.nn.BCELoss``)."""

    def __init__(self, weight: np.ndarray | None = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.weight = None if weight is None else np.asarray(weight)

    def _check(self, p, y):
        super()._check(p, y)
        outside = (p < 0) | (p > 1) | np.isnan(p)
        if outside.any():
            first = np.unravel_index(np.argmax(outside), p.shape)
            raise ValueError(
                f"BCELoss expects probabilities in [0, 1] (apply Sigmoid first, or use "
                f"BCEWithLogitsLoss on logits), received {p[first]} at index {tuple(map(int, first))}"
            )

    def _terms(self, p, y):
        w = 1.0 if self.weight is None else self.weight
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(p), -100)
            log_1mp = np.maximum(np.log1p(-p), -100)
        return -w * (y * log_p + (1 - y) * log_1mp), (p, y, w)

    def _derivative(self, cache):
        p, y, w = cache
        # PyTorch's backward: w·(p − y) / max(p·(1 − p), 1e-12)
        return w * (p - y) / np.maximum(p * (1 - p), 1e-12)


__all__: list[Any] = ["BCELoss", "BCEWithLogitsLoss", "softplus"]
