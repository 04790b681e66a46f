"""Metrics of a trained model, from its outputs and the true targets: one home for the counting.

Classification, with scores ``(N, K)`` and labels ``y`` ``(N,)``:

    accuracy          share of rows whose arg-max is the label
    top-k accuracy    share of rows where fewer than k classes score strictly higher than the label
    confusion matrix  C[i, j] = number of examples of true class i predicted as class j
    precision_j       C[j, j] / Σ_i C[i, j]   (of the examples predicted j, the share that are j)
    recall_j          C[j, j] / Σ_j' C[j, j'] (of the examples of class j, the share found)
    F1_j              2·precision_j·recall_j / (precision_j + recall_j)

A class never predicted has no precision (0/0) and a class with no examples no recall; both
are reported as 0, as scikit-learn does by default (``zero_division=0``).

Binary, with one logit per example: predicted positive when the logit is above the threshold
(0 for logits, i.e. σ(x) > 0.5), then the 2×2 confusion matrix and the positive class's
precision and recall. Regression, with predictions and targets alike in shape:

    MAE = mean |ŷ − y|        RMSE = √(mean (ŷ − y)²)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def class_labels(y: np.ndarray, name: str) -> np.ndarray:
    """``y`` as an int64 vector of class indices, or an error naming ``name``."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"expected {name} of shape (N,), received {y.shape}")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"expected integer class indices as {name}, received dtype {y.dtype}")
    return y.astype(np.int64, copy=False)


def _scores(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores)
    if scores.ndim != 2 or len(scores) != len(y):
        raise ValueError(f"expected scores of shape ({len(y)}, K), received {scores.shape}")
    return scores


def accuracy(scores: np.ndarray, y_true: np.ndarray) -> float:
    """Share of rows of ``scores`` ``(N, K)`` whose arg-max equals ``y_true`` ``(N,)``."""
    y = class_labels(y_true, "y_true")
    if y.size == 0:
        raise ValueError("expected at least one example, received 0")
    return float(np.count_nonzero(_scores(scores, y).argmax(axis=1) == y)) / len(y)


def top_k_accuracy(scores: np.ndarray, y_true: np.ndarray, k: int = 5) -> float:
    """Share of examples whose true class is among the ``k`` highest scores.

    An example counts as correct when fewer than ``k`` classes score strictly higher than its
    true class (ties favour the true class). ``k = 1`` is the accuracy up to ties.
    """
    y = class_labels(y_true, "y_true")
    scores = _scores(scores, y)
    if not 1 <= k <= scores.shape[1]:
        raise ValueError(f"expected 1 <= k <= {scores.shape[1]} (the number of classes), received k={k}")
    if y.size == 0:
        raise ValueError("expected at least one example, received 0")
    true_score = scores[np.arange(len(y)), y]
    higher = np.count_nonzero(scores > true_score[:, None], axis=1)
    return float(np.count_nonzero(higher < k)) / len(y)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int | None = None) -> np.ndarray:
    """``(K, K)`` int64 counts: row = true class, column = predicted class.

    >>> confusion_matrix(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 0]))
    array([[1, 1, 0],
           [0, 1, 0],
           [1, 0, 0]])
    """
    t, p = class_labels(y_true, "y_true"), class_labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"expected y_true and y_pred of one shape, received {t.shape} and {p.shape}")
    seen = int(max(t.max(initial=-1), p.max(initial=-1))) + 1
    k = seen if num_classes is None else int(num_classes)
    low = int(min(t.min(initial=0), p.min(initial=0)))
    if seen > k or low < 0:
        raise ValueError(f"expected labels in [0, {k - 1}], received labels in [{low}, {seen - 1}]")
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.zeros(num.shape, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def precision_recall_f1(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Per-class precision, recall, F1 and support (examples per true class) of a confusion
    matrix; 0 where a ratio would be 0/0."""
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"expected a square confusion matrix, received shape {cm.shape}")
    hits = np.diag(cm).astype(np.float64)
    predicted, support = cm.sum(axis=0), cm.sum(axis=1)
    precision, recall = _ratio(hits, predicted), _ratio(hits, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    return {"precision": precision, "recall": recall, "f1": f1, "support": support.astype(np.int64)}


def classification_report(
    scores: np.ndarray,
    y_true: np.ndarray,
    class_names: Sequence[str] | None = None,
    top_k: Sequence[int] = (5,),
) -> dict[str, Any]:
    """Everything ``metrics.json`` records about a classifier on a labelled set, JSON-ready.

    Returns:
        ``{"accuracy", "top_k_accuracy": {"5": …}, "per_class": [{"class", "precision",
        "recall", "f1", "support"}, …], "confusion_matrix": [[…], …]}``. Top-k entries with
        ``k`` ≥ the number of classes (always 1) are left out.
    """
    y = class_labels(y_true, "y_true")
    scores = _scores(scores, y)
    k = scores.shape[1]
    names = [str(c) for c in (class_names if class_names is not None else range(k))]
    if len(names) != k:
        raise ValueError(f"expected {k} class names (one per output), received {len(names)}")
    cm = confusion_matrix(y, scores.argmax(axis=1), k)
    per_class = precision_recall_f1(cm)
    return {
        "accuracy": accuracy(scores, y),
        "top_k_accuracy": {str(n): top_k_accuracy(scores, y, n) for n in top_k if n < k},
        "per_class": [
            {"class": names[j], **{key: per_class[key][j].item() for key in per_class}} for j in range(k)
        ],
        "confusion_matrix": cm.tolist(),
    }


def binary_report(outputs: np.ndarray, targets: np.ndarray, threshold: float = 0.0) -> dict[str, Any]:
    """Accuracy, the positive class's precision/recall/F1 and the 2×2 confusion matrix.

    Args:
        outputs: ``(N, 1)`` or ``(N,)`` logits (``threshold`` 0) or probabilities (0.5).
        targets: the same shape, 1 for positive and 0 for negative (probabilities are
            rounded at 0.5).
    """
    outputs, targets = np.asarray(outputs), np.asarray(targets)
    if outputs.shape != targets.shape:
        raise ValueError(
            f"expected outputs and targets of one shape, received {outputs.shape} and {targets.shape}"
        )
    pred = (outputs.reshape(-1) > threshold).astype(np.int64)
    true = (targets.reshape(-1) > 0.5).astype(np.int64)
    cm = confusion_matrix(true, pred, 2)
    stats = precision_recall_f1(cm)
    return {
        "accuracy": float(np.count_nonzero(pred == true)) / len(true),
        "precision": stats["precision"][1].item(),
        "recall": stats["recall"][1].item(),
        "f1": stats["f1"][1].item(),
        "positives": int(true.sum()),
        "confusion_matrix": cm.tolist(),
    }


def regression_report(predictions: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    """``{"mae", "rmse"}`` over all elements of ``predictions`` and ``targets`` (one shape)."""
    predictions, targets = np.asarray(predictions), np.asarray(targets)
    if predictions.shape != targets.shape:
        raise ValueError(
            f"expected predictions and targets of one shape, received {predictions.shape} and {targets.shape}"
        )
    d = predictions.astype(np.float64) - targets
    return {"mae": float(np.abs(d).mean()), "rmse": float(np.sqrt((d * d).mean()))}
