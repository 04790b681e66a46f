"""Evaluation in eval mode: `predict` (outputs), `evaluate_metrics` (loss and the task's
metrics) and `evaluate` (loss and accuracy, unpackable as a pair)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from convlens.functional.engine import no_grad
from convlens.training.tasks import Task, get_task

EVAL_BATCH_SIZE = 500


class EvalResult(NamedTuple):
    """Mean loss per example and share of examples classified correctly (0..1).

    ``accuracy`` is ``None`` for a regression loss; use :func:`evaluate_metrics` for MAE/RMSE.
    """

    loss: float
    accuracy: float | None

    def _repr_html_(self) -> str:
        """The two numbers as a small HTML table, which Jupyter shows for a cell's value."""
        from convlens.notebook import html_table

        accuracy = "" if self.accuracy is None else f"{self.accuracy:.2%}"
        return html_table(["loss", "accuracy"], [[f"{self.loss:.4f}", accuracy]], numeric={0, 1})


def count_correct(logits: np.ndarray, y: np.ndarray) -> int:
    """Number of rows of ``logits`` ``(N, K)`` whose arg-max equals ``y`` ``(N,)``."""
    return int(np.count_nonzero(logits.argmax(axis=1) == y))


def _check(x: np.ndarray, y: np.ndarray | None, batch_size: int) -> None:
    if y is not None and len(x) != len(y):
        raise ValueError(f"expected as many labels as inputs, received {len(x)} inputs and {len(y)} labels")
    if len(x) == 0:
        raise ValueError("expected at least one example to evaluate, received 0")
    if batch_size < 1:
        raise ValueError(f"expected batch_size >= 1, received {batch_size}")


def predict(model: Any, x: np.ndarray, batch_size: int = EVAL_BATCH_SIZE) -> np.ndarray:
    """The model's outputs for ``x``, computed in eval mode without keeping backward caches.

    The model gets its previous train/eval mode back afterwards.
    """
    _check(x, None, batch_size)
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            return np.concatenate([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])
    finally:
        model.train(was_training)


def evaluate_metrics(
    model: Any,
    loss_fn: Any,
    x: np.ndarray,
    y: np.ndarray,
    task: str | Task | None = None,
    batch_size: int = EVAL_BATCH_SIZE,
) -> dict[str, float]:
    """Mean loss and the task's metrics on ``(x, y)``, in eval mode.

    Returns:
        ``{"loss", "accuracy"}`` for classification and binary tasks, ``{"loss", "mae",
        "rmse"}`` for regression (the task follows from ``loss_fn`` unless named; see
        :func:`convlens.training.tasks.get_task`).
    """
    _check(x, y, batch_size)
    task = get_task(task, loss_fn)
    was_training = model.training
    model.eval()
    total_loss, sums = 0.0, dict[str, float]()
    try:
        with no_grad():
            for start in range(0, len(x), batch_size):
                xb, yb = x[start : start + batch_size], y[start : start + batch_size]
                outputs = model(xb)
                targets = task.targets(yb, outputs)
                total_loss += float(loss_fn(outputs, targets)) * len(yb)
                for key, value in task.batch_sums(outputs, targets).items():
                    sums[key] = sums.get(key, 0) + value
    finally:
        model.train(was_training)
    return {"loss": total_loss / len(x), **task.metrics(sums, len(x))}


def evaluate(
    model: Any,
    loss_fn: Any,
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int = EVAL_BATCH_SIZE,
    task: str | Task | None = None,
) -> EvalResult:
    """Loss and accuracy of ``model`` on ``(x, y)``.

    The model runs in eval mode (dropout off, batch norm on its running statistics) and gets
    its previous mode back afterwards. Batches only bound memory: the result is the mean over
    all examples whatever the batch size, given a loss that averages over its batch.

    Args:
        model: maps ``(B, C, H, W)`` float32 to ``(B, K)`` class scores.
        loss_fn: ``loss_fn(logits, y) -> float``, the mean over the batch.
        x: ``(N, C, H, W)`` inputs.
        y: ``(N,)`` integer labels (or the targets of a binary/regression loss).
        batch_size: examples per forward pass.
        task: ``"classification"``, ``"binary"`` or ``"regression"``; by default implied by
            ``loss_fn``.

    Returns:
        ``EvalResult(loss, accuracy)``; unpack it as ``loss, acc = evaluate(...)``.
    """
    result = evaluate_metrics(model, loss_fn, x, y, task, batch_size)
    return EvalResult(result["loss"], result.get("accuracy"))
