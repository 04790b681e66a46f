"""Backward: one SGD step on one input and a chosen label, on a copy of the model.

:func:`convlens.inspect.explain.trace.trace_step` records the step (the loss, dL/dy of every
layer, each parameter's gradient, before and after); the served model never changes. The
narration is explain's own, in the page's language.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from convlens.explorer.models import ServedModel
from convlens.explorer.payload import array_json
from convlens.functional.activation import softmax
from convlens.functional.engine import no_grad

MAX_GRAD_MAPS = 8
SHOWN_VALUES = 6         # values of each parameter shown before and after


def _grad_json(dy: np.ndarray | None) -> dict[str, Any] | None:
    if dy is None:
        return None
    g = np.asarray(dy[0], dtype=np.float64)
    out: dict[str, Any] = {"shape": list(g.shape), "abs_max": float(np.abs(g).max()) if g.size else 0.0}
    if g.ndim == 1:
        out.update(kind="vector", values=array_json(g))
    elif g.ndim == 4:
        out.update(kind="slices", values=array_json(g[:MAX_GRAD_MAPS, g.shape[1] // 2]))
    else:
        out.update(kind="maps" if g.ndim == 3 else "signals", values=array_json(g[:MAX_GRAD_MAPS]))
    return out


def backward_step(served: ServedModel, x: np.ndarray, label: int, lr: float = 0.1,
                  lang: str = "en") -> dict[str, Any]:
    """Loss, gradient maps per layer, and what one SGD step (learning rate ``lr``) changes:
    each parameter's gradient and its values before and after, and the probabilities after."""
    from convlens.inspect.explain.narrate import narrate
    from convlens.inspect.explain.render import render
    from convlens.inspect.explain.trace import trace_step
    from convlens.losses import CrossEntropyLoss
    from convlens.optim.sgd import SGD

    count = len(served.class_names)
    if not 0 <= label < count:
        raise ValueError(f"expected a label in [0, {count - 1}], received {label}")
    if not (0 < lr <= 10) or not np.isfinite(lr):
        raise ValueError(f"expected a learning rate in (0, 10], received {lr}")
    with served.borrow() as shared:      # the step changes the weights: on a copy of its own
        model = copy.deepcopy(shared).eval()    # eval: batch norm on its running statistics
    trace = trace_step(model, x[None], np.array([label]), SGD(model.parameters(), lr=lr))
    with no_grad():
        after = np.asarray(model(x[None]), dtype=np.float64)[0]
    before = trace.loss.prediction[0].astype(np.float64)
    p_after = softmax(after)
    updates = []
    for u in trace.updates:
        change = u.after.astype(np.float64) - u.before
        updates.append({"name": u.name, "shape": list(u.before.shape),
                        "grad_norm": float(np.linalg.norm(u.grad)),
                        "max_change": float(np.abs(change).max()) if change.size else 0.0,
                        "before": array_json(u.before.ravel()[:SHOWN_VALUES]),
                        "grad": array_json(u.grad.ravel()[:SHOWN_VALUES]),
                        "after": array_json(u.after.ravel()[:SHOWN_VALUES])})
    text = render(narrate(trace, lang, max_values=64, max_dot_products=2), "text", lang)
    return {"label": label, "lr": lr, "loss": trace.loss.value,
            "loss_after": float(CrossEntropyLoss()(after[None], np.array([label]))),
            "probabilities_before": array_json(softmax(before)),
            "probabilities_after": array_json(p_after),
            "dlogits": array_json(trace.loss.grad[0]),
            "layers": [{"index": t.index, "name": t.name, "type": t.type, "grad": _grad_json(t.dy)}
                       for t in trace.layers],
            "updates": updates, "explanation": text}
