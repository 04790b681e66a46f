"""ReduceMean and ReduceMax: global pooling when they reduce all the spatial axes of (N, C, *S)
(ShuffleNet's head), otherwise ``cl.Reduce`` over the axes asked for."""

from __future__ import annotations

import convlens.layers as L
from convlens.io.onnx.converters.registry import Node, converter

_GLOBAL = {("ReduceMean", 1): L.GlobalAvgPool1d, ("ReduceMean", 2): L.GlobalAvgPool2d,
           ("ReduceMean", 3): L.GlobalAvgPool3d, ("ReduceMax", 1): L.GlobalMaxPool1d,
           ("ReduceMax", 2): L.GlobalMaxPool2d, ("ReduceMax", 3): L.GlobalMaxPool3d}
_KIND = {"ReduceMean": "mean", "ReduceMax": "max"}


@converter("ReduceMean", "ReduceMax")
def convert_reduce(node: Node):
    x = node.input(0)
    rank = node.rank(x)
    if "axes" in node.attrs or node.opset < 18:
        axes = node.attr("axes")
    else:
        axes = node.constant_ints(1, "axes")
    if not axes and node.attr("noop_with_empty_axes", 0):
        return node.apply(L.Identity(), x)
    axes = sorted({node.axis(a, rank) for a in axes}) if axes else list(range(rank))
    keepdims = bool(node.attr("keepdims", 1))
    if node.batched and axes == list(range(2, rank)) and (node.op_type, rank - 2) in _GLOBAL:
        return node.apply(_GLOBAL[node.op_type, rank - 2](keepdims=keepdims), x)
    node.refuse_batch_axis(axes, "reducing")
    return node.apply(L.Reduce(_KIND[node.op_type], [node.dim(a) for a in axes], keepdims), x)
