"""Graph pieces to ONNX: merge layers, constants, Pad, Slice, Gather."""

from __future__ import annotations

import numpy as np

import convlens.layers as L
from convlens.io.onnx.exporter import OnnxWriter, Tensor, exporter
from convlens.io.onnx.exporters.conv_pool import onnx_pads

# merge layer -> (ONNX operator, whether it takes any number of inputs)
_MERGE = {L.Add: ("Add", "Sum"), L.Subtract: ("Sub", None), L.Multiply: ("Mul", None),
          L.Divide: ("Div", None), L.Maximum: ("Max", "Max"), L.Minimum: ("Min", "Min"),
          L.Mean: ("Mean", "Mean"), L.MatMul: ("MatMul", None)}


@exporter(*_MERGE)
def export_merge(w: OnnxWriter, layer, xs: list[Tensor], name: str) -> str:
    binary, variadic = next(ops for cls, ops in _MERGE.items() if type(layer) is cls)
    names = [x.name for x in xs]
    if len(names) == 1:
        return w.node("Identity", names, name)
    if len(names) == 2 and binary != "Mean":
        return w.node(binary, names, name)
    if variadic is not None:
        return w.node(variadic, names, name)
    out = names[0]
    for other in names[1:]:  # Multiply of several inputs: a chain
        out = w.node(binary, [out, other], name)
    return out


@exporter(L.Concatenate)
def export_concatenate(w, layer, xs, name):
    return w.node("Concat", [x.name for x in xs], name, axis=layer.dim)


@exporter(L.Constant)
def export_constant(w, layer, xs, name):
    return w.constant(f"{name}.value", layer.array)


_PAD_MODES = {"constant": "constant", "zeros": "constant", "reflect": "reflect", "edge": "edge",
              "replicate": "edge", "wrap": "wrap", "circular": "wrap"}


@exporter(L.Pad)
def export_pad(w, layer, xs, name):
    rank = xs[0].example.ndim
    pairs = layer._pairs(rank)
    full = [(0, 0)] * (rank - len(pairs)) + list(pairs)
    mode = _PAD_MODES[layer.mode]
    if mode == "wrap" and w.opset < 19:
        w.unsupported.append(f"{name} (Pad with mode {layer.mode!r} needs opset >= 19)")
    inputs = [xs[0].name, w.ints(f"{name}.pads", onnx_pads(full))]
    if mode == "constant":
        inputs.append(w.constant(f"{name}.value", np.asarray(layer.value, xs[0].example.dtype)))
    return w.node("Pad", inputs, name, mode=mode)


@exporter(L.Slice)
def export_slice(w, layer, xs, name):
    shape = xs[0].example.shape
    starts, ends, axes, steps = [], [], [], []
    for axis, item in enumerate(layer.index, start=1):
        start, stop, step = item.indices(shape[axis])
        if (start, stop, step) == (0, shape[axis], 1):
            continue
        if step < 0 and stop < 0:
            stop = -(2**63)  # run to the front (a stop of -1 would mean the last element)
        starts.append(start)
        ends.append(stop)
        axes.append(axis)
        steps.append(step)
    if not axes:
        return w.node("Identity", [xs[0].name], name)
    return w.node("Slice", [xs[0].name, w.ints(f"{name}.starts", starts), w.ints(f"{name}.ends", ends),
                            w.ints(f"{name}.axes", axes), w.ints(f"{name}.steps", steps)], name)


@exporter(L.Gather)
def export_gather(w, layer, xs, name):
    return w.node("Gather", [xs[0].name, w.ints(f"{name}.indices", layer.indices)], name, axis=layer.axis)
