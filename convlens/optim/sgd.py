"""Stochastic gradient descent with momentum, Nesterov momentum and weight decay.

PyTorch's formulation (``torch.optim.SGD``), with g the gradient and λ the weight decay:

    g ← g + λ·w
    v ← g                      on the first step, then  v ← μ·v + (1 − dampening)·g
    g ← g + μ·v  (Nesterov)    or  g ← v
    w ← w − lr·g

With μ = 0 this is the seeds' rule ``W_new = W_old − η·dL/dW``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from convlens.optim.optimizer import Optimizer
from convlens.parameter import Parameter


class SGD(Optimizer):
    def __init__(self, params: Iterable[Parameter], lr: float = 0.01, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False) -> None:
        if momentum < 0:
            raise ValueError(f"SGD: momentum must be >= 0, received {momentum}")
        if weight_decay < 0:
            raise ValueError(f"SGD: weight_decay must be >= 0, received {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires momentum > 0 and dampening = 0")
        super().__init__(params, lr, momentum=momentum, dampening=dampening,
                         weight_decay=weight_decay, nesterov=nesterov)
        self.momentum, self.dampening = float(momentum), float(dampening)
        self.weight_decay, self.nesterov = float(weight_decay), bool(nesterov)

    def update(self, param: Parameter, grad: np.ndarray, state: dict[str, np.ndarray]) -> None:
        if self.weight_decay:
            grad = grad + self.weight_decay * param.data
        if self.momentum:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = np.array(grad, dtype=param.data.dtype, copy=True)
            else:
                buf = state["momentum_buffer"]
                buf *= self.momentum
                buf += (1 - self.dampening) * grad
            buf = state["momentum_buffer"]
            grad = grad + self.momentum * buf if self.nesterov else buf
        param.data -= (self.lr * grad).astype(param.data.dtype, copy=False)
