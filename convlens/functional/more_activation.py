"""Piecewise and parametric activations of ONNX and mobile networks, as forward/backward pairs.

Hardtanh (ONNX ``Clip``), HardSigmoid, HardSwish (MobileNetV3), SELU and PReLU. Conventions as
:mod:`convlens.functional.activation`: ``*_forward`` returns ``(y, cache)``, ``*_backward(dy,
cache)`` returns dL/dx. At a kink the derivative follows PyTorch (the one-sided value PyTorch
uses), so gradients match ``torch.nn`` exactly.
"""

from __future__ import annotations

import numpy as np

from convlens.functional.activation import select


def hardtanh_forward(x: np.ndarray, min_val: float = -1.0,
                     max_val: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Hardtanh(x) = clip(x, min_val, max_val) (ONNX ``Clip``; ReLU6 is clip(x, 0, 6)).

    Derivative: 1 where min_val < x < max_val, else 0 (0 at the two kinks, as PyTorch).
    """
    y = np.clip(x, min_val, max_val).astype(x.dtype, copy=False)
    return y, (x > min_val) & (x < max_val)


def hardtanh_backward(dy: np.ndarray, inside: np.ndarray) -> np.ndarray:
    return select(dy, inside)


def hardsigmoid_forward(x: np.ndarray, alpha: float = 1 / 6,
                        beta: float = 0.5) -> tuple[np.ndarray, tuple]:
    """HardSigmoid(x) = clip(α·x + β, 0, 1) (PyTorch: α = 1/6, β = ½; ONNX default α = 0.2).

    Derivative: α where 0 < α·x + β < 1, else 0.
    """
    z = alpha * x + beta
    inside = (z > 0) & (z < 1)
    return np.clip(z, 0, 1).astype(x.dtype, copy=False), (inside, alpha)


def hardsigmoid_backward(dy: np.ndarray, cache: tuple) -> np.ndarray:
    inside, alpha = cache
    return (select(dy, inside) * np.asarray(alpha, dy.dtype)).astype(dy.dtype, copy=False)


def hardswish_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """HardSwish(x) = x·clip(x/6 + ½, 0, 1) = x·ReLU6(x + 3)/6.

    Derivative: 0 for x ≤ −3, x/3 + ½ for −3 < x < 3, 1 for x ≥ 3 (PyTorch's choice at ±3).
    """
    y = x * np.clip(x / 6 + 0.5, 0, 1)
    return y.astype(x.dtype, copy=False), x


def hardswish_backward(dy: np.ndarray, x: np.ndarray) -> np.ndarray:
    slope = np.where(x < 3, x / 3 + 0.5, 1.0)
    return (select(dy, x > -3) * slope).astype(dy.dtype, copy=False)


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def selu_forward(x: np.ndarray, alpha: float = SELU_ALPHA,
                 scale: float = SELU_SCALE) -> tuple[np.ndarray, tuple]:
    """SELU(x) = λ·x for x > 0, λ·α(eˣ − 1) otherwise (self-normalizing, Klambauer et al. 2017;
    ONNX names λ ``gamma``). Derivative: λ for x > 0, λ·α·eˣ otherwise."""
    mask = x > 0
    neg = alpha * np.expm1(np.minimum(x, 0))
    y = scale * np.where(mask, x, neg)
    return y.astype(x.dtype, copy=False), (mask, neg, alpha, scale)


def selu_backward(dy: np.ndarray, cache: tuple) -> np.ndarray:
    mask, neg, alpha, scale = cache
    return (scale * np.where(mask, dy, dy * (neg + alpha))).astype(dy.dtype, copy=False)


def softplus_forward(x: np.ndarray, beta: float = 1.0, threshold: float = 20.0) -> tuple[np.ndarray, tuple]:
    """Softplus(x) = log(1 + e^(βx))/β, and x where βx > threshold (PyTorch's, where the two
    agree to float precision). Derivative: σ(βx) (1 above the threshold)."""
    bx = beta * x
    linear = bx > threshold
    y = np.where(linear, x, np.logaddexp(0.0, np.where(linear, 0.0, bx)) / beta)
    return y.astype(x.dtype, copy=False), (bx, linear)


def softplus_backward(dy: np.ndarray, cache: tuple) -> np.ndarray:
    bx, linear = cache
    gate = np.where(linear, 1.0, 0.5 * (1.0 + np.tanh(0.5 * bx)))   # σ(βx), overflow-free
    return (dy * gate).astype(dy.dtype, copy=False)


def softsign_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Softsign(x) = x/(1 + |x|). Derivative: 1/(1 + |x|)²."""
    denominator = 1.0 + np.abs(x)
    return (x / denominator).astype(x.dtype, copy=False), denominator


def softsign_backward(dy: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return (dy / (denominator * denominator)).astype(dy.dtype, copy=False)


def prelu_forward(x: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, tuple]:
    """PReLU(x) = x for x > 0, a·x otherwise, with a learned slope ``a`` per channel.

    ``weight`` has shape (C,) (one slope per channel of axis 1) or (1,) (one shared slope).
    Derivatives: dL/dx = dy where x > 0, a·dy otherwise; dL/da = Σ dy·x over x ≤ 0 (summed
    over every axis but the channel axis).
    """
    slope = _channel_view(weight, x.ndim)
    mask = x > 0
    return np.where(mask, x, slope * x).astype(x.dtype, copy=False), (x, mask, slope)


def prelu_backward(dy: np.ndarray, cache: tuple,
                   need_input_grad: bool = True) -> tuple[np.ndarray | None, np.ndarray]:
    x, mask, slope = cache
    dx = np.where(mask, dy, slope * dy).astype(dy.dtype, copy=False) if need_input_grad else None
    contribution = np.where(mask, 0, dy * x)
    if slope.size == 1:
        dweight = contribution.sum().reshape(1)
    else:
        axes = tuple(i for i in range(x.ndim) if i != 1)
        dweight = contribution.sum(axis=axes)
    return dx, dweight.astype(dy.dtype, copy=False)


def _channel_view(weight: np.ndarray, ndim: int) -> np.ndarray:
    """(C,) -> (1, C, 1, …) so a per-channel slope broadcasts along axis 1."""
    if weight.size == 1 or ndim < 2:
        return weight.reshape(()) if weight.size == 1 else weight
    return weight.reshape((1, -1) + (1,) * (ndim - 2))
