"""Optimizers (update rules), learning-rate schedules and gradient clipping."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from convlens.optim import lr_scheduler
from convlens.optim.adam import Adam, AdamW
from convlens.optim.adaptive import AdaGrad, Adagrad, RMSprop
from convlens.optim.clip import clip_grad_norm_, clip_grad_value_
from convlens.optim.lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LinearLR,
    LRScheduler,
    ReduceLROnPlateau,
    SequentialLR,
    StepLR,
)
from convlens.optim.optimizer import Optimizer
from convlens.optim.sgd import SGD
from convlens.parameter import Parameter

OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD, "adagrad": AdaGrad, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW,
}


def get_optimizer(name: str, params: Iterable[Parameter], **kwargs: Any) -> Optimizer:
    """An optimizer by name (``'sgd'``, ``'adam'``, …) with keyword hyperparameters."""
    try:
        cls = OPTIMIZERS[name.lower()]
    except KeyError:
        raise ValueError(
            f"unknown optimizer {name!r}; expected one of {sorted(OPTIMIZERS)}"
        ) from None
    return cls(params, **kwargs)


__all__ = [
    "Optimizer", "SGD", "AdaGrad", "Adagrad", "RMSprop", "Adam", "AdamW", "OPTIMIZERS",
    "get_optimizer", "clip_grad_norm_", "clip_grad_value_", "lr_scheduler", "LRScheduler",
    "StepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR", "SequentialLR",
    "ReduceLROnPlateau",
]
