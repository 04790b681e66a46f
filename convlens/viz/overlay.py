"""Drawing helpers shared by the visualizations: figures without pyplot, atomic saving,
and a heat map laid over its input in 1-D, 2-D and 3-D.

Every figure is a :class:`Picture`, a :class:`matplotlib.figure.Figure` on its own Agg canvas:
no pyplot state, no global backend switch, no display needed (servers, CI, tests). Show one in
a notebook by leaving it as the cell's value (it draws itself as a PNG, without
``%matplotlib inline`` or pyplot), or save it with :func:`save_figure`.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure, FigureBase, SubFigure

from convlens.io import atomic_write

FORMATS = ("png", "svg")
HEAT_CMAP = "jet"  # the usual Grad-CAM colours: blue = no evidence, red = strong evidence


class Picture(Figure):
    """A matplotlib Figure that Jupyter shows inline: ``_repr_png_`` renders it as PNG.

    A plain Figure made without pyplot has no inline display unless the inline backend was
    switched on; this one shows as a picture when it is a cell's value, in any kernel.
    """

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png")
        return buffer.getvalue()


class Pictures(dict):
    """Figures by name (``plot_model_filters``): a dict that Jupyter shows as the pictures, one
    below the other, each under its name."""

    def _repr_html_(self) -> str:
        import base64
        import html

        parts = []
        for name, fig in self.items():
            png = base64.b64encode(fig._repr_png_()).decode("ascii")
            parts.append(f"<figure><figcaption>{html.escape(str(name))}</figcaption>"
                         f'<img src="data:image/png;base64,{png}" alt="{html.escape(str(name))}"></figure>')
        return "".join(parts)


def new_figure(width: float, height: float, dpi: int = 100,
               layout: Literal["constrained", "compressed", "tight"] | None = "constrained") -> Picture:
    """An empty :class:`Picture` (inches) on an Agg canvas, with constrained layout unless told
    otherwise (grids of many small panels lay out faster by hand: ``layout=None``)."""
    fig = Picture(figsize=(width, height), dpi=dpi, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def subfigure_list(fig: Figure, rows: int, cols: int, **kwargs: Any) -> list[SubFigure]:
    """``fig.subfigures(rows, cols)`` as a flat list, row by row."""
    subs = cast(np.ndarray, fig.subfigures(rows, cols, squeeze=False, **kwargs))
    return list(subs.ravel())


def save_figure(fig: Figure, path: str | os.PathLike[str], format: str | None = None) -> Path:
    """Write ``fig`` to ``path`` atomically as PNG or SVG (from ``format`` or the suffix).

    The file appears complete or not at all: it is written beside ``path`` first and moved
    into place (:func:`convlens.io.atomic_write`).
    """
    path = Path(path)
    fmt = (format or path.suffix.lstrip(".") or "png").lower()
    if fmt not in FORMATS:
        raise ValueError(f"expected a format in {FORMATS}, received {fmt!r} (for {path})")
    with atomic_write(path, "wb") as handle:
        fig.savefig(handle, format=fmt)
    return path


def normalize01(a: np.ndarray) -> np.ndarray:
    """``(a − min) / (max − min)`` in float64; an all-constant array becomes all zeros."""
    a = np.asarray(a, dtype=np.float64)
    finite = a[np.isfinite(a)]
    if finite.size == 0:
        return np.zeros_like(a)
    lo, hi = finite.min(), finite.max()
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


def display_scale(heatmap: np.ndarray) -> np.ndarray:
    """A heat map in [0, 1] for drawing: ``h / max h`` when ``h ≥ 0``, else min-max scaled.

    NaN and ±inf become 0, so that a broken map shows as empty rather than failing to draw.
    """
    heat = np.nan_to_num(np.asarray(heatmap, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    if heat.min(initial=0.0) >= 0:
        top = heat.max(initial=0.0)
        return heat / top if top > 0 else heat
    return normalize01(heat)


def grid_shape(n: int, max_cols: int = 8) -> tuple[int, int]:
    """Rows and columns of a grid for ``n`` panels, at most ``max_cols`` wide."""
    cols = max(1, min(n, max_cols))
    return (n + cols - 1) // cols, cols


def middle_slices(volume: np.ndarray, count: int = 4) -> list[int]:
    """``count`` evenly spaced depth indices of a ``(D, H, W)`` volume (all if D is small)."""
    depth = volume.shape[0]
    if depth <= count:
        return list(range(depth))
    return sorted({int(round(i)) for i in np.linspace(0, depth - 1, count)})


def show_image(ax: Axes, image: np.ndarray, title: str | None = None, **kwargs: Any) -> Any:
    """``imshow`` of one ``(C, H, W)``/``(H, W)`` input without ticks; RGB when C is 3."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[0] == 3:
        shown = ax.imshow(np.clip(normalize01(image).transpose(1, 2, 0), 0, 1), **kwargs)
    else:
        if image.ndim == 3:
            image = image.mean(axis=0)
        kwargs.setdefault("cmap", "gray")
        shown = ax.imshow(image, **kwargs)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    return shown


