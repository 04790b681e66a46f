"""Forward questions: the prediction, every layer's feature maps, and where one number comes from.

Every number is the model's own: feature maps and the numbers of one cell come from
:func:`convlens.inspect.explain.trace.trace_forward` (forward hooks, the layers' caches), the
windows from the same ``conv_windows``/``pool_winners`` the explain trace uses, the
probabilities from :func:`convlens.functional.activation.softmax`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from convlens.explorer.models import ServedModel
from convlens.explorer.payload import array_json, number
from convlens.functional.activation import softmax
from convlens.functional.conv_arithmetic import output_size
from convlens.functional.engine import no_grad
from convlens.inspect.explain.narrate import conv_windows, pool_winners
from convlens.inspect.explain.trace import LayerTrace, trace_forward
from convlens.layers.activation import ReLU, Softmax, _Activation
from convlens.layers.conv import _ConvNd
from convlens.layers.linear import Linear
from convlens.layers.merge import Concatenate, _Merge
from convlens.layers.normalization import _BatchNorm
from convlens.layers.pool import _PoolNd

MAX_MAPS = 16           # feature maps sent per layer


class CellError(ValueError):
    """A layer or position that does not exist (answered with 4xx)."""


def predict(served: ServedModel, x: np.ndarray) -> dict[str, Any]:
    """Logits and class probabilities of one input."""
    with served.borrow() as model, no_grad():
        logits = np.asarray(model(x[None]), dtype=np.float64)[0]
    probs = softmax(logits)
    return {"logits": array_json(logits), "probabilities": array_json(probs),
            "predicted": int(np.argmax(logits)), "classes": list(served.class_names)}


def _maps_json(y: np.ndarray, depth: int | None) -> dict[str, Any]:
    """One layer's output for the page: maps (2-D), signals (1-D), slices (3-D) or a vector."""
    out: dict[str, Any] = {"shape": list(y.shape), "min": number(np.nanmin(y)) if y.size else None,
                           "max": number(np.nanmax(y)) if y.size else None}
    if y.ndim == 1:
        out.update(kind="vector", values=array_json(y))
        return out
    shown = y[:MAX_MAPS]
    if y.ndim == 4:  # (K, D, H, W): one depth slice of each map
        d = y.shape[1] // 2 if depth is None else min(max(int(depth), 0), y.shape[1] - 1)
        shown = shown[:, d]
        out["depth"], out["depths"] = d, int(y.shape[1])
    out.update(kind={2: "signals", 3: "maps", 4: "slices"}.get(y.ndim, "other"),
               shown=len(shown), values=array_json(shown))
    return out


def activations(served: ServedModel, x: np.ndarray, depth: int | None = None) -> dict[str, Any]:
    """Every layer call's output (first :data:`MAX_MAPS` maps each), and the input itself."""
    with served.borrow() as model:
        layers = trace_forward(model, x[None])
    return {"input": _maps_json(x, depth),
            "layers": [{"index": t.index, "name": t.name, "type": t.type, **_maps_json(t.y[0], depth)}
                       for t in layers]}


# -- one cell -------------------------------------------------------------------------------
def _formula(n: int, k: int, s: int, pad: tuple[int, int], d: int,
             ceil_mode: bool = False) -> dict[str, Any]:
    """The output-size formula of one axis with the layer's numbers."""
    out = output_size(n, k, s, pad, d, ceil_mode)
    bracket = "⌈…⌉" if ceil_mode else "⌊…⌋"
    text = (f"{bracket[0]}(n + p_before + p_after − d·(k − 1) − 1)/s{bracket[2]} + 1 = "
            f"{bracket[0]}({n} + {pad[0]} + {pad[1]} − {d}·({k} − 1) − 1)/{s}{bracket[2]} + 1 = {out}")
    return {"n": n, "k": k, "s": s, "padding": list(pad), "d": d, "out": out, "text": text}


def _window_spans(pos: tuple[int, ...], pads: Any, kernel: Any, stride: Any,
                  dilation: Any) -> list[list[int]]:
    """First and last input position per axis the window covers (padding included)."""
    return [[i * s - lo, i * s - lo + d * (k - 1)]
            for i, (lo, _), k, s, d in zip(pos, pads, kernel, stride, dilation)]


