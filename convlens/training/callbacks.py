"""Callbacks: code the :class:`~convlens.training.Trainer` calls at fixed points of training.

    on_train_begin(trainer)
      on_epoch_begin(trainer, epoch)
        on_batch_end(trainer, batch, logs)         after each optimizer step
      on_validation_begin(trainer, epoch)          the epoch's batches are done
      on_epoch_end(trainer, epoch, logs) -> stop?  logs = trainer.history.last()
    on_train_end(trainer)                          always, also after an error or Ctrl-C

Epoch numbers are 1-based. ``logs`` at epoch end names each metric as the history does
(``train_loss``, ``val_loss``, ``val_accuracy``, ``val_mae``…). Returning ``True`` from
``on_epoch_end`` stops training after that epoch. A callback with state that matters for an
exact resume (early stopping's best weights and patience counter) returns it from
``state_dict`` and the trainer saves it in every checkpoint.

A plain function ``f(epoch, history)`` also works as a callback (called at epoch end).
"""

from __future__ import annotations

import csv
import io as _io
import math
import os
import time
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from convlens.io import atomic_write, save_weights, write_json
from convlens.optim import ReduceLROnPlateau

if TYPE_CHECKING:  # pragma: no cover
    from convlens.training.trainer import Trainer


class Callback:
    """Base class: override the hooks you need (see the module docstring)."""

    def on_train_begin(self, trainer: Trainer) -> None:
        pass

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None:
        pass

    def on_batch_end(self, trainer: Trainer, batch: int, logs: dict[str, float]) -> None:
        pass

    def on_validation_begin(self, trainer: Trainer, epoch: int) -> None:
        pass

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> bool | None:
        return None

    def on_train_end(self, trainer: Trainer) -> None:
        pass

    def state_dict(self) -> dict[str, Any] | None:
        """State to save in checkpoints (``None``: the callback has none)."""
        return None

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


class FunctionCallback(Callback):
    """Calls ``fn(epoch, history)`` at the end of each epoch; ``True`` stops training."""

    def __init__(self, fn: Callable[[int, Any], Any]) -> None:
        self.fn = fn

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> bool | None:
        return self.fn(epoch, trainer.history) is True

    def __repr__(self) -> str:
        return f"FunctionCallback({getattr(self.fn, '__name__', self.fn)!r})"


def as_callback(obj: Any) -> Callback:
    if isinstance(obj, Callback):
        return obj
    if callable(obj):
        return FunctionCallback(obj)
    raise TypeError(f"expected a Callback or a function f(epoch, history), received {type(obj).__name__}")


