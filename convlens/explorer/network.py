"""The network as the page draws it: nodes (one per layer call) with the nodes they read from.

A ``Sequential`` is a chain, drawn as one column per layer. Any other structure (a residual
block's two branches and their sum, a graph model's concatenations) is a graph of the same
nodes: :func:`data_flow` finds each call's inputs by following the arrays themselves through
forward hooks (the array a layer receives is the array another layer returned), so the drawing
never guesses from class names. The rows of :func:`convlens.inspect.summary.summary` (shape,
parameters, receptive field) are in the same order, one per call.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convlens.explorer.models import ServedModel
from convlens.explorer.payload import array_json
from convlens.functional.engine import no_grad
from convlens.inspect.hooks import eval_with_hooks
from convlens.layers.container import Sequential
from convlens.layers.graph import Graph
from convlens.layers.module import Module

INPUT = -1          # the index that stands for the model's input in a node's ``inputs``
MAX_FILTERS = 32


def _ids(value: Any) -> list[int]:
    return [id(v) for v in value] if isinstance(value, (tuple, list)) else [id(value)]


def data_flow(model: Module, x: np.ndarray) -> list[dict[str, Any]]:
    """One entry per layer call, in the order the calls end: ``{"module", "inputs": [indices of
    earlier calls, or INPUT], "passes"}``. ``Sequential`` and ``Graph`` containers get no entry
    (they only run their children); ``passes`` marks any other model (a user's own container)
    that hands on its last child's output unchanged, which is then not drawn.

    A container that computes something itself (``Residual``'s sum) reads the outputs of its
    descendants that no other descendant used: the ends of its branches (and its own input
    when a branch is the identity, ``shortcut=None``).
    """
    producer: dict[int, int] = {id(x): INPUT}
    calls: list[dict[str, Any]] = []
    keep: list[Any] = []            # hold every array so that no id is reused during the pass
    members = {id(m): {id(d) for d in m.modules()} - {id(m)} for m in model.modules()}

    def hook(module: Module, x_in: Any, y_out: Any) -> None:
        if isinstance(module, (Sequential, Graph)):  # only run their children: no row
            producer[id(y_out)] = producer.get(id(y_out), len(calls) - 1)
            return
        index = len(calls)
        inside = [k for k in range(index) if id(calls[k]["module"]) in members[id(module)]
                  and not calls[k]["claimed"]]
        if inside:
            used = {i for k in inside for i in calls[k]["inputs"]}
            inputs = [k for k in inside if k not in used]
            if getattr(module, "shortcut", 0) is None:
                inputs.append(producer.get(_ids(x_in)[0], INPUT))
            for k in inside:
                calls[k]["claimed"] = True
        else:
            inputs = [producer.get(i, INPUT) for i in _ids(x_in)]
        # a root container (not Sequential or Graph) returning a child's array unchanged: not drawn
        passes = (len(inputs) == 1 and inputs[0] != INPUT and module is model
                  and _ids(y_out) == calls[inputs[0]]["out"])
        calls.append({"module": module, "inputs": inputs, "claimed": False, "out": _ids(y_out),
                      "passes": passes})
        keep.extend([x_in, y_out])
        for i in _ids(y_out):
            producer[i] = index

    with eval_with_hooks(model, [(m, hook) for m in model.modules()]), no_grad():
        model(x)
    return [{"module": c["module"], "inputs": c["inputs"], "passes": c["passes"]} for c in calls]


def first_filters(model: Module) -> dict[str, Any] | None:
    """The first convolution's kernels (at most :data:`MAX_FILTERS`), its name and shape."""
    from convlens.viz.cam import conv_layers

    convs = conv_layers(model)
    if not convs:
        return None
    name, conv = convs[0]
    weight = conv.weight.data
    return {"layer": name, "shape": list(weight.shape), "shown": min(len(weight), MAX_FILTERS),
            "weights": array_json(weight[:MAX_FILTERS])}


def network(served: ServedModel) -> dict[str, Any]:
    """Nodes with their summary rows, the totals, and the first layer's filters."""
    from convlens.inspect.summary import summary

    with served.borrow() as model:
        table = summary(model, served.input_shape, print_table=False)
        flow = data_flow(model, np.zeros((1, *served.input_shape), dtype=np.float32))
    if len(flow) != len(table.rows):  # both list the same calls; anything else is a bug
        raise RuntimeError(f"the summary has {len(table.rows)} rows but the forward pass made "
                           f"{len(flow)} layer calls")
    nodes = []
    for index, (row, call) in enumerate(zip(table.rows, flow)):
        module = call["module"]
        if call["passes"]:
            continue
        nodes.append({
            "index": index, "name": row.name, "type": row.type, "inputs": call["inputs"],
            "output_shape": list(row.output_shape[1:]), "params": row.params,
            "kernel": row.kernel, "stride": row.stride, "padding": row.padding,
            "receptive_field": row.receptive_field, "jump": row.jump, "start": row.start,
            "whole_input": row.whole_input, "mult_adds": row.mult_adds,
            "description": f"{type(module).__name__}({module.extra_repr()})",
        })
    return {"model": served.name, "input_shape": list(served.input_shape),
            "classes": list(served.class_names), "nodes": nodes,
            "total_params": table.total_params, "total_mult_adds": table.total_mult_adds,
            "filters": first_filters(model)}
