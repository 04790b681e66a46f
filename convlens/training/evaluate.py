"""`evaluate`: loss and accuracy of a model on a labelled set, in eval mode."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

EVAL_BATCH_SIZE = 500


class EvalResult(NamedTuple):
    """Mean loss per example and share of examples classified correctly (0..1)."""

    loss: float
    accuracy: float


def count_correct(logits: np.ndarray, y: np.ndarray) -> int:
    """Number of rows of ``logits`` ``(N, K)`` whose arg-max equals ``y`` ``(N,)``."""
    return int(np.count_nonzero(logits.argmax(axis=1) == y))


def evaluate(
    model: Any,
    loss_fn: Any,
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int = EVAL_BATCH_SIZE,
) -> EvalResult:
    """Loss and accuracy of ``model`` on ``(x, y)``.

    The model runs in eval mode (dropout off, batch norm on its running statistics) and gets
    its previous mode back afterwards. Batches only bound memory: the result is the mean over
    all examples whatever the batch size, given a loss that averages over its batch.

    Args:
        model: maps ``(B, C, H, W)`` float32 to ``(B, K)`` class scores.
        loss_fn: ``loss_fn(logits, y) -> float``, the mean over the batch.
        x: ``(N, C, H, W)`` inputs.
        y: ``(N,)`` integer labels.
        batch_size: examples per forward pass.

    Returns:
        ``EvalResult(loss, accuracy)``; unpack it as ``loss, acc = evaluate(...)``.
    """
    if len(x) != len(y):
        raise ValueError(f"expected as many labels as inputs, received {len(x)} inputs and {len(y)} labels")
    if len(x) == 0:
        raise ValueError("expected at least one example to evaluate, received 0")
    if batch_size < 1:
        raise ValueError(f"expected batch_size >= 1, received {batch_size}")
    was_training = model.training
    model.eval()
    total_loss, correct = 0.0, 0
    try:
        for start in range(0, len(x), batch_size):
            xb, yb = x[start : start + batch_size], y[start : start + batch_size]
            logits = model(xb)
            total_loss += float(loss_fn(logits, yb)) * len(yb)
            correct += count_correct(logits, yb)
    finally:
        model.train(was_training)
    return EvalResult(total_loss / len(x), correct / len(x))
