"""Adaptive learning rates per weight: AdaGrad and RMSprop (PyTorch's formulations).

AdaGrad (Duchi et al., 2011): the step shrinks for weights that have seen large gradients.

    g ← g + λ·w;   lr_t = lr / (1 + (t − 1)·lr_decay)
    G ← G + g²;    w ← w − lr_t · g / (√G + ε)

RMSprop (Hinton, 2012): a moving average instead of a sum, so the step does not vanish.

    g ← g + λ·w;   v ← α·v + (1 − α)·g²
    centered:      ḡ ← α·ḡ + (1 − α)·g;   v̂ = v − ḡ²   (else v̂ = v)
    momentum μ>0:  b ← μ·b + g / (√v̂ + ε);  w ← w − lr·b
    otherwise:     w ← w − lr · g / (√v̂ + ε)
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from convlens.optim.optimizer import Optimizer
from convlens.parameter import Parameter


class AdaGrad(Optimizer):
    def __init__(self, params: Iterable[Parameter], lr: float = 0.01, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10) -> None:
        for name, value in (("lr_decay", lr_decay), ("weight_decay", weight_decay),
                            ("initial_accumulator_value", initial_accumulator_value), ("eps", eps)):
            if value < 0:
                raise ValueError(f"AdaGrad: {name} must be >= 0, received {value}")
        super().__init__(params, lr, lr_decay=lr_decay, weight_decay=weight_decay,
                         initial_accumulator_value=initial_accumulator_value, eps=eps)
        self.lr_decay, self.weight_decay = float(lr_decay), float(weight_decay)
        self.initial_accumulator_value, self.eps = float(initial_accumulator_value), float(eps)

    def update(self, param: Parameter, grad: np.ndarray, state: dict[str, np.ndarray]) -> None:
        if "sum" not in state:
            state["sum"] = np.full_like(param.data, self.initial_accumulator_value)
            state["step"] = np.zeros((), dtype=np.int64)
        state["step"] += 1
        if self.weight_decay:
            grad = grad + self.weight_decay * param.data
        lr = self.lr / (1 + (int(state["step"]) - 1) * self.lr_decay)
        state["sum"] += grad * grad
        param.data -= (lr * grad / (np.sqrt(state["sum"]) + self.eps)).astype(param.data.dtype, copy=False)


Adagrad = AdaGrad


class RMSprop(Optimizer):
    def __init__(self, params: Iterable[Parameter], lr: float = 0.01, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False) -> None:
        if not 0 <= alpha <= 1:
            raise ValueError(f"RMSprop: alpha must be in [0, 1], received {alpha}")
        for name, value in (("eps", eps), ("weight_decay", weight_decay), ("momentum", momentum)):
            if value < 0:
                raise ValueError(f"RMSprop: {name} must be >= 0, received {value}")
        super().__init__(params, lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                         momentum=momentum, centered=centered)
        self.alpha, self.eps, self.weight_decay = float(alpha), float(eps), float(weight_decay)
        self.momentum, self.centered = float(momentum), bool(centered)

    def update(self, param: Parameter, grad: np.ndarray, state: dict[str, np.ndarray]) -> None:
        if "square_avg" not in state:
            state["square_avg"] = np.zeros_like(param.data)
            if self.centered:
                state["grad_avg"] = np.zeros_like(param.data)
            if self.momentum:
                state["momentum_buffer"] = np.zeros_like(param.data)
        if self.weight_decay:
            grad = grad + self.weight_decay * param.data
        v = state["square_avg"]
        v *= self.alpha
        v += (1 - self.alpha) * grad * grad
        if self.centered:
            g_avg = state["grad_avg"]
            g_avg *= self.alpha
            g_avg += (1 - self.alpha) * grad
            denom = np.sqrt(v - g_avg * g_avg) + self.eps
        else:
            denom = np.sqrt(v) + self.eps
        if self.momentum:
            buf = state["momentum_buffer"]
            buf *= self.momentum
            buf += grad / denom
            step = self.lr * buf
        else:
            step = self.lr * grad / denom
        param.data -= step.astype(param.data.dtype, copy=False)
