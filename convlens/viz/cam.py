"""Grad-CAM, Grad-CAM++ and gradient saliency: where in the input did the network look?

All three start from one forward and one backward pass of the *class score* ``y^c`` (the
logit of class ``c``, before softmax) instead of the loss. Hooks on the target layer record
its output ``A`` (K feature maps) and the gradient ``∂y^c/∂A`` that flows back into it.

**Grad-CAM** (Selvaraju et al., 2017)::

    α_k = (1/Z) Σ_ij ∂y^c/∂A_k[ij]          one weight per feature map: the mean gradient,
                                            "how much does the score rise with map k?"
    L   = ReLU(Σ_k α_k A_k)                 at the layer's resolution, then upsampled

**Grad-CAM++** (Chattopadhyay et al., 2018), in the closed form of the paper for the score
``exp(y^c)``, as the reference implementations compute it. With ``g = ∂y^c/∂A_k[ij]``::

    a_k[ij] = g² / (2 g² + Σ_ab A_k[ab] · g³)        (0 where the denominator is 0)
    w_k     = Σ_ij a_k[ij] · ReLU(g)
    L       = ReLU(Σ_k w_k A_k)

The factor ``exp(y^c)`` that the derivation puts in front of every ``w_k`` is the same for all
k and is left out, as in those implementations: it scales the map, not its shape. Pixel-wise
weights let several separate objects of one class all light up, where Grad-CAM's single mean
favours the largest.

**Saliency** (Simonyan et al., 2014): ``max_c |∂y^c/∂x_c[ij]|``, the input gradient's size,
its largest over the input channels. Sharp but noisy; no layer involved.

The coarse map is brought to the input's size by linear interpolation along each spatial
axis (:func:`upsample_linear`; bilinear in 2-D, trilinear in 3-D), with the pixel-centre
alignment of ``torch.nn.functional.interpolate(..., align_corners=False)``.

The default target layer is the *last convolution* of the model (its output, before any
activation). Pass the activation after it (``layer="4"`` in ``Sequential(…, Conv2d, ReLU)``)
for the post-ReLU variant that many implementations use.

When the map is empty or misleading (a warning says which case it is):

* Grad-CAM weighs each map by its *mean* gradient. Behind ``Flatten`` + ``Linear`` the
  gradient differs from place to place, and for a class decided by *where* something is
  ("bright square top left → class 0, bottom right → class 1") the network learns positive
  weights at its own place and negative ones at the others: the mean cancels and the map is
  empty or points elsewhere. Grad-CAM++ keeps only positive gradients and still localizes.
  Behind global average pooling the gradient is the same everywhere and Grad-CAM equals CAM.
* Softmax ignores anything added to every class's score; one class's score does not. With
  few classes and little training, that shared part of the last layer's weights (its random
  initialization) can dominate the map; a zero-initialized last layer keeps it at zero.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from convlens.functional import engine
from convlens.functional.upsample import axis_resize, upsample_forward
from convlens.layers.conv import _ConvNd
from convlens.layers.graph import Graph, call_filter, call_order, find_node
from convlens.layers.module import Module
from convlens.viz.overlay import (
    middle_slices,
    new_figure,
    overlay_heatmap,
    show_image,
    subfigure_list,
)

METHODS = ("grad-cam", "grad-cam++")


# -- upsampling ------------------------------------------------------------------------------
def upsample_linear(a: np.ndarray, size: tuple[int, ...]) -> np.ndarray:
    """Resize the last ``len(size)`` axes of ``a`` to ``size`` by linear interpolation.

    Separable: one 1-D interpolation per axis, which is exactly bilinear (2-D) and trilinear
    (3-D) interpolation. Matches ``torch.nn.functional.interpolate`` with
    ``mode='linear'|'bilinear'|'trilinear', align_corners=False``.

    >>> upsample_linear(np.array([0.0, 1.0]), (4,))
    array([0.  , 0.25, 0.75, 1.  ])
    """
    a = np.asarray(a, dtype=np.float64)
    size = tuple(int(s) for s in size)
    if len(size) > a.ndim:
        raise ValueError(f"cannot resize {len(size)} axes of an array of shape {a.shape}")
    if min(size, default=1) < 1:
        raise ValueError(f"expected positive sizes, received {size}")
    lead, spatial = a.shape[:a.ndim - len(size)], a.shape[a.ndim - len(size):]
    plan = [axis_resize(n, s, "linear", align_corners=False, scale_factor=None)
            for n, s in zip(spatial, size)]
    return upsample_forward(a.reshape(1, -1, *spatial), plan).reshape(*lead, *size)


# -- finding layers --------------------------------------------------------------------------
def conv_layers(model: Module) -> list[tuple[str, _ConvNd]]:
    """Every convolution of ``model`` with its dotted name, in the order of ``named_modules``."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, _ConvNd)]


