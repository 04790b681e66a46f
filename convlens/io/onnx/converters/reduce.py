"""ReduceMean and ReduceMax over all spatial axes: global pooling (ShuffleNet's head)."""

from __future__ import annotations

import convlens.layers as L
from convlens.io.onnx.converters.registry import Node, converter

_GLOBAL = {("ReduceMean", 1): L.GlobalAvgPool1d, ("ReduceMean", 2): L.GlobalAvgPool2d,
           ("ReduceMean", 3): L.GlobalAvgPool3d, ("ReduceMax", 1): L.GlobalMaxPool1d,
           ("ReduceMax", 2): L.GlobalMaxPool2d, ("ReduceMax", 3): L.GlobalMaxPool3d}


@converter("ReduceMean", "ReduceMax")
def convert_reduce(node: Node):
    x = node.input(0)
    rank = node.rank(x)
    if "axes" in node.attrs or node.opset < 18:
        axes = node.attr("axes")
    else:
        axes = node.constant_ints(1, "axes")
    axes = sorted(a % rank for a in axes) if axes else list(range(rank))
    keepdims = bool(node.attr("keepdims", 1))
    if axes != list(range(2, rank)) or (node.op_type, rank - 2) not in _GLOBAL:
        raise node.fail(f"reducing axes {axes} of a rank-{rank} tensor (convlens reduces all the "
                        "spatial axes of (N, C, *S), as global pooling)")
    return node.apply(_GLOBAL[node.op_type, rank - 2](keepdims=keepdims), x)
