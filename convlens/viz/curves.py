"""Training curves: loss and accuracy per epoch, training against held-out data."""

from __future__ import annotations

import math
import os
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from convlens.io import atomic_write
from convlens.training.history import History
from convlens.viz.overlay import new_figure


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

    The epoch axis has whole epochs only, half an epoch of margin on each side; the loss axis
    starts at 0 for losses that cannot go below it, and accuracy stays within 0–100 %. A run of
    one epoch shows its values as points, with the numbers in the legend (a line needs two).
    Drawn on its own Agg canvas (no pyplot, no global backend switch, works without a display).
    """
    if history.epochs == 0:
        raise ValueError("expected a history with at least one epoch, received an empty one")
    epochs = list(range(1, history.epochs + 1))
    fig = new_figure(10, 4)
    loss_ax, acc_ax = fig.subplots(1, 2)
    panels = (
        (loss_ax, "loss", history.train_loss, history.val_loss, 1.0),
        (acc_ax, "accuracy (%)", history.train_accuracy, history.val_accuracy, 100.0),
    )
    single = history.epochs == 1
    for ax, label, train, held_out, scale in panels:
        series = [("train", "o-", train)] + ([(history.val_name, "s-", held_out)] if history.has_val else [])
        values = []
        for name, style, data in series:
            points = [v * scale for v in data]
            values += points
            if single and points:  # one point: its value in the legend, where nothing covers it
                name += f": {points[0]:.2f} %" if scale == 100.0 else f": {points[0]:.4f}"
            ax.plot(epochs[:len(points)], points, style, label=name, markersize=8 if single else 6)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        ax.set_xlim(0.5, history.epochs + 0.5)
        if history.epochs <= 12:
            ax.set_xticks(epochs)
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if values:
            _sensible_limits(ax, values, scale == 100.0, single)
            ax.legend()
    if history.has_val:
        best = max(history.val_accuracy)
        acc_ax.set_title(
            f"last {history.val_name}: {history.val_accuracy[-1]:.2%}, best: {best:.2%}", fontsize=10
        )
    if title:
        fig.suptitle(title)
    return fig


def _sensible_limits(ax: Axes, values: list[float], percent: bool, single: bool) -> None:
    """Losses from 0 when none is negative; percentages within 0–100, all of it for one epoch
    (a lone point on a span of a few hundredths of a percent tells nothing)."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return
    low, high = min(finite), max(finite)
    if percent:
        if single:
            ax.set_ylim(0, 100)
        else:
            pad = max((high - low) * 0.08, 0.5)
            ax.set_ylim(max(0.0, low - pad), min(100.0, high + pad))
    elif low >= 0:
        ax.set_ylim(0, high * 1.1 if high > 0 else 1.0)
