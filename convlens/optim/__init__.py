"""Optimizers: update rules that turn gradients into parameter changes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from convlens.optim.adam import Adam, AdamW
from convlens.optim.optimizer import Optimizer
from convlens.optim.sgd import SGD
from convlens.parameter import Parameter

OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam, "adamw": AdamW}


def get_optimizer(name: str, params: Iterable[Parameter], **kwargs: Any) -> Optimizer:
    """An optimizer by name (``'sgd'``, ``'adam'``, …) with keyword hyperparameters."""
    try:
        cls = OPTIMIZERS[name.lower()]
    except KeyError:
        raise ValueError(
            f"unknown optimizer {name!r}; expected one of {sorted(OPTIMIZERS)}"
        ) from None
    return cls(params, **kwargs)


__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "OPTIMIZERS", "get_optimizer"]
