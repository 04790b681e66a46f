"""Gradient clipping, applied between ``backward`` and ``optimizer.step()``.

``clip_grad_norm_``: if the global norm ‖g‖ = (Σ over all parameters |g|ᵖ)^(1/p) exceeds
``max_norm``, every gradient is scaled by max_norm / (‖g‖ + 1e-6) (PyTorch's rule).
``clip_grad_value_``: every gradient element is clamped to [−clip_value, clip_value].
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from convlens.parameter import Parameter


def clip_grad_norm_(params: Iterable[Parameter], max_norm: float,
                    norm_type: float = 2.0) -> float:
    """Scale gradients in place so their global norm is at most ``max_norm``; returns the
    norm before clipping."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return 0.0
    if np.isinf(norm_type):
        total = max(float(np.abs(g).max()) for g in grads)
    else:
        total = float(sum(float((np.abs(g) ** norm_type).sum()) for g in grads) ** (1 / norm_type))
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for g in grads:
            g *= coef
    return total


def clip_grad_value_(params: Iterable[Parameter], clip_value: float) -> None:
    """Clamp every gradient element to [−clip_value, clip_value] in place."""
    if clip_value < 0:
        raise ValueError(f"clip_value must be >= 0, received {clip_value}")
    for p in params:
        if p.grad is not None:
            np.clip(p.grad, -clip_value, clip_value, out=p.grad)