def _conv_cell(t: LayerTrace, pos: tuple[int, ...]) -> dict[str, Any]:
    m: Any = t.module
    o, where = pos[0], pos[1:]
    windows, pads = conv_windows(t)
    c_group = m.weight.shape[1]
    g = o // (t.y.shape[1] // m.groups)
    window = windows[(0, slice(g * c_group, (g + 1) * c_group)) + where]
    kernel = t.params["weight"][o]
    products = window.astype(np.float64) * kernel
    bias = float(t.params["bias"][o]) if "bias" in t.params else None
    total = float(products.sum()) + (bias or 0.0)
    spatial = t.x.shape[2:]
    return {"kind": "conv", "window": array_json(window), "kernel": array_json(kernel),
            "products": array_json(products), "sum": total, "bias": bias,
            "channels": [g * c_group, (g + 1) * c_group],
            "window_spans": _window_spans(where, pads, m.kernel_size, m.stride, m.dilation),
            "formula": [_formula(n, k, s, p, d) for n, k, s, p, d in
                        zip(spatial, m.kernel_size, m.stride, pads, m.dilation)]}


def _pool_cell(t: LayerTrace, pos: tuple[int, ...]) -> dict[str, Any]:
    m: Any = t.module
    c, where = pos[0], pos[1:]
    windows, winner, pads = pool_winners(t)
    window = windows[(0, c) + where]
    out: dict[str, Any] = {"kind": "pool", "pool": m.kind, "window": array_json(window),
                           "window_spans": _window_spans(where, pads, m.kernel_size, m.stride,
                                                         m.dilation),
                           "formula": [_formula(n, k, s, p, d, m.ceil_mode) for n, k, s, p, d in
                                       zip(t.x.shape[2:], m.kernel_size, m.stride, pads, m.dilation)]}
    if winner is not None:
        tap = np.unravel_index(int(winner[(0, c) + where]), m.kernel_size)
        out["winner"] = [int(v) for v in tap]
        out["winner_input"] = [int(i * s + k * d - lo) for i, s, k, d, (lo, _) in
                               zip(where, m.stride, tap, m.dilation, pads)]
    return out


def _linear_cell(t: LayerTrace, pos: tuple[int, ...]) -> dict[str, Any]:
    k = pos[0]
    x = t.x[0].astype(np.float64)
    w = t.params["weight"][k]
    products = x * w
    bias = float(t.params["bias"][k]) if "bias" in t.params else None
    return {"kind": "linear", "inputs": array_json(x), "weights": array_json(w),
            "products": array_json(products), "sum": float(products.sum()) + (bias or 0.0),
            "bias": bias}


def _elementwise_cell(t: LayerTrace, pos: tuple[int, ...]) -> dict[str, Any]:
    m = t.module
    x = float(t.x[(0,) + pos]) if t.x.shape == t.y.shape else None
    out: dict[str, Any] = {"kind": "elementwise", "x": x}
    if isinstance(m, ReLU):
        out.update(kind="relu", cut=x is not None and x <= 0)
        if t.x.shape == t.y.shape:
            out["cut_in_map"] = int((t.x[0, pos[0]] <= 0).sum())
            out["map_size"] = int(t.x[0, pos[0]].size)
    elif isinstance(m, _BatchNorm):
        c = pos[0]
        mean, var = float(m.running_mean[c]), float(m.running_var[c])
        out.update(kind="batchnorm", mean=mean, var=var, eps=float(m.eps),
                   gamma=float(t.params["weight"][c]) if "weight" in t.params else None,
                   beta=float(t.params["bias"][c]) if "bias" in t.params else None)
    elif isinstance(m, _Activation):
        out["formula"] = (type(m).__doc__ or "").strip().splitlines()[0]
    return out


# how the page writes each merge: an operator between the inputs, or a function of them all
MERGE_OPERATIONS = {"Add": "+", "Subtract": "−", "Multiply": "×", "Divide": "÷", "Maximum": "max",
                    "Minimum": "min", "Mean": "mean", "Concatenate": "concat", "MatMul": "matmul"}


