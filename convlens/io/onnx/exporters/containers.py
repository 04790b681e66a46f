"""Containers to ONNX: their children, wired as the container wires them."""

from __future__ import annotations

import convlens.layers as L
from convlens.io.onnx.exporter import OnnxWriter, Tensor, child, emit, exporter


@exporter(L.Sequential)
def export_sequential(w: OnnxWriter, layer, xs: list[Tensor], name: str) -> str:
    x = xs[0]
    for index, inner in layer.named_children():
        x = emit(w, inner, [x], child(name, index))
    return x.name


@exporter(L.Residual)
def export_residual(w, layer, xs, name):
    main = emit(w, layer.body, xs, child(name, "body"))
    skip = xs[0] if layer.shortcut is None else emit(w, layer.shortcut, xs, child(name, "shortcut"))
    return w.node("Add", [main.name, skip.name], name)


@exporter(L.Concat)
def export_concat(w, layer, xs, name):
    outputs = [emit(w, branch, xs, child(name, key)) for key, branch in layer.named_children()]
    return w.node("Concat", [t.name for t in outputs], name, axis=layer.dim)
