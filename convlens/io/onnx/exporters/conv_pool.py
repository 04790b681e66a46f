"""Convolution, linear, pooling and embedding layers to ONNX."""

from __future__ import annotations

import numpy as np

import convlens.layers as L
from convlens.functional.conv_arithmetic import resolve_padding
from convlens.functional.global_pool import resolve_output_size
from convlens.functional.padding import PADDING_MODES
from convlens.io.onnx.exporter import OnnxWriter, Tensor, exporter
from convlens.layers.conv import _ConvNd
from convlens.layers.global_pool import _AdaptivePoolNd, _GlobalPoolNd
from convlens.layers.pool import _PoolNd

# convlens padding_mode -> ONNX Pad mode ("wrap" needs opset 19)
_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def onnx_pads(pairs) -> list[int]:
    """((b0, a0), (b1, a1), …) -> ONNX's [b0, b1, …, a0, a1, …]."""
    return [lo for lo, _ in pairs] + [hi for _, hi in pairs]


@exporter(_ConvNd)
def export_conv(w: OnnxWriter, layer: _ConvNd, xs: list[Tensor], name: str) -> str:
    x = xs[0]
    spatial = x.example.shape[2:]
    pairs = resolve_padding(layer.padding, spatial, layer.kernel_size, layer.stride, layer.dilation)
    source = x.name
    if layer.padding_mode != "zeros" and any(lo or hi for lo, hi in pairs):
        mode = _PAD_MODES[layer.padding_mode]
        if mode == "wrap" and w.opset < 19:
            w.unsupported.append(f"{name} ({type(layer).__name__} with padding_mode='circular' "
                                 f"needs opset >= 19, writing {w.opset})")
        full = [(0, 0), (0, 0), *pairs]
        source = w.node("Pad", [x.name, w.ints(f"{name}.pads", onnx_pads(full))], name, mode=mode)
        pairs = ((0, 0),) * len(spatial)
    inputs = [source, w.constant(f"{name}.weight", layer.weight.data)]
    if layer.bias is not None:
        inputs.append(w.constant(f"{name}.bias", layer.bias.data))
    return w.node("Conv", inputs, name, kernel_shape=list(layer.kernel_size), strides=list(layer.stride),
                  pads=onnx_pads(pairs), dilations=list(layer.dilation), group=layer.groups)


@exporter(L.ConvTranspose1d, L.ConvTranspose2d, L.ConvTranspose3d)
def export_conv_transpose(w, layer, xs, name):
    inputs = [xs[0].name, w.constant(f"{name}.weight", layer.weight.data)]
    if layer.bias is not None:
        inputs.append(w.constant(f"{name}.bias", layer.bias.data))
    return w.node("ConvTranspose", inputs, name, kernel_shape=list(layer.kernel_size),
                  strides=list(layer.stride), pads=onnx_pads(layer.padding), dilations=list(layer.dilation),
                  group=layer.groups, output_padding=list(layer.output_padding))


@exporter(L.Linear)
def export_linear(w, layer, xs, name):
    x = xs[0]
    weight = layer.weight.data
    if x.example.ndim == 2:
        inputs = [x.name, w.constant(f"{name}.weight", weight)]
        if layer.bias is not None:
            inputs.append(w.constant(f"{name}.bias", layer.bias.data))
        return w.node("Gemm", inputs, name, transB=1)
    y = w.node("MatMul", [x.name, w.constant(f"{name}.weight_t", np.ascontiguousarray(weight.T))], name)
    if layer.bias is not None:
        y = w.node("Add", [y, w.constant(f"{name}.bias", layer.bias.data)], name)
    return y


@exporter(_PoolNd)
def export_pool(w, layer, xs, name):
    x = xs[0].name
    pads = onnx_pads([(p, p) for p in layer.padding])
    common = dict(kernel_shape=list(layer.kernel_size), strides=list(layer.stride), pads=pads,
                  ceil_mode=int(layer.ceil_mode))
    dilated = any(d != 1 for d in layer.dilation)
    if layer.kind == "avg":
        if dilated and w.opset < 19:
            w.unsupported.append(f"{name} ({type(layer).__name__} with dilation needs opset >= 19)")
        return w.node("AveragePool", [x], name, count_include_pad=int(layer.count_include_pad),
                      dilations=list(layer.dilation) if dilated else None, **common)
    indices = getattr(layer, "return_indices", False)
    if indices:
        # ONNX's Indices count over the whole (N, C, *S) tensor; convlens's (PyTorch's) within
        # each (n, c) plane: the remainder modulo the plane's size
        plane = w.ints(f"{name}.plane_size", [int(np.prod(xs[0].example.shape[2:]))])
    if layer.kind == "max":
        pooled = w.node("MaxPool", [x], name, dilations=list(layer.dilation), **common,
                        num_outputs=2 if indices else 1)
        return [pooled[0], w.node("Mod", [pooled[1], plane], name)] if indices else pooled
    # min pooling: −maxpool(−x) (ONNX pads max pooling with −inf, so −x is padded with +inf)
    negated = w.node("Neg", [x], name)
    pooled = w.node("MaxPool", [negated], name, dilations=list(layer.dilation), **common,
                    num_outputs=2 if indices else 1)
    if indices:
        return [w.node("Neg", [pooled[0]], name), w.node("Mod", [pooled[1], plane], name)]
    return w.node("Neg", [pooled], name)