def overlay_heatmap(fig: FigureBase, x: np.ndarray, heatmap: np.ndarray, title: str = "",
                    label: str = "relevance (max = 1)", alpha: float = 0.5,
                    axes: list[Axes] | None = None) -> list[Axes]:
    """Draw ``heatmap`` over the input ``x`` (one example, channels first) on ``fig``.

    * 1-D, ``x`` ``(C, L)``: the signal as a line over a heat strip, the map below it;
    * 2-D, ``x`` ``(C, H, W)``: the image in grey with the map in colour on top;
    * 3-D, ``x`` ``(C, D, H, W)``: the same for a few depth slices, side by side.

    A non-negative map (Grad-CAM, saliency) is divided by its maximum for display, so 0 stays
    "no evidence" and the maximum is 1; any other map is scaled to [0, 1]. A colorbar shows
    that scale. Returns the axes it drew on (new subplots of ``fig`` unless ``axes`` is given).
    """
    x = np.asarray(x, dtype=np.float64)
    heat = display_scale(heatmap)
    spatial = x.ndim - 1
    if heat.shape != x.shape[1:]:
        raise ValueError(
            f"expected a heat map of the input's spatial shape {x.shape[1:]}, received {heat.shape}"
        )
    if spatial == 1:
        if axes is None:
            axes = list(fig.subplots(2, 1, sharex=True, height_ratios=[3, 1]))
        signal_ax, strip_ax = axes[0], axes[1]
        positions = np.arange(x.shape[1])
        shown = signal_ax.imshow(heat[None, :], aspect="auto", cmap=HEAT_CMAP, alpha=alpha, vmin=0,
                                 vmax=1, extent=(-0.5, x.shape[1] - 0.5, x.min() - 0.05,
                                                 x.max() + 0.05), origin="lower")
        for c in range(x.shape[0]):
            signal_ax.plot(positions, x[c], color="black", lw=1.2,
                           label=f"channel {c}" if x.shape[0] > 1 else None)
        signal_ax.set_ylabel("input value")
        if title:
            signal_ax.set_title(title, fontsize=10)
        strip_ax.plot(positions, heat, color="crimson")
        strip_ax.set_ylim(-0.05, 1.05)
        strip_ax.set_xlabel("position")
        strip_ax.set_ylabel("map")
        fig.colorbar(shown, ax=axes, label=label, shrink=0.8)
        return axes
    if spatial == 2:
        if axes is None:
            axes = [fig.subplots(1, 1)]
        ax = axes[0]
        show_image(ax, x, title or None)
        shown = ax.imshow(heat, cmap=HEAT_CMAP, alpha=alpha, vmin=0, vmax=1)
        fig.colorbar(shown, ax=ax, label=label, shrink=0.8)
        return axes
    if spatial == 3:
        slices = middle_slices(x[0], 4)
        if axes is None:
            axes = list(np.atleast_1d(fig.subplots(1, len(slices))))
        for ax, d in zip(axes, slices):
            show_image(ax, x[:, d], f"depth {d}", vmin=x.min(), vmax=x.max())
            shown = ax.imshow(heat[d], cmap=HEAT_CMAP, alpha=alpha, vmin=0, vmax=1)
        if title:
            fig.suptitle(title, fontsize=10)
        fig.colorbar(shown, ax=axes, label=label, shrink=0.8)
        return axes
    raise ValueError(f"expected one example (C, L), (C, H, W) or (C, D, H, W), received shape {x.shape}")
