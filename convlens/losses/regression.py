"""Regression losses: mean squared error and mean absolute error.

    MSE: ℓ = (ŷ − y)²       dℓ/dŷ = 2(ŷ − y)
    L1:  ℓ = |ŷ − y|        dℓ/dŷ = sign(ŷ − y)  (0 at ŷ = y, as PyTorch)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convlens.losses.base import Loss, check_same_shape


class MSELoss(Loss):
    """Mean squared error (``torch.nn.MSELoss``). Shape: prediction and target alike."""

    def forward(self, prediction: np.ndarray, target: np.ndarray) -> Any:
        prediction = np.asarray(prediction)
        target = np.asarray(target, dtype=prediction.dtype)
        check_same_shape("MSELoss", prediction, target)
        diff = prediction - target
        self._cache = diff
        return self._reduce(diff * diff)

    def backward(self, grad: np.ndarray | float | None = None) -> np.ndarray:
        diff = self._require_cache()
        return (2 * diff * self._scale(grad, diff.size)).astype(diff.dtype, copy=False)


class L1Loss(Loss):
    """Mean absolute error (``torch.nn.L1Loss``)."""

    def forward(self, prediction: np.ndarray, target: np.ndarray) -> Any:
        prediction = np.asarray(prediction)
        target = np.asarray(target, dtype=prediction.dtype)
        check_same_shape("L1Loss", prediction, target)
        diff = prediction - target
        self._cache = diff
        return self._reduce(np.abs(diff))

    def backward(self, grad: np.ndarray | float | None = None) -> np.ndarray:
        diff = self._require_cache()
        return (np.sign(diff) * self._scale(grad, diff.size)).astype(diff.dtype, copy=False)
