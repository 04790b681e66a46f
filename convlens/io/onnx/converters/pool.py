"""Pooling, global pooling and local response normalization."""

from __future__ import annotations

import numpy as np

import convlens.layers as L
from convlens.io.onnx.converters.conv import padding_spec, spatial_padding
from convlens.io.onnx.converters.registry import Node, converter
from convlens.io.onnx.patterns import PLANE_SIZE

_MAX = {1: L.MaxPool1d, 2: L.MaxPool2d, 3: L.MaxPool3d}
_AVG = {1: L.AvgPool1d, 2: L.AvgPool2d, 3: L.AvgPool3d}
_GLOBAL = {("GlobalAveragePool", 1): L.GlobalAvgPool1d, ("GlobalAveragePool", 2): L.GlobalAvgPool2d,
           ("GlobalAveragePool", 3): L.GlobalAvgPool3d, ("GlobalMaxPool", 1): L.GlobalMaxPool1d,
           ("GlobalMaxPool", 2): L.GlobalMaxPool2d, ("GlobalMaxPool", 3): L.GlobalMaxPool3d}


def _pool(node: Node, kind: str):
    x = node.input(0)
    with_indices = kind == "max" and node.num_outputs > 1
    kernel = [int(k) for k in node.attr("kernel_shape")]
    nd = len(kernel)
    if nd not in _MAX:
        raise node.fail(f"{nd}-D pooling (convlens pools 1-D, 2-D and 3-D)")
    strides = [int(s) for s in node.attr("strides", [1] * nd)]
    dilations = [int(d) for d in node.attr("dilations", [1] * nd)]
    ceil_mode = bool(node.attr("ceil_mode", 0))
    count_include_pad = bool(node.attr("count_include_pad", 0))
    pairs = spatial_padding(node, node.shape(x)[2:], kernel, strides, dilations)
    symmetric = all(lo == hi and lo <= k // 2 for (lo, hi), k in zip(pairs, kernel))
    divisor = None
    if not symmetric:
        # pad explicitly (−inf for max pooling, 0 when the padding counts in the average)
        if ceil_mode:
            raise node.fail(f"asymmetric or wide padding {pairs} with ceil_mode=1")
        if with_indices:
            raise node.fail(f"the Indices output with asymmetric or wide padding {pairs}")
        value = -np.inf if kind == "max" else 0.0
        if kind == "avg" and not count_include_pad:
            # mean over the real values only: the window means of the zero-padded input, divided
            # by the share of real values in each window (a constant of the sizes alone)
            spatial = node.shape(x)[2:]
            ones = np.pad(np.ones((1, 1, *spatial)), [(0, 0), (0, 0), *pairs])
            share = _AVG[nd](tuple(kernel), stride=tuple(strides), dilation=tuple(dilations))(ones)
            divisor = share[0].astype(np.float32)
            count_include_pad = True
        x = node.apply(L.Pad(pairs, "constant", value), x)
        pairs = ((0, 0),) * nd
    cls = (_MAX if kind == "max" else _AVG)[nd]
    options = {"count_include_pad": count_include_pad} if kind == "avg" else {}
    if with_indices:
        options["return_indices"] = True
    layer = cls(tuple(kernel), stride=tuple(strides), padding=padding_spec(pairs), dilation=tuple(dilations),
                ceil_mode=ceil_mode, **options)
    y = node.apply(layer, x)
    if with_indices:
        # ONNX counts positions over the whole (N, C, *S) tensor, column-major within a plane
        # when storage_order=1; the layer gives them per plane, as PyTorch
        y, indices = y
        order = int(node.attr("storage_order", 0))
        plane = node.attr(PLANE_SIZE)   # Mod(Indices, P) folded in: the per-plane indices
        if plane is not None:
            size = int(np.prod(node.shape(x)[2:]))
            if order == 1 or plane != size:
                raise node.fail(f"the Indices taken modulo {plane} (convlens reads a Mod of MaxPool's "
                                f"row-major Indices by the plane size {size} only)")
            return y, indices
        return y, node.apply(L.FlatIndices(node.shape(x)[2:], column_major=order == 1), indices)
    return y if divisor is None else node.apply(L.Divide(), y, divisor)


@converter("MaxPool")
def convert_max_pool(node: Node):
    return _pool(node, "max")


@converter("AveragePool")
def convert_average_pool(node: Node):
    return _pool(node, "avg")


@converter("GlobalAveragePool", "GlobalMaxPool")
def convert_global_pool(node: Node):
    x = node.input(0)
    nd = node.rank(x) - 2
    if (node.op_type, nd) not in _GLOBAL:
        raise node.fail(f"global pooling over {nd} spatial axes")
    return node.apply(_GLOBAL[node.op_type, nd](keepdims=True), x)


@converter("LRN")
def convert_lrn(node: Node):
    size = int(node.attr("size"))
    if size % 2 == 0:
        raise node.fail(f"an even size ({size}): ONNX centres the window one channel later than "
                        "PyTorch's LocalResponseNorm, which convlens follows")
    layer = L.LocalResponseNorm(size, alpha=node.attr("alpha", 1e-4), beta=node.attr("beta", 0.75),
                                k=node.attr("bias", 1.0))
    return node.apply(layer, node.input(0))