def _merge_cell(t: LayerTrace, pos: tuple[int, ...]) -> dict[str, Any]:
    """A merge layer (Add, Multiply, Concatenate, …): each input tensor's value at this cell
    (broadcast as the layer broadcasts it) and the operation; for a concatenation, the one
    input the cell comes from and where in it."""
    m: Any = t.module
    names = t.inputs or [f"x{i + 1}" for i in range(len(t.x))]
    inputs: list[dict[str, Any]] = []
    if isinstance(m, Concatenate):
        axis = m.dim - 1 if m.dim > 0 else m.dim + len(pos)     # the axis of pos (no batch)
        start = 0
        for name, x in zip(names, t.x):
            size = x.shape[axis + 1]
            inside = start <= pos[axis] < start + size
            local = pos[:axis] + (pos[axis] - start,) + pos[axis + 1:]
            inputs.append({"name": name, "shape": list(x.shape[1:]),
                           "value": float(x[(0,) + local]) if inside else None,
                           "index": list(local) if inside else None})
            start += size
    elif type(m).__name__ != "MatMul":
        for name, x in zip(names, t.x):
            seen = np.broadcast_to(x, t.y.shape)
            inputs.append({"name": name, "shape": list(x.shape[1:]), "value": float(seen[(0,) + pos]),
                           "index": list(pos)})
    else:                 # a value of a matrix product reads a whole row and column
        inputs = [{"name": name, "shape": list(x.shape[1:]), "value": None, "index": None}
                  for name, x in zip(names, t.x)]
    return {"kind": "merge", "operation": MERGE_OPERATIONS.get(t.type, t.type), "inputs": inputs}


def softmax_detail(logits: np.ndarray) -> dict[str, Any]:
    """Softmax written out: the logits, e^(z − max z), their sum, the probabilities."""
    z = np.asarray(logits, dtype=np.float64)
    shifted = np.exp(z - z.max())
    return {"kind": "softmax", "logits": array_json(z), "max": float(z.max()),
            "exps": array_json(shifted), "sum": float(shifted.sum()),
            "probabilities": array_json(softmax(z))}


def _receptive_box(served: ServedModel, row: dict[str, Any],
                   where: tuple[int, ...]) -> list[list[int]] | None:
    """The input region the cell sees (clipped to the input), from the summary's field."""
    from convlens.inspect.receptive_field import ReceptiveField

    if row.get("receptive_field") is None:
        return None
    spatial = served.input_shape[1:]
    if row["whole_input"]:
        return [[0, n - 1] for n in spatial]
    rf = ReceptiveField(tuple(row["receptive_field"]), tuple(row["jump"]), tuple(row["start"]),
                        None)
    if len(where) != len(spatial):
        return None
    return [list(r) for r in rf.clipped_region(where, spatial)]


def cell(served: ServedModel, x: np.ndarray, layer: int, index: list[int],
         rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Everything behind one output value of layer call ``layer`` at ``index`` (``(c, *pos)``
    for maps, ``(k,)`` for vectors): the value, the window, kernel and products of a
    convolution, the winner of a pooling window, what ReLU cut, softmax's exponentials, the
    output-size formula and the receptive field on the input."""
    with served.borrow() as model:   # the details read the modules' caches of this pass
        return _cell(served, trace_forward(model, x[None]), layer, index, rows)


def _cell(served: ServedModel, layers: list[LayerTrace], layer: int, index: list[int],
          rows: list[dict[str, Any]]) -> dict[str, Any]:
    if not 0 <= layer < len(layers):
        raise CellError(f"expected a layer index in [0, {len(layers) - 1}], received {layer}")
    t = layers[layer]
    shape = t.y.shape[1:]
    pos = tuple(int(i) for i in index)
    if len(pos) != len(shape) or any(not 0 <= p < n for p, n in zip(pos, shape)):
        raise CellError(f"layer {t.name!r} ({t.type}) outputs shape {tuple(shape)}: expected an "
                        f"index of {len(shape)} numbers inside it, received {list(index)}")
    m = t.module
    if isinstance(m, _Merge) and isinstance(t.x, tuple):
        detail = _merge_cell(t, pos)
    elif isinstance(m, _ConvNd):
        detail = _conv_cell(t, pos)
    elif isinstance(m, _PoolNd):
        detail = _pool_cell(t, pos)
    elif isinstance(m, Linear) and t.x.ndim == 2:
        detail = _linear_cell(t, pos)
    elif isinstance(m, Softmax):
        detail = softmax_detail(t.x[0])
    else:
        detail = _elementwise_cell(t, pos)
    value = float(t.y[(0,) + pos])
    return {"layer": layer, "name": t.name, "type": t.type, "index": list(pos), "value": value,
            "input_shape": list((t.x[0] if isinstance(t.x, tuple) else t.x).shape[1:]),
            "output_shape": list(shape),
            "receptive_box": _receptive_box(served, rows[layer], pos[1:]) if len(pos) > 1 else None,
            "detail": detail, "total_values": math.prod(shape)}