def _convolution_calls(model: Module) -> list[tuple[str, _ConvNd]]:
    """Every call of a convolution in ``model``, in the order the forward pass makes them: a
    graph's nodes in topological order, and a convolution shared by several nodes once per
    node (named by the node), so the last is the convolution nearest the output."""
    layers = dict(model.named_modules())
    for prefix, module in model.named_modules():   # and every graph node, by its own name
        if isinstance(module, Graph):
            layers.update({f"{prefix}.{node.name}" if prefix else node.name: node.layer
                           for node in module.nodes})
    return [(name, layers[name]) for name in call_order(model)
            if isinstance(layers.get(name), _ConvNd)]


def _layer_table(model: Module) -> str:
    rows = [f"{name or '(model)'}: {type(m).__name__}" for name, m in model.named_modules()]
    return "; ".join(rows)


def resolve_layer(model: Module, layer: str | Module | None = None) -> tuple[str, Module]:
    """``(dotted name, module)`` of ``layer`` in ``model``; ``None`` means the last convolution.

    ``layer`` is a dotted name from ``model.named_modules()`` (``"3"``, ``"body.0"``), the
    name of a graph model's node (also a node that reuses another node's layer), or a module
    object that is part of ``model``.
    """
    if layer is None:
        convs = _convolution_calls(model)
        if not convs:
            raise ValueError(
                f"{type(model).__name__} has no convolution layer to use by default; pass "
                f"layer= one of its layers with spatial output. Layers: {_layer_table(model)}"
            )
        return convs[-1]
    if isinstance(layer, Module):
        for name, module in model.named_modules():
            if module is layer:
                return name, module
        raise ValueError(
            f"the layer {type(layer).__name__} passed as layer= is not part of the model; "
            f"layers: {_layer_table(model)}"
        )
    if isinstance(layer, str):
        modules = dict(model.named_modules())
        if layer in modules:
            return layer, modules[layer]
        node = find_node(model, layer)
        if node is not None:
            return layer, node[1].layer
        raise ValueError(f"no layer named {layer!r} in the model; layers: {_layer_table(model)}")
    raise TypeError(f"expected layer to be a dotted name, a Module or None, received {layer!r}")


def input_spatial_dims(model: Module) -> int | None:
    """Spatial axes of the model's input: those of its first convolution (None if it has none)."""
    convs = conv_layers(model)
    return convs[0][1].ndim if convs else None


