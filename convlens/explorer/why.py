"""Why this answer: Grad-CAM and saliency of one input, from :mod:`convlens.viz.cam`."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from convlens.explorer.models import ServedModel
from convlens.explorer.payload import array_json

METHODS = ("grad-cam", "grad-cam++", "saliency")


def explain_class(served: ServedModel, x: np.ndarray, method: str = "grad-cam",
                  target: int | None = None, layer: str | None = None) -> dict[str, Any]:
    """The heat map of ``method`` for class ``target`` (default: the predicted one), at the
    input's size; the warnings convlens gives when the map is empty, as text."""
    from convlens.viz.cam import class_activation_map, saliency_map

    if method not in METHODS:
        raise ValueError(f"expected method one of {', '.join(METHODS)}, received {method!r}")
    count = len(served.class_names)
    if target is not None and not 0 <= target < count:
        raise ValueError(f"expected a class in [0, {count - 1}], received {target}")
    with served.borrow() as model, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if method == "saliency":
            heat = saliency_map(model, x, target)
            out: dict[str, Any] = {"layer": None}
            from convlens.functional.engine import no_grad

            with no_grad():
                logits = model(x[None])[0]
            chosen = int(np.argmax(logits)) if target is None else int(target)
        else:
            result = class_activation_map(model, x, target, layer, method)
            heat = result.heatmap[0]
            chosen = int(result.target[0])
            out = {"layer": result.layer, "coarse": array_json(result.coarse[0]),
                   "weights": array_json(result.weights[0])}
    if heat.ndim == 3:  # a volume: its middle depth slice, as the page shows the input
        out["depth"] = heat.shape[0] // 2
        heat = heat[heat.shape[0] // 2]
    return {"method": method, "target": chosen, "class_name": served.class_names[chosen],
            "heatmap": array_json(heat), "max": float(np.max(heat)) if heat.size else 0.0,
            "warnings": [str(w.message) for w in caught], **out}
