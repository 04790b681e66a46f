"""Regression losses, per element with d = ŷ − y:

    MSE:        ℓ = d²                                   dℓ/dŷ = 2d
    L1:         ℓ = |d|                                  dℓ/dŷ = sign(d)  (0 at d = 0)
    Huber(δ):   ℓ = ½d² if |d| ≤ δ else δ(|d| − ½δ)      dℓ/dŷ = d, or δ·sign(d)
    SmoothL1(β):ℓ = ½d²/β if |d| < β else |d| − ½β       dℓ/dŷ = d/β, or sign(d)

Huber with δ equals β·SmoothL1 with β = δ; SmoothL1 with β = 0 is L1 (as in PyTorch).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convlens.losses.base import ElementwiseLoss


class MSELoss(ElementwiseLoss):
    """Mean squared error (``torch.nn.MSELoss``). Shape: prediction and target alike."""

    def _terms(self, prediction, target):
        d = prediction - target
        return d * d, d

    def _derivative(self, d):
        return 2 * d


class L1Loss(ElementwiseLoss):
    """Mean absolute error (``torch.nn.L1Loss``)."""

    def _terms(self, prediction, target):
        d = prediction - target
        return np.abs(d), d

    def _derivative(self, d):
        return np.sign(d)


class HuberLoss(ElementwiseLoss):
    """Quadratic near zero, linear beyond ``delta`` (``torch.nn.HuberLoss``)."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        if not delta > 0:
            raise ValueError(f"HuberLoss: delta must be > 0, received {delta}")
        self.delta = float(delta)

    def _terms(self, prediction, target):
        d = prediction - target
        a = np.abs(d)
        return np.where(a <= self.delta, 0.5 * d * d, self.delta * (a - 0.5 * self.delta)), d

    def _derivative(self, d):
        return np.where(np.abs(d) <= self.delta, d, self.delta * np.sign(d))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "delta": self.delta}


class SmoothL1Loss(ElementwiseLoss):
    """L1 with a quadratic zone of width ``beta`` around zero (``torch.nn.SmoothL1Loss``)."""

    def __init__(self, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(reduction)
        if beta < 0:
            raise ValueError(f"SmoothL1Loss: beta must be >= 0, received {beta}")
        self.beta = float(beta)

    def _terms(self, prediction, target):
        d = prediction - target
        a = np.abs(d)
        if self.beta == 0:
            return a, d
        return np.where(a < self.beta, 0.5 * d * d / self.beta, a - 0.5 * self.beta), d

    def _derivative(self, d):
        if self.beta == 0:
            return np.sign(d)
        return np.where(np.abs(d) < self.beta, d / self.beta, np.sign(d))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta": self.beta}
