"""`Optimizer`: the base of every update rule.

An optimizer holds the model's parameters, reads each ``Parameter.grad`` in ``step()`` and
updates ``Parameter.data`` in place. Per-parameter state (momentum buffers, Adam moments)
lives in ``self.state[i]``; ``state_dict()`` / ``load_state_dict()`` save and restore it so
an interrupted run resumes exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from convlens.parameter import Parameter


class Optimizer:
    """Args: params: the parameters to update (e.g. ``model.parameters()``); lr: step size."""

    def __init__(self, params: Iterable[Parameter], lr: float, **hyperparameters: Any) -> None:
        self.params: list[Parameter] = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__} received an empty parameter list")
        for i, p in enumerate(self.params):
            if not isinstance(p, Parameter):
                raise TypeError(
                    f"{type(self).__name__} expects convlens Parameters (model.parameters()), "
                    f"received {type(p).__name__} at position {i}"
                )
        if not lr >= 0:
            raise ValueError(f"{type(self).__name__}: lr must be >= 0, received {lr}")
        self.lr = float(lr)
        self.initial_lr: float | None = None  # set by the first learning-rate schedule
        self.hyperparameters = dict(hyperparameters)
        self.state: list[dict[str, np.ndarray]] = [{} for _ in self.params]
        self.step_count = 0

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.zero_grad(set_to_none)

    def step(self) -> None:
        self.step_count += 1
        for i, p in enumerate(self.params):
            if p.grad is None or not p.requires_grad:
                continue
            self.update(p, p.grad, self.state[i])

    def update(self, param: Parameter, grad: np.ndarray, state: dict[str, np.ndarray]) -> None:
        """Update one parameter in place (subclasses)."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        return {
            "type": type(self).__name__,
            "lr": self.lr,
            "hyperparameters": dict(self.hyperparameters),
            "step_count": self.step_count,
            "state": [{k: v.copy() for k, v in s.items()} for s in self.state],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("type") != type(self).__name__:
            raise ValueError(
                f"cannot load {state.get('type')} state into {type(self).__name__}"
            )
        if len(state["state"]) != len(self.params):
            raise ValueError(
                f"optimizer state holds {len(state['state'])} parameters, this optimizer "
                f"has {len(self.params)}"
            )
        self.lr = float(state["lr"])
        self.hyperparameters.update(state["hyperparameters"])
        for key, value in state["hyperparameters"].items():
            setattr(self, key, value)
        self.step_count = int(state["step_count"])
        self.state = [{k: np.array(v, copy=True) for k, v in s.items()} for s in state["state"]]

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in {"lr": self.lr, **self.hyperparameters}.items())
        return f"{type(self).__name__}({args})"
