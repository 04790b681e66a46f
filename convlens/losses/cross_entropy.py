"""Cross-entropy from logits (``CrossEntropyLoss``) and from log-probabilities (``NLLLoss``).

For logits z (N, K) and p = softmax(z), with a target distribution q per example
(one-hot for an integer label), class weights w and label smoothing ε:

    q'  = (1 − ε)·q + ε/K                         (smoothed target)
    ℓ_n = −Σ_k w_k q'_k log p_k = −Σ_k c_k log p_k,     c = w ⊙ q'
    dℓ_n/dz = p·Σ_k c_k − c                        (= p − q for one-hot q, no weights)

'mean' divides by N for probability targets, and by Σ_n w[y_n] over the examples not
ignored for integer labels (PyTorch's rule: a weighted mean). ``log p`` is computed as
``z − max z − log Σ e^(z − max z)``, which never overflows (the seeds' clipped
``log(softmax)`` loses precision when one probability underflows).

Inputs may carry extra axes, (N, K, d1, …) with targets (N, d1, …), as for segmentation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convlens.functional.activation import log_softmax
from convlens.losses.base import Loss


def _to_rows(scores: np.ndarray) -> np.ndarray:
    """(N, K, d1, …) -> (N·d1·…, K): class axis last, one row per prediction."""
    if scores.ndim == 2:
        return scores
    return np.moveaxis(scores, 1, -1).reshape(-1, scores.shape[1])


def _from_rows(rows: np.ndarray, like: np.ndarray) -> np.ndarray:
    if like.ndim == 2:
        return rows
    moved = (like.shape[0], *like.shape[2:], like.shape[1])
    return np.moveaxis(rows.reshape(moved), -1, 1)


class _ClassificationLoss(Loss):
    expected_prediction = "an array (N, K) or (N, K, d1, …) of real-valued class scores"
    expected_target = ("integer class labels (N,) / (N, d1, …), or class probabilities with the "
                       "scores' shape")

    def __init__(self, weight: np.ndarray | None = None, ignore_index: int = -100,
                 reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(
                f"{type(self).__name__}: label_smoothing must be in [0, 1], received {label_smoothing}"
            )
        self.weight = None if weight is None else np.asarray(weight, dtype=np.float64)
        self.ignore_index = int(ignore_index)
        self.label_smoothing = float(label_smoothing)

    def _coefficients(
        self, scores: np.ndarray, target: np.ndarray
    ) -> tuple[np.ndarray, float, np.ndarray | None]:
        """The matrix c (rows × K), the 'mean' denominator, and the per-row mask kept."""
        name = type(self).__name__
        if scores.ndim < 2:
            raise ValueError(
                f"{name} expects scores of shape (N, K) (or (N, K, d1, …)), received {scores.shape}"
            )
        k = scores.shape[1]
        if self.weight is not None and self.weight.shape != (k,):
            raise ValueError(
                f"{name}: weight must have one entry per class ({k}), received {self.weight.shape}"
            )
        weight = np.ones(k) if self.weight is None else self.weight
        target = np.asarray(target)
        eps = self.label_smoothing
        if np.issubdtype(target.dtype, np.integer) or target.dtype == bool:
            expected = (scores.shape[0], *scores.shape[2:])
            if target.shape != expected:
                raise ValueError(
                    f"{name}: integer labels must have shape {expected} for scores {scores.shape}, "
                    f"received {target.shape}"
                )
            labels = target.reshape(-1).astype(np.int64)
            keep = labels != self.ignore_index
            bad = keep & ((labels < 0) | (labels >= k))
            if bad.any():
                position = int(np.argmax(bad))
                raise ValueError(
                    f"{name}: label {labels[position]} at position {position} is out of range "
                    f"for {k} classes (expected 0 <= label < {k}); does the model's last layer "
                    "have one output per class?"
                )
            rows = labels.shape[0]
            coef = np.zeros((rows, k))
            idx = np.nonzero(keep)[0]
            coef[idx, labels[idx]] = (1 - eps) * weight[labels[idx]]
            if eps:
                coef[idx] += eps / k * weight
            denominator = float(weight[labels[idx]].sum())
            return coef, denominator, keep
        # probabilities or one-hot rows
        if target.shape != scores.shape:
            raise ValueError(
                f"{name}: targets must be integer labels of shape {(scores.shape[0], *scores.shape[2:])} "
                f"or class probabilities of shape {scores.shape}, received {target.shape} "
                f"({target.dtype})"
            )
        q = _to_rows(target).astype(np.float64)
        if eps:
            q = (1 - eps) * q + eps / k
        return q * weight, float(q.shape[0]), None


class CrossEntropyLoss(_ClassificationLoss):
    """Softmax + cross-entropy on logits, numerically stable (``torch.nn.CrossEntropyLoss``).

    Args:
        weight: optional class weights (K,).
        ignore_index: integer label whose examples contribute nothing (default −100).
        reduction: 'mean', 'sum' or 'none'.
        label_smoothing: ε in [0, 1]: the target becomes (1 − ε)·onehot + ε/K.

    Shape: logits (N, K) or (N, K, d1, …); target integer labels (N,) / (N, d1, …) or
    probabilities (one-hot or soft) with the logits' shape. Output: a float (or (N, …)).
    """

    def forward(self, logits: np.ndarray, target: np.ndarray) -> Any:
        logits = np.asarray(logits)
        coef, denominator, keep = self._coefficients(logits, target)
        logp = _to_rows(log_softmax(logits, axis=1)).astype(np.float64)
        per_row = -(coef * logp).sum(axis=1)
        self._cache = (np.exp(logp), coef, denominator, logits)
        values = per_row.reshape((logits.shape[0], *logits.shape[2:]))
        return self._reduce(values.astype(logits.dtype) if self.reduction == "none" else values,
                            denominator)

    def backward(self, grad: np.ndarray | float | None = None) -> np.ndarray:
        p, coef, denominator, logits = self._require_cache()
        rows = p * coef.sum(axis=1, keepdims=True) - coef
        scale = self._scale(grad, denominator)
        rows = rows * (scale.reshape(-1, 1) if scale.ndim else scale)
        return _from_rows(rows, logits).astype(logits.dtype, copy=False)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        if self.weight is not None:
            config["weight"] = self.weight.tolist()
        if self.ignore_index != -100:
            config["ignore_index"] = self.ignore_index
        if self.label_smoothing:
            config["label_smoothing"] = self.label_smoothing
        return config


class NLLLoss(_ClassificationLoss):
    """Negative log-likelihood on log-probabilities (after ``LogSoftmax``): ℓ = −w_y·logp_y."""

    def __init__(self, weight: np.ndarray | None = None, ignore_index: int = -100,
                 reduction: str = "mean") -> None:
        super().__init__(weight, ignore_index, reduction, 0.0)

    def forward(self, log_probs: np.ndarray, target: np.ndarray) -> Any:
        log_probs = np.asarray(log_probs)
        target = np.asarray(target)
        if not (np.issubdtype(target.dtype, np.integer) or target.dtype == bool):
            raise ValueError(f"NLLLoss expects integer labels, received dtype {target.dtype}")
        coef, denominator, _ = self._coefficients(log_probs, target)
        per_row = -(coef * _to_rows(log_probs)).sum(axis=1)
        self._cache = (coef, denominator, log_probs)
        values = per_row.reshape((log_probs.shape[0], *log_probs.shape[2:]))
        return self._reduce(values.astype(log_probs.dtype) if self.reduction == "none" else values,
                            denominator)

    def backward(self, grad: np.ndarray | float | None = None) -> np.ndarray:
        coef, denominator, log_probs = self._require_cache()
        scale = self._scale(grad, denominator)
        rows = -coef * (scale.reshape(-1, 1) if scale.ndim else scale)
        return _from_rows(rows, log_probs).astype(log_probs.dtype, copy=False)