@exporter(_GlobalPoolNd)
def export_global_pool(w, layer, xs, name):
    if layer.keepdims:
        return w.node("GlobalAveragePool" if layer.kind == "avg" else "GlobalMaxPool", [xs[0].name], name)
    # (N, C, *S) -> (N, C): a reduction over the spatial axes without keeping them
    return _reduce(w, "ReduceMean" if layer.kind == "avg" else "ReduceMax", xs[0].name,
                   list(range(2, xs[0].example.ndim)), False, name)


@exporter(L.Reduce)
def export_reduce(w, layer, xs, name):
    rank = xs[0].example.ndim
    return _reduce(w, "ReduceMean" if layer.kind == "mean" else "ReduceMax", xs[0].name,
                   sorted(d % rank for d in layer.dims), layer.keepdims, name)


def _reduce(w: OnnxWriter, op: str, x: str, axes: list[int], keepdims: bool, name: str) -> str:
    """ReduceMean / ReduceMax over ``axes`` (an input from opset 18, an attribute before)."""
    if w.opset >= 18:
        return w.node(op, [x, w.ints(f"{name}.axes", axes)], name, keepdims=int(keepdims))
    return w.node(op, [x], name, axes=axes, keepdims=int(keepdims))


@exporter(_AdaptivePoolNd)
def export_adaptive_pool(w, layer, xs, name):
    """Exact when each output cell's window has the same size and stride (the input size a
    multiple of the output size); otherwise ONNX has no operator for it."""
    spatial = xs[0].example.shape[2:]
    sizes = list(resolve_output_size(type(layer).__name__, layer.output_size, spatial))
    if any(n % o for n, o in zip(spatial, sizes)):
        w.unsupported.append(f"{name} ({type(layer).__name__} from {tuple(spatial)} to {tuple(sizes)}: "
                             "windows of unequal size)")
        return w.fresh(name)
    kernel = [n // o for n, o in zip(spatial, sizes)]
    op = "AveragePool" if layer.kind == "avg" else "MaxPool"
    return w.node(op, [xs[0].name], name, kernel_shape=kernel, strides=kernel)


@exporter(L.Embedding)
def export_embedding(w, layer, xs, name):
    return w.node("Gather", [w.constant(f"{name}.weight", layer.weight.data), xs[0].name], name, axis=0)


assert set(PADDING_MODES) - {"zeros"} == set(_PAD_MODES)


@exporter(L.FlatIndices)
def export_flat_indices(w, layer, xs, name):
    """``(n·C + c)·∏S + p``: the (n, c) offsets from the indices' own (dynamic) batch size, and
    for column-major positions the plane index re-counted (2-D: ``h + w·H``)."""
    indices = xs[0].name
    spatial = layer.spatial_shape
    plane = indices
    if layer.column_major:
        coords, rest = [], indices
        for size in reversed(spatial):         # row-major unravel: the last axis first
            divisor = w.ints(f"{name}.size", [size])
            coords.insert(0, w.node("Mod", [rest, divisor], name))
            rest = w.node("Div", [rest, divisor], name)
        plane, stride = coords[0], 1
        for k in range(1, len(spatial)):       # column-major ravel: the first axis fastest
            stride *= spatial[k - 1]
            plane = w.node("Add", [plane, w.node("Mul", [coords[k], w.ints(f"{name}.stride", [stride])],
                                                 name)], name)
    channels = xs[0].example.shape[1]
    batch = w.node("Gather", [w.node("Shape", [indices], name), w.ints(f"{name}.axis0", [0])], name)
    count = w.node("Mul", [batch, w.ints(f"{name}.channels", [channels])], name)
    planes = w.node("Range", [w.constant(f"{name}.zero", np.asarray(0, np.int64)),
                              w.node("Squeeze", [count], name),
                              w.constant(f"{name}.one", np.asarray(1, np.int64))], name)
    grid = w.node("Reshape", [planes, w.ints(f"{name}.grid", [-1, channels] + [1] * len(spatial))], name)
    offsets = w.node("Mul", [grid, w.ints(f"{name}.plane_size", [int(np.prod(spatial))])], name)
    return w.node("Add", [plane, offsets], name)
