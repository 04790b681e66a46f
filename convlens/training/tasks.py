"""What a model is trained to do, and so which targets it needs and which metrics describe it.

==================  ==========================  =========================  ======================
task                model output, targets       loss                       metrics
==================  ==========================  =========================  ======================
``classification``  ``(N, K)`` scores,          ``CrossEntropyLoss``       accuracy (top-k and
                    ``(N,)`` int labels                                    per class in reports)
``binary``          ``(N, 1)`` logit, ``(N,)``  ``BCEWithLogitsLoss``      accuracy: positive
                    or ``(N, 1)``, 0 or 1       (``BCELoss`` on σ(x))      when the logit is > 0
``regression``      ``(N, T)``, ``(N, T)``      ``MSELoss``, ``L1Loss``    MAE, RMSE
                    (or ``(N,)`` when T = 1)
==================  ==========================  =========================  ======================

The names are those of :attr:`convlens.data.Dataset.task`; ``"classify"`` and ``"regress"``
are accepted too. :func:`get_task` picks the task from the loss when it is not named. Each task
checks targets against the model's output shape before training (a label with no output to
score it, targets of another width) and accumulates its metrics batch by batch as sums, so an
epoch's metric is exact whatever the batch sizes. A ``(N,)`` target for a single output is
used as the column ``(N, 1)`` (as float), so a dataset's binary labels and 1-D regression
targets feed ``BCEWithLogitsLoss`` and ``MSELoss`` directly.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from convlens.training import metrics
from convlens.training.labels import check_labels

TASKS = ("classification", "binary", "regression")
ALIASES = {"classify": "classification", "regress": "regression"}


class Task:
    """Base of the three tasks; see the module docstring."""

    name: ClassVar[str]
    metric_names: ClassVar[tuple[str, ...]]

    def check_targets(self, y: np.ndarray, output_shape: tuple[int, ...], what: str) -> None:
        """Raise ``ValueError`` unless ``y`` fits outputs of shape ``(N, *output_shape)``."""
        raise NotImplementedError

    def targets(self, y: np.ndarray, outputs: np.ndarray) -> np.ndarray:
        """``y`` as the loss and the metrics take it next to ``outputs`` (checked already)."""
        return y

    def batch_sums(self, outputs: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """Sums over one batch from which :meth:`metrics` computes the epoch's metrics."""
        raise NotImplementedError

    def metrics(self, sums: dict[str, float], count: int) -> dict[str, float]:
        """The metrics from sums accumulated over ``count`` examples."""
        raise NotImplementedError

    def format(self, loss: float, values: dict[str, float], prefix: str = "") -> str:
        """``"loss 0.1235 acc 98.77%"`` (or ``mae`` for regression), with ``prefix`` on each name."""
        raise NotImplementedError

    def report(self, outputs: np.ndarray, y: np.ndarray, class_names: Any = None) -> dict[str, Any]:
        """The detailed test-set metrics recorded in ``metrics.json``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _accuracy_text(loss: float, values: dict[str, float], prefix: str) -> str:
    return f"{prefix}loss {loss:.4f} {prefix}acc {values['accuracy']:.2%}"


class Classification(Task):
    name = "classification"
    metric_names = ("accuracy",)

    def check_targets(self, y: np.ndarray, output_shape: tuple[int, ...], what: str) -> None:
        if len(output_shape) != 1:
            raise ValueError(
                f"classification expects the model to output class scores of shape (N, K), "
                f"received (N, {', '.join(map(str, output_shape))})"
            )
        check_labels(y, output_shape[0], what)

    def batch_sums(self, outputs: np.ndarray, y: np.ndarray) -> dict[str, float]:
        return {"correct": int(np.count_nonzero(outputs.argmax(axis=1) == y))}

    def metrics(self, sums: dict[str, float], count: int) -> dict[str, float]:
        return {"accuracy": sums["correct"] / count}

    def format(self, loss: float, values: dict[str, float], prefix: str = "") -> str:
        return _accuracy_text(loss, values, prefix)

    def report(self, outputs: np.ndarray, y: np.ndarray, class_names: Any = None) -> dict[str, Any]:
        return metrics.classification_report(outputs, y, class_names)


def _check_same_shape(task: str, y: np.ndarray, output_shape: tuple[int, ...], what: str) -> None:
    y = np.asarray(y)
    expected = (len(y), *output_shape)
    if y.shape == expected or (output_shape == (1,) and y.shape == expected[:1]):
        return
    width = 1 if y.ndim == 1 else int(np.prod(y.shape[1:]))
    hint = f"; build the model with {width} output{'s' if width != 1 else ''} (num_classes={width})"
    shape = f"({len(y)},) or {expected}" if output_shape == (1,) else str(expected)
    raise ValueError(
        f"{what} do not match the model's output size: the model gives {expected[1:]} outputs "
        f"per example, so the {task} task expects targets of shape {shape}, received {y.shape}{hint}"
    )


def _as_column(y: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 1 and outputs.ndim == 2:
        y = y[:, None]
    return y.astype(outputs.dtype, copy=False)


class Binary(Task):
    """One output per example: a logit (``threshold=0``) or a probability (``threshold=0.5``)."""

    name = "binary"
    metric_names = ("accuracy",)

    def __init__(self, threshold: float = 0.0) -> None:
        self.threshold = float(threshold)

    def check_targets(self, y: np.ndarray, output_shape: tuple[int, ...], what: str) -> None:
        if output_shape != (1,):
            raise ValueError(
                f"the binary task needs one output per example (a single logit), the model gives "
                f"{'x'.join(map(str, output_shape))}: build it with num_classes=1, or train "
                "with CrossEntropyLoss for several classes"
            )
        _check_same_shape(self.name, y, output_shape, what)
        y = np.asarray(y)
        if not np.issubdtype(y.dtype, np.number) or np.issubdtype(y.dtype, np.complexfloating):
            raise ValueError(f"expected numbers as {what}, received dtype {y.dtype}")
        if y.size and (y.min() < 0 or y.max() > 1):
            raise ValueError(
                f"{what} out of range: binary targets are 1 (positive) or 0 (negative), or "
                f"probabilities in [0, 1], received values in [{y.min():g}, {y.max():g}]; "
                "for class indices use CrossEntropyLoss"
            )

    def targets(self, y: np.ndarray, outputs: np.ndarray) -> np.ndarray:
        return _as_column(y, outputs)

    def batch_sums(self, outputs: np.ndarray, y: np.ndarray) -> dict[str, float]:
        return {"correct": int(np.count_nonzero((outputs > self.threshold) == (y > 0.5)))}

    def metrics(self, sums: dict[str, float], count: int) -> dict[str, float]:
        return {"accuracy": sums["correct"] / count}

    def format(self, loss: float, values: dict[str, float], prefix: str = "") -> str:
        return _accuracy_text(loss, values, prefix)

    def report(self, outputs: np.ndarray, y: np.ndarray, class_names: Any = None) -> dict[str, Any]:
        return metrics.binary_report(outputs, self.targets(y, outputs), self.threshold)

    def __repr__(self) -> str:
        return f"Binary(threshold={self.threshold:g})"


class Regression(Task):
    name = "regression"
    metric_names = ("mae", "rmse")

    def check_targets(self, y: np.ndarray, output_shape: tuple[int, ...], what: str) -> None:
        _check_same_shape(self.name, y, output_shape, what)
        if not np.issubdtype(np.asarray(y).dtype, np.number):
            raise ValueError(f"expected numbers as {what}, received dtype {np.asarray(y).dtype}")

    def targets(self, y: np.ndarray, outputs: np.ndarray) -> np.ndarray:
        return _as_column(y, outputs)

    def batch_sums(self, outputs: np.ndarray, y: np.ndarray) -> dict[str, float]:
        d = outputs.astype(np.float64) - y
        return {"abs": float(np.abs(d).sum()), "sq": float((d * d).sum()), "count": int(d.size)}

    def metrics(self, sums: dict[str, float], count: int) -> dict[str, float]:
        n = sums["count"]
        return {"mae": sums["abs"] / n, "rmse": math.sqrt(sums["sq"] / n)}

    def format(self, loss: float, values: dict[str, float], prefix: str = "") -> str:
        return f"{prefix}loss {loss:.4f} {prefix}mae {values['mae']:.4f}"

    def report(self, outputs: np.ndarray, y: np.ndarray, class_names: Any = None) -> dict[str, Any]:
        return metrics.regression_report(outputs, self.targets(y, outputs))


def get_task(task: str | Task | None, loss_fn: Any = None) -> Task:
    """The task named ``task``, or the one ``loss_fn`` implies when ``task`` is ``None``.

    ``BCEWithLogitsLoss`` implies ``binary`` (logits, threshold 0), ``BCELoss`` ``binary`` on
    probabilities (threshold 0.5), ``MSELoss``, ``L1Loss``, ``HuberLoss`` and ``SmoothL1Loss``
    imply ``regression``; any other loss (cross-entropy, or a custom one) ``classification``.
    """
    from convlens.losses import BCELoss, BCEWithLogitsLoss, HuberLoss, L1Loss, MSELoss, SmoothL1Loss

    if isinstance(task, Task):
        return task
    if task is None:
        if isinstance(loss_fn, BCEWithLogitsLoss):
            return Binary(0.0)
        if isinstance(loss_fn, BCELoss):
            return Binary(0.5)
        if isinstance(loss_fn, (MSELoss, L1Loss, HuberLoss, SmoothL1Loss)):
            return Regression()
        return Classification()
    name = ALIASES.get(task, task)
    if name == "classification":
        return Classification()
    if name == "binary":
        return Binary(0.5 if isinstance(loss_fn, BCELoss) else 0.0)
    if name == "regression":
        return Regression()
    raise ValueError(f"unknown task {task!r}: expected one of {', '.join(TASKS)}")
