"""Adam (Kingma & Ba, 2015), as ``torch.optim.Adam`` (and AdamW's decoupled weight decay).

    g ← g + λ·w                        (Adam's L2 weight decay; AdamW instead: w ← w − lr·λ·w)
    m ← β₁·m + (1 − β₁)·g              first moment (a momentum)
    v ← β₂·v + (1 − β₂)·g²             second moment (per-weight scale)
    m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)   bias corrections for the zero start
    w ← w − lr · m̂ / (√v̂ + ε)
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from convlens.optim.optimizer import Optimizer
from convlens.parameter import Parameter


class Adam(Optimizer):
    decoupled = False

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        b1, b2 = (float(b) for b in betas)
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(f"{type(self).__name__}: betas must be in [0, 1), received {betas}")
        if eps < 0 or weight_decay < 0:
            raise ValueError(f"{type(self).__name__}: eps and weight_decay must be >= 0")
        super().__init__(params, lr, betas=[b1, b2], eps=eps, weight_decay=weight_decay)
        self.betas, self.eps, self.weight_decay = [b1, b2], float(eps), float(weight_decay)

    def update(self, param: Parameter, grad: np.ndarray, state: dict[str, np.ndarray]) -> None:
        b1, b2 = self.betas
        if self.weight_decay:
            if self.decoupled:
                param.data *= 1 - self.lr * self.weight_decay
            else:
                grad = grad + self.weight_decay * param.data
        if "step" not in state:
            state["step"] = np.zeros((), dtype=np.int64)
            state["exp_avg"] = np.zeros_like(param.data)
            state["exp_avg_sq"] = np.zeros_like(param.data)
        state["step"] += 1
        t = int(state["step"])
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= b1
        m += (1 - b1) * grad
        v *= b2
        v += (1 - b2) * grad * grad
        denom = np.sqrt(v / (1 - b2**t)) + self.eps
        param.data -= (self.lr / (1 - b1**t) * m / denom).astype(param.data.dtype, copy=False)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): default weight_decay 0.01."""

    decoupled = True

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.01) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)
