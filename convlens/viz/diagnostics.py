"""Where a classifier goes wrong: confusion matrix and a grid of misclassified examples.

(``confusion_matrix`` is :func:`convlens.training.metrics.confusion_matrix`, re-exported.)

The confusion matrix counts, for every pair (true class i, predicted class j), how many
examples of class i the model called j: the diagonal holds the correct answers, every other
cell one kind of mistake ("4 taken for 9").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.textpath import TextPath

from convlens.layers.module import Module
from convlens.training.evaluate import predict as predict_scores
from convlens.training.metrics import class_labels, confusion_matrix  # noqa: F401  (re-exported)
from convlens.viz.overlay import grid_shape, new_figure, show_image


def predict(model: Module, x: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Predicted classes ``(N,)``: the arg-max of the scores, computed in eval mode, batch by
    batch, without keeping backward caches (:func:`convlens.training.evaluate.predict`)."""
    scores = np.asarray(predict_scores(model, x, batch_size))
    if scores.ndim != 2:
        raise ValueError(f"expected class scores (N, K) from the model, received shape {scores.shape}")
    return scores.argmax(axis=1)


def plot_confusion_matrix(cm: np.ndarray, class_names: Sequence[str] | None = None,
                          normalize: bool = False, title: str | None = None) -> Figure:
    """The matrix as a heat map, each cell annotated with its count (or row share).

    ``normalize=True`` divides each row by its total: the diagonal becomes the recall of
    each class. The title gives the overall accuracy.
    """
    cm = np.asarray(cm)
    k = cm.shape[0]
    if cm.ndim != 2 or cm.shape[1] != k:
        raise ValueError(f"expected a square (K, K) matrix, received shape {cm.shape}")
    names = [str(i) for i in range(k)] if class_names is None else [str(n) for n in class_names]
    totals = cm.sum(axis=1, keepdims=True)
    values = cm / np.maximum(totals, 1) if normalize else cm
    size = 2.5 + 0.45 * k
    fig = new_figure(size + 1.2, size)
    ax = fig.subplots()
    shown = ax.imshow(values, cmap="Blues", vmin=0)
    fig.colorbar(shown, ax=ax, label="share of the true class" if normalize else "examples", shrink=0.8)
    threshold = values.max() / 2 if values.size else 0
    for i in range(k):
        for j in range(k):
            text = f"{values[i, j]:.2f}" if normalize else str(int(cm[i, j]))
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color="white" if values[i, j] > threshold else "black")
    ax.set_xticks(range(k), names, rotation=45 if max(map(len, names)) > 2 else 0)
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    total = int(cm.sum())
    acc = np.trace(cm) / total if total else float("nan")
    ax.set_title(title or f"confusion matrix: {total} examples, accuracy {acc:.2%}", fontsize=10)
    return fig


def misclassified(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Indices of the examples whose prediction differs from the label, in order."""
    y_true, y_pred = class_labels(y_true, "y_true"), class_labels(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"expected as many predictions as labels, received {y_pred.shape} and {y_true.shape}")
    return np.flatnonzero(y_true != y_pred)


def _show_example(ax: Axes, x: np.ndarray) -> None:
    """One input, channels first: an image (2-D), a line (1-D) or the middle slice (3-D)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2:
        for channel in x:
            ax.plot(channel, lw=1)
        ax.set_xticks([])
        ax.set_yticks([])
    elif x.ndim == 3:
        show_image(ax, x)
    elif x.ndim == 4:
        show_image(ax, x[:, x.shape[1] // 2])
    else:
        raise ValueError(f"expected one example (C, L), (C, H, W) or (C, D, H, W), received {x.shape}")


def example_title(index: int, pred: int, true: int, names: Sequence[str] | None = None,
                  wrap: bool = False) -> str:
    """``"#17: pred 3, true 5"`` (class names when given); ``wrap`` puts ``true …`` on a
    second line, for class names too long for one."""
    p = names[pred] if names is not None else pred
    t = names[true] if names is not None else true
    return f"#{index}: pred {p}" + ("\n" if wrap else ", ") + f"true {t}"


def text_width(text: str, fontsize: float) -> float:
    """Width in inches of ``text`` in matplotlib's default font at ``fontsize`` points (its
    widest line)."""
    return max(TextPath((0, 0), line or " ", size=fontsize).get_extents().width
               for line in text.split("\n")) / 72.0


def plot_misclassified(x: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray,
                       class_names: Sequence[str] | None = None, max_examples: int = 36,
                       ncols: int = 9) -> Figure:
    """A grid of the misclassified examples, each titled ``#index: pred P, true T``.

    The first ``max_examples`` mistakes in index order are drawn; the title says how many
    there are in all. :func:`misclassified` gives all their indices. Titles that do not fit
    over their picture (long class names such as Fashion-MNIST's "T-shirt/top") go on two
    lines, and the columns widen to the longest title, so no two titles overlap.
    """
    wrong = misclassified(y_true, y_pred)
    if len(x) != len(y_true):
        raise ValueError(f"expected one input per label, received {len(x)} inputs and {len(y_true)} labels")
    shown = wrong[:max_examples]
    if len(shown) == 0:
        fig = new_figure(5, 2)
        ax = fig.subplots()
        ax.axis("off")
        ax.text(0.5, 0.5, f"no misclassified examples among {len(y_true)}", ha="center", va="center")
        ax.set_title("misclassified examples", fontsize=10)
        return fig
    rows, cols = grid_shape(len(shown), ncols)
    image, fontsize, margin = 1.2, 7, 0.1  # inches, points, inches
    titles = [example_title(int(i), int(y_pred[i]), int(y_true[i]), class_names) for i in shown]
    wrap = max(text_width(t, fontsize) for t in titles) > image + 0.15
    if wrap:
        titles = [example_title(int(i), int(y_pred[i]), int(y_true[i]), class_names, wrap=True)
                  for i in shown]
    column = max(image + 0.25, max(text_width(t, fontsize) for t in titles) + 0.2)
    title_height = (2 if wrap else 1) * 0.14 + 0.08
    head = 0.45  # the figure's title
    width = cols * column + 2 * margin
    height = head + rows * (image + title_height) + margin
    fig = new_figure(width, height, layout=None)
    fig.subplots_adjust(left=margin / width, right=1 - margin / width, bottom=margin / height,
                        top=1 - (head + title_height) / height, wspace=(column - image) / image,
                        hspace=title_height / image)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax in axes[len(shown):]:
        fig.delaxes(ax)
    for ax, i, title in zip(axes, shown, titles):
        _show_example(ax, x[i])
        ax.set_title(title, fontsize=fontsize)
    count = f"first {len(shown)} of {len(wrong)}" if len(shown) < len(wrong) else f"all {len(wrong)}"
    fig.suptitle(f"misclassified examples: {count} (of {len(y_true)})", fontsize=10,
                 y=1 - 0.12 / height, va="top")
    return fig
