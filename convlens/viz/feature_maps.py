"""Feature maps: what each layer outputs for one input.

A convolution with K filters turns its input into K feature maps, one per filter: map k is
high where the pattern of filter k is present (seed 003). :func:`feature_maps` records them
with forward hooks, so any model works, containers and residual blocks included, and the
arrays are exactly the layers' outputs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from convlens.functional.engine import no_grad
from convlens.inspect.hooks import eval_with_hooks
from convlens.layers.graph import call_filter, call_order, node_calls
from convlens.layers.module import Module
from convlens.viz.cam import as_batch, resolve_layer
from convlens.viz.overlay import grid_shape, new_figure, show_image


def feature_maps(model: Module, x: np.ndarray,
                 layers: list[str] | str | None = None) -> dict[str, np.ndarray]:
    """Run ``x`` through ``model`` and return the output of each chosen layer.

    Args:
        model: any convlens model.
        x: one example ``(C, *S)`` or a batch ``(N, C, *S)``.
        layers: dotted names (or one name); default every leaf layer whose output has
            spatial axes (convolutions, activations, pooling, … before ``Flatten``).

    Returns:
        ``{name: output}`` in the order the forward pass starts the calls (a ``Graph``'s
        nodes in topological order, each node of a shared layer in its own place; a
        container before its children); each output is ``(K, *S')`` for one example,
        ``(N, K, *S')`` for a batch (copies).

    The model runs in eval mode (dropout off, batch norm on its running statistics) and gets
    each module's mode back afterwards; it runs under ``cl.no_grad()`` (no backward pass,
    gradients untouched, no caches kept).
    """
    xb, single = as_batch(model, x)
    if layers is None:  # every leaf layer whose output still has spatial axes
        return {name: value for name, value in feature_maps(model, x, _leaf_names(model)).items()
                if value.ndim >= (2 if single else 3)}
    if isinstance(layers, str):
        layers = [layers]
    chosen = [resolve_layer(model, name) for name in layers]
    outputs: dict[str, np.ndarray] = {}
    hooks = []
    for name, module in chosen:
        mine = call_filter(model, name)  # a graph node: its own call of a shared layer

        def record(m: Module, inp: np.ndarray, out: np.ndarray, name: str = name,
                   mine: Callable[[], bool] = mine) -> None:
            if mine():
                main = out[0] if isinstance(out, tuple) else out  # several outputs: the first
                outputs.setdefault(name, np.array(main, copy=True))  # a shared layer: its first call
        hooks.append((module, record))
    with eval_with_hooks(model, hooks), no_grad():  # nothing will run backward: keep no caches
        model(xb)
    missing = [name for name, _ in chosen if name not in outputs]
    if missing:
        raise ValueError(f"the layers {missing} did not run in the forward pass, so they have no output")
    position = {name: i for i, name in enumerate(call_order(model))}
    result = {name: outputs[name] for name in sorted(outputs, key=position.__getitem__)}
    return {name: value[0] for name, value in result.items()} if single else result


def _leaf_names(model: Module) -> list[str]:
    """Every leaf layer's name; a graph's leaf layers once per node that calls them."""
    leaves = {id(m) for m in model.modules() if not any(True for _ in m.children())}
    nodes = node_calls(model)
    names: list[str] = []
    for name, m in model.named_modules():
        if id(m) in leaves:
            names += [node for node, _ in nodes[id(m)]] if id(m) in nodes else [name]
    return names


def map_mosaic(maps: np.ndarray, ncols: int = 8, gap: int = 1) -> np.ndarray:
    """The maps ``(K, H, W)`` tiled row by row, ``ncols`` per row, ``gap`` NaN pixels apart.

    Map k sits at tile (k // ncols, k % ncols); unused tiles of the last row are NaN.
    """
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 3:
        raise ValueError(f"expected maps (K, H, W), received shape {maps.shape}")
    k, h, w = maps.shape
    rows, cols = grid_shape(k, ncols)
    mosaic = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap), np.nan)
    for i in range(k):
        r, c = divmod(i, cols)
        mosaic[r * (h + gap): r * (h + gap) + h, c * (w + gap): c * (w + gap) + w] = maps[i]
    return mosaic


def plot_feature_maps(maps: np.ndarray, title: str = "feature maps", max_maps: int = 32,
                      cmap: str = "viridis", ncols: int = 8, x: np.ndarray | None = None) -> Figure:
    """The feature maps of one example on one colour scale, with a colorbar, and the input
    they came from beside them.

    Args:
        maps: ``(K, L)`` (1-D: drawn as K rows of one image), ``(K, H, W)`` (a grid of the
            maps, :func:`map_mosaic`) or ``(K, D, H, W)`` (the grid of their middle depth slices).
        title: figure title, e.g. ``"layer 0 (Conv2d): 6 maps of 28×28"``.
        max_maps: draw at most this many maps (the title says how many were left out).
        ncols: maps per row of the grid.
        x: the input example ``(C, L)``, ``(C, H, W)`` or ``(C, D, H, W)``: drawn on the left
            (1-D: above the maps, on the same positions when the lengths agree) so that each
            map can be compared with what the network saw.

    One colour scale for all maps of the layer, so that their strengths compare.
    """
    maps = np.asarray(maps, dtype=np.float64)
    k = maps.shape[0]
    finite = maps[np.isfinite(maps)]
    vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if maps.ndim == 2:
        fig = new_figure(8, 1.8 + 0.25 * k + (1.4 if x is not None else 0))
        if x is not None:
            in_ax, ax = fig.subplots(2, 1, height_ratios=[1.4, 0.25 * k + 0.6])
            _draw_input(in_ax, np.asarray(x, dtype=np.float64))
        else:
            ax = fig.subplots()
        shown = ax.imshow(maps, aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        ax.set_xlabel("position")
        ax.set_ylabel("map (channel)")
        fig.suptitle(title, fontsize=10)
        fig.colorbar(shown, ax=ax, label="activation")
        return fig
    if maps.ndim not in (3, 4):
        raise ValueError(f"expected feature maps (K, L), (K, H, W) or (K, D, H, W), received {maps.shape}")
    note = ""
    if maps.ndim == 4:
        note = f", depth slice {maps.shape[1] // 2} of {maps.shape[1]}"
        maps = maps[:, maps.shape[1] // 2]
    shown_k = min(k, max_maps)
    if shown_k < k:
        note = f" (first {shown_k} of {k})" + note
    rows, cols = grid_shape(shown_k, ncols)
    h, w = maps.shape[1:]
    mosaic = map_mosaic(maps[:shown_k], cols)
    input_width = 1.3 * min(rows, 2) + 0.3 if x is not None else 0.0
    fig = new_figure(1.3 * cols + 1.4 + input_width, 1.3 * rows * h / w + 0.9)
    if x is not None:
        in_ax, ax = fig.subplots(1, 2, width_ratios=[input_width, 1.3 * cols + 1.4])
        _draw_input(in_ax, np.asarray(x, dtype=np.float64))
    else:
        ax = fig.subplots()
    image = ax.imshow(mosaic, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    for i in range(shown_k):
        r, c = divmod(i, cols)
        ax.text(c * (w + 1) + (w - 1) / 2, r * (h + 1) - 0.5, f"map {i}", ha="center", va="bottom",
                fontsize=7)
    ax.axis("off")
    fig.suptitle(title + note, fontsize=10)
    fig.colorbar(image, ax=ax, label="activation", shrink=0.8)
    return fig


def _draw_input(ax: Axes, x: np.ndarray) -> None:
    """The input example beside its maps: a line per channel (1-D), an image (2-D), or the
    middle depth slice (3-D), titled with its size."""
    size = "×".join(str(n) for n in x.shape[1:])
    if x.ndim == 2:
        for c, channel in enumerate(x):
            ax.plot(channel, lw=1, label=f"channel {c}" if len(x) > 1 else None)
        ax.set_xlim(-0.5, x.shape[1] - 0.5)
        ax.set_title(f"input ({x.shape[0]} channel{'s' if len(x) > 1 else ''} of length {x.shape[1]})",
                     fontsize=9)
        return
    if x.ndim == 4:
        show_image(ax, x[:, x.shape[1] // 2], f"input {size}\n(depth slice {x.shape[1] // 2})")
        return
    if x.ndim != 3:
        raise ValueError(f"expected one input example (C, L), (C, H, W) or (C, D, H, W), received {x.shape}")
    show_image(ax, x, f"input {size}")


def describe_maps(name: str, module: Module, maps: np.ndarray) -> str:
    """A title such as ``"layer 0 (Conv2d): 6 maps of 28×28"``."""
    size = "×".join(str(s) for s in maps.shape[1:])
    return f"layer {name} ({type(module).__name__}): {maps.shape[0]} maps of {size}"
