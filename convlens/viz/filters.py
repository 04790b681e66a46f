"""Pictures of the learned filters (kernels) of convolution layers.

A Conv layer's weight has shape ``(C_out, C_in/groups, *kernel_size)``: one kernel per pair
(filter, input channel). :func:`filter_mosaic` lays the kernels out as one image:

* ``layout="grid"``: one tile per filter, row by row (``filter = row·ncols + column``). Meant
  for the first layer, whose kernels look at the input image itself and can be read as small
  images: a 1-channel input gives grey tiles, a 3-channel (RGB) input colour tiles.
* ``layout="channels"``: one row per filter and one column per input channel, the tile at
  ``(f, c)`` being ``weight[f, c]``: how filter f looks at input channel c. Deeper layers look
  at feature maps, not at colours, so their kernels are shown per input channel.

1-D kernels are drawn as ``1 × k`` strips; 3-D kernels as their depth slices side by side
(``kh × (kd·kw)``, slice 0 on the left). Tiles are separated by ``gap`` NaN pixels. Values
are divided by ``max |w|`` of the whole layer, so they lie in [−1, 1], 0 stays 0 (mid-grey)
and the tiles of one layer can be compared with each other.

:func:`plot_filters` draws the gaps in :data:`SEPARATOR`, a blue that the grey weight scale
never takes (every grey has equal red, green and blue), so a gap is never mistaken for a
large weight; colour (RGB) kernels can take any colour, so their gaps are hatched instead.
Tiles that no filter fills (the end of the last row) are not drawn at all.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from convlens.layers.module import Module
from convlens.viz.cam import conv_layers
from convlens.viz.overlay import Pictures, new_figure

LAYOUTS = ("grid", "channels")
SEPARATOR = "#7fb2e0"  # between tiles: not a grey, so no weight on the grey scale has it
RGB_GAP_HATCH = "////"  # between colour tiles, which can take any colour: a pattern instead


def _weight_array(layer: Any) -> np.ndarray:
    weight = getattr(layer, "weight", layer)
    data = np.asarray(getattr(weight, "data", weight), dtype=np.float64)
    if data.ndim not in (3, 4, 5):
        raise ValueError(
            "expected convolution weights (C_out, C_in, *kernel) with a 1-, 2- or 3-D kernel, "
            f"received shape {data.shape}"
        )
    return data


def _kernel_tile(kernel: np.ndarray, gap: int) -> np.ndarray:
    """One kernel as a 2-D tile: ``(1, k)``, ``(kh, kw)`` or the depth slices side by side."""
    if kernel.ndim == 1:
        return kernel[None, :]
    if kernel.ndim == 2:
        return kernel
    kd, kh, kw = kernel.shape
    tile = np.full((kh, kd * kw + (kd - 1) * gap), np.nan)
    for d in range(kd):
        tile[:, d * (kw + gap): d * (kw + gap) + kw] = kernel[d]
    return tile


def default_layout(weight: np.ndarray) -> str:
    """``"grid"`` when every filter has one input channel (or three, 2-D: RGB), else ``"channels"``."""
    c_in = weight.shape[1]
    return "grid" if c_in == 1 or (c_in == 3 and weight.ndim == 4) else "channels"


def mosaic_geometry(weight_shape: tuple[int, ...], layout: str, ncols: int = 8,
                    gap: int = 1) -> tuple[int, int, int, int]:
    """``(tile rows, tile columns, tile height, tile width)`` of a mosaic of these weights."""
    c_out, c_in, *kernel = weight_shape
    if len(kernel) == 1:
        th, tw = 1, kernel[0]
    elif len(kernel) == 2:
        th, tw = kernel
    else:
        kd, th, kw = kernel
        tw = kd * kw + (kd - 1) * gap
    if layout == "channels":
        return c_out, c_in, th, tw
    cols = max(1, min(ncols, c_out))
    return (c_out + cols - 1) // cols, cols, th, tw


def grid_columns(count: int, ncols: int = 8) -> int:
    """Tiles per row for ``count`` tiles, at most ``ncols``: a divisor of ``count`` of at least
    ``ncols / 2`` when there is one (16 → 8, 20 → 5, 12 → 6), so the last row is full.

    >>> [grid_columns(n) for n in (6, 10, 16, 20, 13)]
    [6, 5, 8, 5, 8]
    """
    if count <= ncols:
        return max(1, count)
    full = [d for d in range(ncols, (ncols + 1) // 2 - 1, -1) if count % d == 0]
    return full[0] if full else ncols


def filter_mosaic(layer: Any, layout: str | None = None, ncols: int = 8, gap: int = 1,
                  normalize: bool = True) -> np.ndarray:
    """The kernels of ``layer`` (a Conv layer, its weight Parameter or an array) as one image.

    Args:
        layer: ``Conv1d/2d/3d``, or weights ``(C_out, C_in, *kernel)``.
        layout: ``"grid"`` or ``"channels"`` (see the module docstring); default
            :func:`default_layout`.
        ncols: tiles per row in the grid layout.
        gap: blank (NaN) pixels between tiles.
        normalize: divide by ``max |w|`` of the layer (values in [−1, 1]).

    Returns:
        a float64 array ``(rows, cols)``, or ``(rows, cols, 3)`` for a grid of RGB kernels
        (2-D kernels with 3 input channels), whose values are then mapped to [0, 1]
        (``(w/max|w| + 1)/2``, 0.5 for a zero weight). Gaps are NaN.

    >>> filter_mosaic(np.array([[[1.0, -2.0]], [[0.5, 0.0]]]))  # two 1-D filters of 2 taps
    array([[ 0.5 , -1.  ,   nan,  0.25,  0.  ]])
    """
    w = _weight_array(layer)
    layout = layout or default_layout(w)
    if layout not in LAYOUTS:
        raise ValueError(f"expected layout in {LAYOUTS}, received {layout!r}")
    if normalize:
        scale = np.abs(w).max()
        w = w / scale if scale > 0 else w
    c_out, c_in = w.shape[:2]
    rgb = layout == "grid" and c_in == 3 and w.ndim == 4
    if layout == "grid" and c_in != 1 and not rgb:
        raise ValueError(
            f"the grid layout shows one tile per filter, so it needs kernels with 1 input channel "
            f"(or 3 for RGB 2-D kernels); these have {c_in}: use layout='channels'"
        )
    rows, cols, th, tw = mosaic_geometry(w.shape, layout, ncols, gap)
    shape = (rows * th + (rows - 1) * gap, cols * tw + (cols - 1) * gap)
    mosaic = np.full(shape + ((3,) if rgb else ()), np.nan)
    for f in range(c_out):
        for c in range(c_in if layout == "channels" else 1):
            r, q = (f, c) if layout == "channels" else divmod(f, cols)
            top, left = r * (th + gap), q * (tw + gap)
            if rgb:
                mosaic[top:top + th, left:left + tw] = (w[f].transpose(1, 2, 0) + 1.0) / 2.0
            else:
                mosaic[top:top + th, left:left + tw] = _kernel_tile(w[f, c], gap)
    return mosaic


def plot_filters(layer: Any, name: str | None = None, layout: str | None = None,
                 ncols: int | None = None) -> Figure:
    """A figure of :func:`filter_mosaic` with the real weight scale on a colorbar.

    Black is the most negative weight of the layer, white the most positive, mid-grey zero;
    tiles are separated by :data:`SEPARATOR` (hatched for colour kernels), and the unused end
    of the last row is left out. ``ncols``: tiles per row of the grid layout (default
    :func:`grid_columns` of at most 8, which fills the last row when it can).
    """
    w = _weight_array(layer)
    layout = layout or default_layout(w)
    ncols = grid_columns(w.shape[0]) if ncols is None else ncols
    mosaic = filter_mosaic(w, layout, ncols)
    scale = float(np.abs(w).max()) or 1.0
    c_out, c_in = w.shape[:2]
    rows, cols, th, tw = mosaic_geometry(w.shape, layout, ncols)
    height, width = mosaic.shape[:2]
    inch = min(0.2, (14.0 - 1.9) / height, (14.0 - 3.0) / width)  # per weight, at most 14 in
    fig = new_figure(3.0 + width * inch, 1.9 + height * inch)
    ax = fig.subplots()
    drawn = unused_tiles_alpha(w.shape, layout, ncols, mosaic.shape[:2])
    if mosaic.ndim == 3:
        opaque = np.isfinite(mosaic[..., :1]) * drawn[..., None]  # gaps show the hatched axes
        rgba = np.concatenate([np.nan_to_num(mosaic, nan=0.0), opaque], axis=-1)
        ax.imshow(rgba, interpolation="nearest")
        ax.patch.set_hatch(RGB_GAP_HATCH)
        ax.patch.set_edgecolor("0.6")
    else:
        cmap = colormaps["gray"].with_extremes(bad=SEPARATOR)
        shown = ax.imshow(mosaic * scale, cmap=cmap, vmin=-scale, vmax=scale, interpolation="nearest",
                          alpha=drawn)
        fig.colorbar(shown, ax=ax, label="weight", shrink=0.8)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xticks([q * (tw + 1) + (tw - 1) / 2 for q in range(cols)], [str(q) for q in range(cols)])
    ax.set_yticks([r * (th + 1) + (th - 1) / 2 for r in range(rows)], [str(r) for r in range(rows)])
    ax.tick_params(length=0, labelsize=7)
    if layout == "channels":
        ax.set_xlabel("input channel")
        ax.set_ylabel("filter (output channel)")
        how = "one row per filter, one column per input channel"
    elif rows == 1:
        ax.set_xlabel("filter")
        ax.set_yticks([])
        how = "one tile per filter"
    else:
        ax.set_xlabel("column")
        ax.set_ylabel("row")
        how = f"filter = row × {cols} + column"
    if w.ndim == 5:
        how += "; depth slices left to right"
    kernel = "×".join(str(k) for k in w.shape[2:])
    owner = type(layer).__name__ if isinstance(layer, Module) else "layer"
    head = f"{owner} {name}: " if name is not None else ""
    ax.set_title(f"{head}{c_out} filters of {c_in}×{kernel}\n({how})", fontsize=10)
    return fig


def unused_tiles_alpha(weight_shape: tuple[int, ...], layout: str, ncols: int,
                       shape: tuple[int, int], gap: int = 1) -> np.ndarray:
    """An alpha map of the mosaic: 1 where tiles and the gaps between them are, 0 over the
    end of the last row that no filter fills (and the gaps around it)."""
    rows, cols, th, tw = mosaic_geometry(weight_shape, layout, ncols, gap)
    alpha = np.ones(shape)
    used = weight_shape[0] - (rows - 1) * cols if layout == "grid" else cols
    if used < cols:
        alpha[(rows - 1) * (th + gap) - gap:, used * (tw + gap) - gap:] = 0.0
    return alpha


def model_filters(model: Module) -> dict[str, np.ndarray]:
    """Every convolution's weights by dotted layer name (copies, float64)."""
    return {name: _weight_array(layer).copy() for name, layer in conv_layers(model)}


def plot_model_filters(model: Module, layers: list[str] | None = None) -> Pictures:
    """One :func:`plot_filters` figure per convolution of ``model`` (or of ``layers``), by layer
    name (a dict, which a notebook shows as the pictures)."""
    figures = Pictures()
    for name, layer in conv_layers(model):
        if layers is None or name in layers:
            figures[name] = plot_filters(layer, name)
    return figures


__all__ = ["LAYOUTS", "SEPARATOR", "default_layout", "filter_mosaic", "grid_columns", "model_filters",
           "mosaic_geometry", "plot_filters", "plot_model_filters", "unused_tiles_alpha"]