def as_batch(model: Module, x: np.ndarray) -> tuple[np.ndarray, bool]:
    """``(x with a batch axis, whether one was added)``.

    One example is ``(C, *S)``, a batch ``(N, C, *S)``, where S has as many axes as the
    model's first convolution (1 for Conv1d, 2 for Conv2d, 3 for Conv3d). Integer inputs
    become floating point of the model's dtype.
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        params = model.parameters()
        x = x.astype(params[0].dtype if params else np.float32)
    d = input_spatial_dims(model)
    if d is None:
        return x, False  # no convolution to tell: take x as a batch
    if x.ndim == d + 1:
        return x[None], True
    if x.ndim == d + 2:
        return x, False
    raise ValueError(
        f"the model's first convolution is {d}-D, so expected one example (C, {d} spatial axes) "
        f"of {d + 1} axes or a batch (N, C, …) of {d + 2} axes, received shape {x.shape}"
    )


# -- one forward and one backward pass of the class score -------------------------------------
@dataclass
class _Pass:
    logits: np.ndarray
    target: np.ndarray
    activations: np.ndarray | None
    gradients: np.ndarray | None
    input_grad: np.ndarray | None


def _resolve_target(target: Any, logits: np.ndarray) -> np.ndarray:
    n, k = logits.shape
    if target is None:
        return logits.argmax(axis=1)
    t = np.asarray(target)
    if not np.issubdtype(t.dtype, np.integer):
        raise TypeError(f"expected an integer class index as target, received {target!r}")
    t = np.broadcast_to(t, (n,)).astype(np.intp) if t.ndim == 0 else t.astype(np.intp)
    if t.shape != (n,):
        raise ValueError(f"expected one target per example ({n}), received {t.shape[0]}")
    if t.min() < 0 or t.max() >= k:
        raise ValueError(
            f"expected target classes in [0, {k - 1}] (the model has {k} outputs), received {target}")
    return t


def class_score_pass(model: Module, x: np.ndarray, target: Any = None, layer: Module | None = None,
                     need_input_grad: bool = False, layer_name: str | None = None) -> _Pass:
    """Forward ``x`` (a batch), then backward from ``∂(Σ_n y^{c_n}_n)/∂logits`` (one-hot rows).

    The model runs in eval mode and gets back every module's train/eval flag afterwards.
    Parameter gradients are put back as they were (each ``Parameter.grad`` object is set
    aside before and restored after), so an optimizer step that follows is not disturbed.
    Examples do not mix in eval mode, so row n of the gradients is that of example n alone.
    """
    if not engine.grad_enabled():
        raise RuntimeError(
            "Grad-CAM and saliency need a backward pass, but they were called inside "
            "cl.no_grad(), where layers keep nothing for one: call them outside that block"
        )
    modes = [(m, m.training) for m in model.modules()]
    params = model.parameters()
    saved_grads = [p.grad for p in params]
    acts: list[np.ndarray] = []
    grads: list[np.ndarray] = []
    handles = []
    if layer is not None:
        # a graph layer shared by several nodes: record only the call of the chosen node
        mine = call_filter(model, layer_name) if layer_name is not None else (lambda: True)
        # a layer with several outputs: its first (the feature maps), and that one's gradient
        handles.append(layer.register_forward_hook(
            lambda m, i, o: acts.append(np.array(_first(o), copy=True)) if mine() else None))
        handles.append(layer.register_backward_hook(
            lambda m, dy, dx: grads.append(np.array(_first(dy), copy=True)) if mine() else None))
    try:
        model.eval()
        for p in params:
            p.grad = None  # backward accumulates into a fresh array; the saved one is untouched
        logits = np.asarray(model(x))
        if logits.ndim != 2:
            raise ValueError(
                f"expected the model to output class scores (N, K), received shape {logits.shape}"
            )
        target_arr = _resolve_target(target, logits)
        seed = np.zeros_like(logits)
        seed[np.arange(len(target_arr)), target_arr] = 1.0
        dx = model.run_backward(seed, need_input_grad)
    finally:
        for h in handles:
            h.remove()
        for p, g in zip(params, saved_grads):
            p.grad = g
        for m, mode in modes:
            m.training = mode
    if layer is not None:
        name = type(layer).__name__
        if len(acts) != 1:
            raise ValueError(
                f"the target layer ({name}) ran {len(acts)} times in one forward pass; Grad-CAM "
                "needs a layer that runs exactly once (not a shared or unused one)"
            )
        if len(grads) != 1:
            raise RuntimeError(
                f"no gradient reached the target layer ({name}) through its backward hook: the "
                "module that holds it must call child.run_backward(), as Sequential and Residual "
                "do, not child.backward()"
            )
    return _Pass(logits, target_arr, acts[0] if acts else None, grads[0] if grads else None,
                 None if dx is None else np.asarray(dx))


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, tuple) else value


# -- Grad-CAM and Grad-CAM++ -----------------------------------------------------------------
@dataclass
class CamResult:
    """Everything a class activation map is made of, for a batch of N examples.

    Attributes:
        heatmap: ``(N, *S)`` the map at the input's spatial size (not normalized).
        coarse: ``(N, *S')`` the map at the target layer's resolution, before upsampling.
        weights: ``(N, K)`` one weight per feature map: α_k (Grad-CAM) or w_k (Grad-CAM++).
        activations: ``(N, K, *S')`` the target layer's output A.
        gradients: ``(N, K, *S')`` ∂y^c/∂A.
        target: ``(N,)`` the class explained for each example.
        scores: ``(N, num_classes)`` the model's logits.
        layer: dotted name of the target layer.
        method: ``"grad-cam"`` or ``"grad-cam++"``.
    """

    heatmap: np.ndarray
    coarse: np.ndarray
    weights: np.ndarray
    activations: np.ndarray
    gradients: np.ndarray
    target: np.ndarray
    scores: np.ndarray
    layer: str
    method: str


def cam_weights(activations: np.ndarray, gradients: np.ndarray, method: str = "grad-cam") -> np.ndarray:
    """Per-map weights ``(N, K)`` from ``A`` and ``∂y^c/∂A``, both ``(N, K, *S')``."""
    a = np.asarray(activations, dtype=np.float64)
    g = np.asarray(gradients, dtype=np.float64)
    spatial = tuple(range(2, g.ndim))
    if method == "grad-cam":
        return g.mean(axis=spatial)
    if method == "grad-cam++":
        g2 = g * g
        sum_a = a.sum(axis=spatial, keepdims=True)
        denom = 2.0 * g2 + sum_a * g2 * g
        safe = np.where(denom != 0, denom, 1.0)
        alpha = np.where(denom != 0, g2 / safe, 0.0)
        return (alpha * np.maximum(g, 0.0)).sum(axis=spatial)
    raise ValueError(f"expected method in {METHODS}, received {method!r}")


def _zero_reason(a: np.ndarray, g: np.ndarray, w: np.ndarray, method: str, layer: str) -> str:
    if not np.any(g):
        return (f"the gradient of the class score with respect to layer {layer!r} is zero "
                "everywhere: the score does not depend on these feature maps for this input "
                "(e.g. every ReLU between them and the output is inactive)")
    if not np.any(a):
        return f"every activation of layer {layer!r} is zero for this input: the layer is silent"
    if np.all(g <= 0):
        return (f"all gradients at layer {layer!r} are ≤ 0 after ReLU: the class score does not "
                "increase with any feature map there")
    if np.all(w <= 0):
        return (f"all channel weights α_k at layer {layer!r} (mean gradients) are ≤ 0: where the "
                "score rises with a map, it falls more elsewhere; Grad-CAM++, which keeps only "
                "the positive gradients, may still show where")
    return (f"Σ_k α_k·A_k is ≤ 0 at every position of layer {layer!r}: the feature maps that raise "
            "the class score are inactive for this input; try another class or layer")


def _nan_reason(x: np.ndarray, a: np.ndarray, g: np.ndarray, layer: str) -> str:
    if not np.isfinite(x).all():
        return "the input holds NaN or inf"
    if not np.isfinite(a).all():
        return f"the activations of layer {layer!r} hold NaN or inf (diverged weights?)"
    if not np.isfinite(g).all():
        return f"the gradients at layer {layer!r} hold NaN or inf (diverged weights?)"
    return "the weighted sum of the feature maps overflowed"


def _warn_bad_maps(label: str, maps: np.ndarray, target: np.ndarray, reason_for: Any,
                   stacklevel: int) -> None:
    """One warning per kind of bad map in the batch, naming the examples."""
    flat = maps.reshape(len(maps), -1)
    nan_rows = np.flatnonzero(~np.isfinite(flat).all(axis=1))
    zero_rows = np.flatnonzero(np.isfinite(flat).all(axis=1) & ~flat.any(axis=1))
    for rows, kind in ((nan_rows, "contains NaN"), (zero_rows, "is all zeros")):
        if len(rows):
            n = int(rows[0])
            which = "" if len(maps) == 1 else f" (examples {rows.tolist()})"
            warnings.warn(f"{label} map for class {int(target[n])} {kind}{which}: {reason_for(kind, n)}",
                          UserWarning, stacklevel=stacklevel + 1)


def class_activation_map(model: Module, x: np.ndarray, target: Any = None,
                         layer: str | Module | None = None, method: str = "grad-cam") -> CamResult:
    """Grad-CAM or Grad-CAM++ with every intermediate value (see the module docstring).

    Args:
        model: a convlens model mapping ``(N, C, *S)`` to class scores ``(N, K)``.
        x: one example ``(C, *S)`` or a batch ``(N, C, *S)``; S is 1-, 2- or 3-D.
        target: the class to explain: an int, one int per example, or ``None`` for the
            predicted class.
        layer: dotted name or module; default the last convolution.
        method: ``"grad-cam"`` or ``"grad-cam++"``.

    Returns:
        a :class:`CamResult`, always with a batch axis.

    Warns:
        UserWarning when a map is all zeros or NaN, with the reason.
    """
    if method not in METHODS:
        raise ValueError(f"expected method in {METHODS}, received {method!r}")
    layer_name, module = resolve_layer(model, layer)
    xb, _ = as_batch(model, x)
    run = class_score_pass(model, xb, target, module, layer_name=layer_name)
    a, g = run.activations, run.gradients
    assert a is not None and g is not None
    if a.ndim < 3:
        raise ValueError(
            f"layer {layer_name!r} ({type(module).__name__}) outputs shape {a.shape}, without "
            "spatial axes; Grad-CAM needs feature maps (N, K, …): choose a convolution, "
            "activation or pooling layer before Flatten"
        )
    spatial_in = xb.shape[2:]
    if a.ndim - 2 != len(spatial_in):
        raise ValueError(
            f"layer {layer_name!r} outputs {a.ndim - 2}-D maps {a.shape} but the input is "
            f"{len(spatial_in)}-D {xb.shape}: the map cannot be laid over the input"
        )
    weights = cam_weights(a, g, method)
    a64 = a.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        coarse = np.maximum(np.einsum("nk,nk...->n...", weights, a64), 0.0)  # ReLU(Σ_k w_k A_k)
    heatmap = upsample_linear(coarse, spatial_in)
    label = "Grad-CAM" if method == "grad-cam" else "Grad-CAM++"

    def reason(kind: str, n: int) -> str:
        if kind == "contains NaN":
            return _nan_reason(xb[n], a[n], g[n], layer_name)
        return _zero_reason(a[n], g[n], weights[n], method, layer_name)

    _warn_bad_maps(label, coarse, run.target, reason, stacklevel=3)
    return CamResult(heatmap, coarse, weights, a, g, run.target, run.logits, layer_name, method)


def _unbatch(result: np.ndarray, single: bool) -> np.ndarray:
    return result[0] if single else result


def grad_cam(model: Module, x: np.ndarray, target: Any = None,
             layer: str | Module | None = None) -> np.ndarray:
    """Grad-CAM heat map of ``x``, the size of its spatial axes.

    ``x`` is one example ``(C, *S)`` (returns ``S``) or a batch ``(N, C, *S)`` (returns
    ``(N, *S)``), in 1-D, 2-D or 3-D. ``target`` is the class (default: the predicted one),
    ``layer`` a dotted name or module (default: the last convolution). Values are
    ``ReLU(Σ_k α_k A_k)``, upsampled, not normalized: larger means more evidence for the class.
    Warns when the map is all zeros or NaN, and says why.

    Example: ``heat = grad_cam(model, x_test[0])`` gives a 28×28 map for an MNIST digit.
    """
    _, single = as_batch(model, x)
    return _unbatch(class_activation_map(model, x, target, layer, "grad-cam").heatmap, single)


def grad_cam_plus_plus(model: Module, x: np.ndarray, target: Any = None,
                       layer: str | Module | None = None) -> np.ndarray:
    """Grad-CAM++ heat map of ``x``; arguments and shapes as :func:`grad_cam`."""
    _, single = as_batch(model, x)
    return _unbatch(class_activation_map(model, x, target, layer, "grad-cam++").heatmap, single)


def _saliency(model: Module, xb: np.ndarray, target: Any, stacklevel: int) -> tuple[np.ndarray, _Pass]:
    run = class_score_pass(model, xb, target, None, need_input_grad=True)
    assert run.input_grad is not None
    sal = np.abs(run.input_grad.astype(np.float64)).max(axis=1)

    def reason(kind: str, n: int) -> str:
        if kind == "contains NaN":
            return "the input or the model's weights hold NaN or inf"
        return ("the gradient of the class score with respect to the input is zero everywhere: "
                "the score does not change with any input value (every ReLU inactive?)")

    _warn_bad_maps("saliency", sal, run.target, reason, stacklevel=stacklevel + 1)
    return sal, run


def saliency_map(model: Module, x: np.ndarray, target: Any = None) -> np.ndarray:
    """Gradient saliency ``max_c |∂y^target/∂x_c|``: ``S`` for one example, ``(N, *S)`` for a batch.

    ``target`` as in :func:`grad_cam` (default: the predicted class). Warns when the map is
    all zeros (the score ignores the input) or NaN.
    """
    xb, single = as_batch(model, x)
    sal, _ = _saliency(model, xb, target, stacklevel=2)
    return _unbatch(sal, single)


# -- figures ---------------------------------------------------------------------------------
def _class_text(k: int, class_names: Any) -> str:
    return str(class_names[k]) if class_names is not None else str(k)


def plot_grad_cam(model: Module, x: np.ndarray, target: Any = None, layer: str | Module | None = None,
                  label: int | None = None, class_names: Any = None) -> Figure:
    """Grad-CAM and Grad-CAM++ of one example laid over it, side by side (2-D) or stacked.

    ``label`` (the true class, if known) goes into the title with the prediction.
    Returns a matplotlib Figure.
    """
    xb, _ = as_batch(model, x)
    if len(xb) != 1:
        raise ValueError(f"expected one example, received a batch of {len(xb)}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = [class_activation_map(model, xb, target, layer, m) for m in METHODS]
    first = results[0]
    pred = int(first.scores[0].argmax())
    cls = int(first.target[0])
    head = f"class {_class_text(cls, class_names)} explained (predicted {_class_text(pred, class_names)}"
    head += f", true {_class_text(label, class_names)})" if label is not None else ")"
    head += f", layer {first.layer} ({type(resolve_layer(model, first.layer)[1]).__name__})"
    spatial = xb.ndim - 2
    if spatial == 2:
        fig = new_figure(11, 3.8)
        subs = subfigure_list(fig, 1, 3, width_ratios=[0.8, 1, 1])
        ax = subs[0].subplots()
        show_image(ax, xb[0], "input")
        parts = subs[1:]
    else:
        fig = new_figure(9, 6.5 if spatial == 1 else 5.5)
        parts = subfigure_list(fig, 2, 1)
    for sub, result in zip(parts, results):
        name = "Grad-CAM" if result.method == "grad-cam" else "Grad-CAM++"
        overlay_heatmap(sub, xb[0], result.heatmap[0], title=name)
    notes = "; ".join(str(w.message).split(":")[0] for w in caught)
    fig.suptitle(head + (f"\nwarning: {notes}" if notes else ""), fontsize=10)
    for w in caught:  # pass them on to the caller
        warnings.warn(w.message, UserWarning, stacklevel=2)
    return fig


def plot_saliency(model: Module, x: np.ndarray, target: Any = None, label: int | None = None,
                  class_names: Any = None) -> Figure:
    """The gradient saliency map of one example: alone (with its real scale) and over the input.

    Returns a matplotlib Figure.
    """
    xb, _ = as_batch(model, x)
    if len(xb) != 1:
        raise ValueError(f"expected one example, received a batch of {len(xb)}")
    sal_batch, run = _saliency(model, xb, target, stacklevel=2)
    sal = sal_batch[0]
    spatial = xb.ndim - 2
    fig = new_figure(10, 4 if spatial != 1 else 5.5)
    subs = subfigure_list(fig, 1, 2) if spatial != 1 else subfigure_list(fig, 2, 1)
    raw = subs[0]
    unit = "|∂score/∂input| (max over channels)"
    if spatial == 1:
        ax = raw.subplots()
        ax.plot(sal, color="crimson")
        ax.set_xlabel("position")
        ax.set_ylabel(unit)
        ax.set_title("saliency", fontsize=10)
    elif spatial == 2:
        ax = raw.subplots()
        shown = ax.imshow(sal, cmap="hot")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title("saliency", fontsize=10)
        raw.colorbar(shown, ax=ax, label=unit, shrink=0.8)
    else:
        slices = middle_slices(sal, 4)
        axes = np.atleast_1d(raw.subplots(1, len(slices)))
        for a, d in zip(axes, slices):
            shown = a.imshow(sal[d], cmap="hot", vmin=0, vmax=float(sal.max()) or 1.0)
            a.set_xticks([])
            a.set_yticks([])
            a.set_title(f"depth {d}", fontsize=9)
        raw.colorbar(shown, ax=list(axes), label=unit, shrink=0.8)
    overlay_heatmap(subs[1], xb[0], sal, title="over the input")
    cls, pred = int(run.target[0]), int(run.logits[0].argmax())
    text = f"class {_class_text(cls, class_names)} (predicted {_class_text(pred, class_names)}"
    text += f", true {_class_text(label, class_names)})" if label is not None else ")"
    fig.suptitle(f"gradient saliency of the score of {text}", fontsize=10)
    return fig
