"""Checks that labels fit the model before any training time is spent."""

from __future__ import annotations

from typing import Any

import numpy as np


def example_output_shape(model: Any, x: np.ndarray) -> tuple[int, ...]:
    """Shape of one example's output (``(K,)`` for K class scores), from one forward pass on
    ``x[:1]`` in eval mode.

    The model's train/eval mode is restored afterwards, and eval mode keeps batch-norm running
    statistics untouched.
    """
    was_training = model.training
    model.eval()
    try:
        out = model(x[:1])
    finally:
        model.train(was_training)
    return tuple(int(n) for n in np.shape(out)[1:])


def num_outputs(model: Any, x: np.ndarray) -> int:
    """The model's number of class scores ``K`` (see :func:`example_output_shape`)."""
    shape = example_output_shape(model, x)
    if len(shape) != 1:
        raise ValueError(
            f"expected the model to output class scores of shape (N, K), received {(1, *shape)}")
    return shape[0]


def check_labels(y: np.ndarray, n_outputs: int, what: str = "labels") -> None:
    """Raise ``ValueError`` unless ``y`` holds integer class indices in ``[0, n_outputs)``.

    A model with ``K`` outputs scores classes ``0 .. K-1``; a label ``K`` or above has no
    output to score it, and cross-entropy would silently index the wrong place (or crash).
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"expected {what} of shape (N,), received {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"expected integer class indices as {what}, received dtype {y.dtype}")
    if y.size == 0:
        return
    low, high = int(y.min()), int(y.max())
    if low < 0:
        raise ValueError(
            f"{what} out of range: expected class indices in [0, {n_outputs - 1}], "
            f"received {low} (labels span [{low}, {high}]); labels must not be negative"
        )
    if high >= n_outputs:
        raise ValueError(
            f"{what} out of range: the model has {n_outputs} outputs, so expected labels in "
            f"[0, {n_outputs - 1}], received {high} (labels span [{low}, {high}]). "
            f"Build the model with {high + 1} outputs (num_classes={high + 1}) or fix the labels."
        )