class LearningRateSchedule(Callback):
    """Steps a schedule from ``convlens.optim`` once after every epoch.

    ``ReduceLROnPlateau`` gets the held-out loss (the training loss without held-out data).
    ``Trainer(scheduler=…)`` puts one of these first in the callback list.
    """

    def __init__(self, scheduler: Any) -> None:
        self.scheduler = scheduler

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> bool | None:
        if isinstance(self.scheduler, ReduceLROnPlateau):
            self.scheduler.step(logs.get("val_loss", logs["train_loss"]))
        else:
            self.scheduler.step()
        return None

    def state_dict(self) -> dict[str, Any] | None:
        return {"type": type(self.scheduler).__name__, **self.scheduler.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        state = dict(state)
        kind = state.pop("type", None)
        if kind != type(self.scheduler).__name__:
            raise ValueError(
                f"the checkpoint holds a {kind} schedule, this run has {type(self.scheduler).__name__}"
            )
        self.scheduler.load_state_dict(state)


def _mode(monitor: str, mode: str) -> str:
    if mode == "auto":
        return "max" if "acc" in monitor else "min"
    if mode not in ("min", "max"):
        raise ValueError(f"expected mode 'auto', 'min' or 'max', received {mode!r}")
    return mode


def _monitored(monitor: str, logs: dict[str, float], who: str) -> float:
    if monitor not in logs:
        raise ValueError(
            f"{who} monitors {monitor!r}, which this run does not record; available: {sorted(logs)}"
        )
    return float(logs[monitor])


def _check_monitor(monitor: str, trainer: Trainer, who: str) -> None:
    if monitor.startswith("val_") and trainer.val_data is None:
        raise ValueError(
            f"{who} monitors {monitor!r} but the run has no held-out data: give val_data "
            f"(--val-fraction on the command line), or monitor 'train_loss'"
        )


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs; keep the best weights.

    With ``restore_best_weights`` (the default) the model ends with the weights of its best
    epoch whether or not training stopped early (also after Ctrl-C; not after a divergence,
    where the trainer's own roll-back applies).

    Args:
        monitor: a name from the epoch logs, ``"val_loss"`` by default.
        patience: epochs without improvement before stopping, ``>= 1``.
        min_delta: an improvement must beat the best by more than this.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (``max`` for names containing ``acc``).

    Attributes:
        best, best_epoch: the best value seen and its (1-based) epoch.
        stopped_epoch: the epoch after which training stopped, or 0.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 5,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best_weights: bool = True,
        verbose: bool = True,
    ) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"EarlyStopping: expected patience >= 1, received {patience!r}")
        if min_delta < 0:
            raise ValueError(f"EarlyStopping: expected min_delta >= 0, received {min_delta}")
        self.monitor, self.patience, self.min_delta = monitor, patience, float(min_delta)
        self.mode = _mode(monitor, mode)
        self.restore_best_weights, self.verbose = restore_best_weights, verbose
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = 0
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights: dict[str, np.ndarray] | None = None

    def _improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_train_begin(self, trainer: Trainer) -> None:
        _check_monitor(self.monitor, trainer, "EarlyStopping")

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> bool | None:
        value = _monitored(self.monitor, logs, "EarlyStopping")
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = trainer.model.state_dict()
            return None
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            if self.verbose:
                trainer.log(
                    f"early stopping after epoch {epoch}: {self.monitor} has not improved for "
                    f"{self.patience} epoch{'s' if self.patience != 1 else ''} "
                    f"(best {self.best:.4f} at epoch {self.best_epoch})"
                )
            return True
        return None

    def on_train_end(self, trainer: Trainer) -> None:
        if not self.restore_best_weights or self.best_weights is None or trainer.status == "diverged":
            return
        trainer.model.load_state_dict(self.best_weights)
        if self.verbose and (self.best_epoch != trainer.epoch or trainer.in_epoch):
            trainer.log(f"restored the weights of epoch {self.best_epoch} ({self.monitor} {self.best:.4f})")

    def state_dict(self) -> dict[str, Any] | None:
        return {
            "best": self.best,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "stopped_epoch": self.stopped_epoch,
            "best_weights": self.best_weights,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch = float(state["best"]), int(state["best_epoch"])
        self.wait, self.stopped_epoch = int(state["wait"]), int(state["stopped_epoch"])
        weights = state["best_weights"]
        self.best_weights = None if weights is None else {k: np.array(v) for k, v in weights.items()}


class ModelCheckpoint(Callback):
    """Save the model's weights (``.npz``, atomically) after epochs.

    Args:
        path: the file; ``{epoch}`` and log names (``{val_loss:.4f}``) are filled in.
        monitor: with ``save_best_only``, the log value that decides what is best.
        save_best_only: write only when ``monitor`` improves (else after every epoch).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        monitor: str = "val_loss",
        mode: str = "auto",
        save_best_only: bool = False,
    ) -> None:
        self.path, self.monitor, self.save_best_only = str(path), monitor, save_best_only
        self.mode = _mode(monitor, mode)
        self.best = math.inf if self.mode == "min" else -math.inf
        self.saved: list[Path] = []

    def on_train_begin(self, trainer: Trainer) -> None:
        if self.save_best_only:
            _check_monitor(self.monitor, trainer, "ModelCheckpoint")

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> bool | None:
        if self.save_best_only:
            value = _monitored(self.monitor, logs, "ModelCheckpoint")
            better = value < self.best if self.mode == "min" else value > self.best
            if not better:
                return None
            self.best = value
        path = Path(self.path.format(epoch=epoch, **logs))
        save_weights(trainer.model, path)
        self.saved.append(path)
        return None

    def state_dict(self) -> dict[str, Any] | None:
        return {"best": self.best}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = float(state["best"])


def history_rows(history: Any) -> tuple[list[str], list[list[Any]]]:
    """``(header, rows)``: one row per epoch, one column per recorded per-epoch list."""
    columns = [
        f.name
        for f in fields(history)
        if isinstance(getattr(history, f.name), list) and len(getattr(history, f.name)) == history.epochs
    ]
    rows = [[epoch + 1, *(getattr(history, c)[epoch] for c in columns)] for epoch in range(history.epochs)]
    return ["epoch", *columns], rows


class CSVLogger(Callback):
    """Write the history as CSV (one row per epoch) after every epoch, atomically.

    The whole file is rewritten from the trainer's history each time, so a resumed run's log
    continues exactly where the checkpoint left it.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> bool | None:
        write_history_csv(self.path, trainer.history)
        return None


def write_history_csv(path: str | os.PathLike[str], history: Any) -> None:
    """Write ``history`` as CSV (one row per epoch), atomically."""
    header, rows = history_rows(history)
    text = _io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    with atomic_write(path, "w") as handle:
        handle.write(text.getvalue())


class JSONLogger(Callback):
    """Write the history as JSON (``History.to_dict()``) after every epoch, atomically."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> bool | None:
        write_json(self.path, trainer.history.to_dict())
        return None


class ProfileLayers(Callback):
    """Time every layer's forward and backward pass during the training steps.

    Evaluation passes are left out, so the numbers describe one training step. After
    training, :meth:`table` gives each layer's milliseconds per call and its share of the
    whole step (forward, backward, loss, optimizer and data together).
    """

    def __init__(self) -> None:
        self.timings: dict[str, Any] = {}
        self.steps = 0
        self.step_seconds = 0.0
        self._profiler: Any = None
        self._start = 0.0

    def _stop(self) -> None:
        if self._profiler is None:
            return
        self._profiler.__exit__(None, None, None)
        self.step_seconds += time.perf_counter() - self._start
        for t in self._profiler.timings:
            total = self.timings.setdefault(t.name, type(t)(t.name, t.kind))
            total.forward_s += t.forward_s
            total.backward_s += t.backward_s
            total.forward_calls += t.forward_calls
            total.backward_calls += t.backward_calls
        self._profiler = None

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None:
        from convlens.inspect.profile import LayerProfiler

        self._profiler = LayerProfiler(trainer.model).__enter__()
        self._start = time.perf_counter()

    def on_batch_end(self, trainer: Trainer, batch: int, logs: dict[str, float]) -> None:
        self.steps += 1

    def on_validation_begin(self, trainer: Trainer, epoch: int) -> None:
        self._stop()

    def on_train_end(self, trainer: Trainer) -> None:
        self._stop()

    def table(self) -> str:
        """Per-layer ms per call (forward, backward) and share of the training step."""
        if not self.steps:
            return "no training step was timed"
        timings = list(self.timings.values())
        step_ms = 1e3 * self.step_seconds / self.steps
        width = max([len(f"{t.name} {t.kind}") for t in timings] + [len("rest (loss, optimizer, data)")])
        lines = [
            f"per-layer time of a training step ({self.steps} steps, {step_ms:.2f} ms per step):",
            f"{'layer':<{width}}  {'fwd ms':>8}  {'bwd ms':>8}  {'share':>6}",
        ]
        layers_s = 0.0
        for t in timings:
            fwd = 1e3 * t.forward_s / max(t.forward_calls, 1)
            bwd = 1e3 * t.backward_s / max(t.backward_calls, 1)
            layers_s += t.total_s
            share = 100 * t.total_s / self.step_seconds if self.step_seconds else 0.0
            lines.append(f"{t.name + ' ' + t.kind:<{width}}  {fwd:8.3f}  {bwd:8.3f}  {share:5.1f}%")
        rest = 100 * max(self.step_seconds - layers_s, 0.0) / self.step_seconds if self.step_seconds else 0.0
        lines.append(f"{'rest (loss, optimizer, data)':<{width}}  {'':>8}  {'':>8}  {rest:5.1f}%")
        return "\n".join(lines)
