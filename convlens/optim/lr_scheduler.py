"""Learning-rate schedules: call ``scheduler.step()`` once per epoch (after ``optimizer.step``).

Each schedule sets ``optimizer.lr`` from the base rate lr₀ and the epoch count t:

    StepLR(step_size, γ)          lr₀ · γ^⌊t / step_size⌋
    ExponentialLR(γ)              lr₀ · γᵗ
    CosineAnnealingLR(T, η_min)   η_min + (lr₀ − η_min)·(1 + cos(πt/T))/2
    LinearLR(s, e, T)             lr₀ · (s + (e − s)·min(t, T)/T)     (a linear warm-up)
    SequentialLR(schedules, milestones)   one schedule after another (warm-up, then cosine)
    ReduceLROnPlateau             lr · factor when a metric stops improving for ``patience`` epochs

The values equal ``torch.optim.lr_scheduler``'s (closed forms rather than its recursions).
"""

from __future__ import annotations

import math
from typing import Any

from convlens.optim.optimizer import Optimizer


class _Schedule:
    """What every schedule shares: the current rate and a state that saves and restores."""

    optimizer: Optimizer

    def get_last_lr(self) -> float:
        return self.optimizer.lr

    def state_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k != "optimizer"}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        vars(self).update(state)


class LRScheduler(_Schedule):
    def __init__(self, optimizer: Optimizer) -> None:
        self.optimizer = optimizer
        # The first schedule attached records the optimizer's rate; later ones (e.g. inside a
        # SequentialLR, after a warm-up already lowered optimizer.lr) start from it too.
        base = getattr(optimizer, "initial_lr", None)
        if base is None:
            base = optimizer.initial_lr = optimizer.lr
        self.base_lr: float = base
        self.last_epoch = 0

    def lr_at(self, t: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)


class StepLR(LRScheduler):
    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        if step_size < 1:
            raise ValueError(f"StepLR: step_size must be >= 1, received {step_size}")
        super().__init__(optimizer)
        self.step_size, self.gamma = int(step_size), float(gamma)

    def lr_at(self, t: int) -> float:
        return self.base_lr * self.gamma ** (t // self.step_size)


class ExponentialLR(LRScheduler):
    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        super().__init__(optimizer)
        self.gamma = float(gamma)

    def lr_at(self, t: int) -> float:
        return self.base_lr * self.gamma**t


class CosineAnnealingLR(LRScheduler):
    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        if T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be >= 1, received {T_max}")
        super().__init__(optimizer)
        self.T_max, self.eta_min = int(T_max), float(eta_min)

    def lr_at(self, t: int) -> float:
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2


class LinearLR(LRScheduler):
    def __init__(self, optimizer: Optimizer, start_factor: float = 1 / 3, end_factor: float = 1.0,
                 total_iters: int = 5) -> None:
        if not 0 < start_factor <= 1 or not 0 <= end_factor <= 1:
            raise ValueError(
                f"LinearLR: start_factor must be in (0, 1] and end_factor in [0, 1], received "
                f"{start_factor}, {end_factor}"
            )
        super().__init__(optimizer)
        self.start_factor, self.end_factor = float(start_factor), float(end_factor)
        self.total_iters = int(total_iters)
        optimizer.lr = self.lr_at(0)

    def lr_at(self, t: int) -> float:
        progress = min(t, self.total_iters) / self.total_iters if self.total_iters else 1.0
        return self.base_lr * (self.start_factor + (self.end_factor - self.start_factor) * progress)


class SequentialLR(LRScheduler):
    """Run ``schedulers[i]`` until epoch ``milestones[i]``, then the next one (restarted at 0)."""

    def __init__(self, optimizer: Optimizer, schedulers: list[LRScheduler],
                 milestones: list[int]) -> None:
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"SequentialLR: expected {len(schedulers) - 1} milestones for "
                f"{len(schedulers)} schedulers, received {len(milestones)}"
            )
        super().__init__(optimizer)
        self.schedulers, self.milestones = schedulers, list(milestones)
        optimizer.lr = schedulers[0].lr_at(0)

    def lr_at(self, t: int) -> float:
        index = sum(t >= m for m in self.milestones)
        start = self.milestones[index - 1] if index else 0
        return self.schedulers[index].lr_at(t - start)

    def state_dict(self) -> dict[str, Any]:
        return {"last_epoch": self.last_epoch, "base_lr": self.base_lr,
                "schedulers": [s.state_dict() for s in self.schedulers]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.last_epoch, self.base_lr = state["last_epoch"], state["base_lr"]
        for s, st in zip(self.schedulers, state["schedulers"]):
            s.load_state_dict(st)


class ReduceLROnPlateau(_Schedule):
    """Multiply the rate by ``factor`` when ``metric`` has not improved for ``patience`` epochs.

    Call ``scheduler.step(metric)`` after each validation. ``mode='min'`` for a loss, ``'max'``
    for an accuracy; improvement must beat the best by ``threshold`` (relative in 'rel' mode).
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr: float = 0.0, eps: float = 1e-8) -> None:
        if mode not in ("min", "max") or threshold_mode not in ("rel", "abs"):
            raise ValueError(
                f"ReduceLROnPlateau: mode must be 'min'/'max' and threshold_mode 'rel'/'abs', "
                f"received {mode!r}, {threshold_mode!r}"
            )
        if not 0 < factor < 1:
            raise ValueError(f"ReduceLROnPlateau: factor must be in (0, 1), received {factor}")
        self.optimizer = optimizer
        self.mode, self.factor, self.patience = mode, float(factor), int(patience)
        self.threshold, self.threshold_mode = float(threshold), threshold_mode
        self.cooldown, self.min_lr, self.eps = int(cooldown), float(min_lr), float(eps)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0

    def _better(self, value: float) -> bool:
        sign = -1 if self.mode == "min" else 1
        if self.threshold_mode == "rel":
            bound = self.best * (1 + sign * self.threshold)
        else:
            bound = self.best + sign * self.threshold
        return value < bound if self.mode == "min" else value > bound

    def step(self, metric: float) -> None:
        self.last_epoch += 1
        if self._better(float(metric)):
            self.best = float(metric)
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            new_lr = max(self.optimizer.lr * self.factor, self.min_lr)
            if self.optimizer.lr - new_lr > self.eps:
                self.optimizer.lr = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
