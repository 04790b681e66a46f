"""Training curves: loss and accuracy per epoch, training against held-out data."""

from __future__ import annotations

import os
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from convlens.io import atomic_write
from convlens.training.history import History


def plot_history(history: History, path: str | os.PathLike[str], title: str | None = None) -> Path:
    """Write the figure of :func:`history_figure` to ``path`` (PNG, or SVG for a ``.svg``
    path), atomically.

    Args:
        history: the :class:`~convlens.training.History` of a run, at least one epoch.
        path: the ``.png`` or ``.svg`` file to write.
        title: a heading above both panels, e.g. ``"lenet5 on mnist-5k"``.

    Returns:
        ``path`` as a ``Path``.
    """
    fig = history_figure(history, title)
    path = Path(path)
    fmt = "svg" if path.suffix.lower() == ".svg" else "png"
    with atomic_write(path, "wb") as handle:
        fig.savefig(handle, format=fmt)
    return path


def history_figure(history: History, title: str | None = None) -> Figure:
    """Two panels, loss and accuracy against epoch, train vs. val/test: over-fitting shows as
    a training curve that keeps improving while the held-out one stalls or worsens.

    Drawn on its own Agg canvas (no pyplot, no global backend switch, works without a display).
    """
    if history.epochs == 0:
        raise ValueError("expected a history with at least one epoch, received an empty one")
    epochs = list(range(1, history.epochs + 1))
    fig = Figure(figsize=(10, 4), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    loss_ax, acc_ax = fig.subplots(1, 2)
    panels = (
        (loss_ax, "loss", history.train_loss, history.val_loss, 1.0),
        (acc_ax, "accuracy (%)", history.train_accuracy, history.val_accuracy, 100.0),
    )
    for ax, label, train, held_out, scale in panels:
        ax.plot(epochs, [v * scale for v in train], "o-", label="train")
        if history.has_val:
            ax.plot(epochs, [v * scale for v in held_out], "s-", label=history.val_name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        ax.legend()
        ax.xaxis.get_major_locator().set_params(integer=True)
    if history.has_val:
        best = max(history.val_accuracy)
        acc_ax.set_title(
            f"last {history.val_name}: {history.val_accuracy[-1]:.2%}, best: {best:.2%}", fontsize=10
        )
    if title:
        fig.suptitle(title)
    return fig
