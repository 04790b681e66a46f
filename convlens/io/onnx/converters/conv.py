"""Conv, ConvTranspose, Gemm and MatMul: the layers that hold weights."""

from __future__ import annotations

import numpy as np

import convlens.layers as L
from convlens.io.onnx.converters.registry import Node, converter

_CONV = {1: L.Conv1d, 2: L.Conv2d, 3: L.Conv3d}


def spatial_padding(node: Node, spatial: tuple[int, ...], kernel: list[int], strides: list[int],
                    dilations: list[int]):
    """ONNX ``pads``/``auto_pad`` -> convlens padding: ((before, after), …) or 'same'/'valid'."""
    nd = len(kernel)
    auto_pad = node.attr("auto_pad", "NOTSET")
    if auto_pad == "VALID":
        return ((0, 0),) * nd
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        pairs = []
        for n, k, s, d in zip(spatial, kernel, strides, dilations):
            out = -(-n // s)
            total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
            small, big = total // 2, total - total // 2
            pairs.append((small, big) if auto_pad == "SAME_UPPER" else (big, small))
        return tuple(pairs)
    pads = node.attr("pads", [0] * 2 * nd)
    return tuple((int(pads[i]), int(pads[i + nd])) for i in range(nd))


def padding_spec(pairs):
    """Symmetric pairs as one int per axis (the simplest config), else the pairs."""
    if all(lo == hi for lo, hi in pairs):
        return tuple(lo for lo, _ in pairs)
    return tuple(pairs)


@converter("Conv")
def convert_conv(node: Node):
    x = node.input(0)
    weight = node.constant(1, "weight")
    bias = node.constant(2, "bias")
    nd = weight.ndim - 2
    if nd not in _CONV:
        raise node.fail(f"{nd}-D convolution (convlens has Conv1d, Conv2d, Conv3d)")
    groups = int(node.attr("group", 1))
    kernel = list(node.attr("kernel_shape", weight.shape[2:]))
    strides = list(node.attr("strides", [1] * nd))
    dilations = list(node.attr("dilations", [1] * nd))
    spatial = node.shape(x)[2:]
    pairs = spatial_padding(node, spatial, kernel, strides, dilations)
    out_channels, in_per_group = weight.shape[:2]
    layer = _CONV[nd](in_per_group * groups, out_channels, tuple(kernel), stride=tuple(strides),
                      padding=padding_spec(pairs), dilation=tuple(dilations), groups=groups,
                      bias=bias is not None, dtype=weight.dtype)
    layer.weight.data = np.ascontiguousarray(weight)
    if bias is not None:
        layer.bias.data = np.ascontiguousarray(bias.astype(weight.dtype))
    return node.apply(layer, x)


def _transpose_padding(node: Node, spatial, kernel, strides, dilations, extra) -> tuple[tuple[int, int], ...]:
    """ONNX ``pads``, or the padding an ``output_shape`` / ``auto_pad`` asks for (the spec's
    rule: the total is split in two, SAME_UPPER putting the larger half at the end)."""
    auto_pad, shape = node.attr("auto_pad", "NOTSET"), node.attr("output_shape")
    if shape is None and auto_pad in ("NOTSET", "VALID"):
        pads = node.attr("pads", [0] * 2 * len(kernel)) if auto_pad == "NOTSET" else [0] * 2 * len(kernel)
        return tuple((int(pads[i]), int(pads[i + len(kernel)])) for i in range(len(kernel)))
    targets = list(shape)[-len(kernel):] if shape is not None else [n * s for n, s in zip(spatial, strides)]
    pairs = []
    for n, k, s, d, o, target in zip(spatial, kernel, strides, dilations, extra, targets):
        total = s * (n - 1) + o + (k - 1) * d + 1 - int(target)
        small, big = total // 2, total - total // 2
        pairs.append((small, big) if auto_pad == "SAME_UPPER" else (big, small))
    return tuple(pairs)


@converter("ConvTranspose")
def convert_conv_transpose(node: Node):
    x, weight, bias = node.input(0), node.constant(1, "weight"), node.constant(2, "bias")
    nd = weight.ndim - 2
    if nd not in (1, 2, 3):
        raise node.fail(f"{nd}-D transposed convolution (convlens has ConvTranspose1d/2d/3d)")
    groups = int(node.attr("group", 1))
    kernel = list(node.attr("kernel_shape", weight.shape[2:]))
    strides = list(node.attr("strides", [1] * nd))
    dilations = list(node.attr("dilations", [1] * nd))
    extra = list(node.attr("output_padding", [0] * nd))
    pairs = _transpose_padding(node, node.shape(x)[2:], kernel, strides, dilations, extra)
    # an output_shape longer than the convolution gives: zeros (and bias) at the end, as
    # output_padding adds them
    extra = [o - min(hi, 0) for o, (_, hi) in zip(extra, pairs)]
    pairs = tuple((lo, max(hi, 0)) for lo, hi in pairs)
    if any(lo < 0 for lo, _ in pairs) or any(o >= max(s, d) for o, s, d in zip(extra, strides, dilations)):
        raise node.fail(f"an output_shape that needs padding {pairs} and output_padding {extra} "
                        "(at most stride − 1 or dilation − 1) is not supported")
    cls = getattr(L, f"ConvTranspose{nd}d")
    layer = cls(weight.shape[0], weight.shape[1] * groups, tuple(kernel), tuple(strides), padding_spec(pairs),
                tuple(extra), groups, bias is not None, tuple(dilations), dtype=weight.dtype)
    layer.weight.data = np.ascontiguousarray(weight)
    if bias is not None:
        layer.bias.data = np.ascontiguousarray(bias.astype(weight.dtype))
    return node.apply(layer, x)


def linear_layer(weight_t: np.ndarray, bias: np.ndarray | None) -> L.Linear:
    """A Linear layer computing x @ weight_t + bias (weight_t: (in, out))."""
    layer = L.Linear(weight_t.shape[0], weight_t.shape[1], bias=bias is not None, dtype=weight_t.dtype)
    layer.weight.data = np.ascontiguousarray(weight_t.T)
    if bias is not None:
        layer.bias.data = np.ascontiguousarray(bias.astype(weight_t.dtype))
    return layer


@converter("Gemm")
def convert_gemm(node: Node):
    """Y = α·A'·B' + β·C; with B and C constant and A a batch of rows it is a Linear layer (a C
    computed at run time is added after one without bias)."""
    a = node.input(0)
    alpha, beta = float(node.attr("alpha", 1.0)), float(node.attr("beta", 1.0))
    if node.attr("transA", 0):
        if node.batched:
            raise node.fail("transA=1 on a batch of rows would transpose the batch axis")
        a = node.apply(L.Permute(0, 2, 1), a)
    b = node.constant(1, "matrix B")
    b = b.T if node.attr("transB", 0) else b
    weight_t = (alpha * b).astype(b.dtype)
    c = node.input(2)
    bias = None
    if c is not None and not node.is_constant(2) and node.input_names[2] not in node.graph_inputs:
        y = node.apply(linear_layer(weight_t, None), a)
        if beta != 1.0:
            c = node.apply(L.Multiply(), c, np.asarray(beta, dtype=b.dtype))
        return node.apply(L.Add(), y, c)
    if c is not None:
        c = node.constant(2, "bias C")
        if c.ndim == 2 and c.shape[0] != 1:
            if node.batched:
                raise node.fail(f"a bias C of shape {c.shape} (one row per example) is not supported")
            y = node.apply(linear_layer(weight_t, None), a)
            return node.apply(L.Add(), y, (beta * c).astype(c.dtype))
        bias = (beta * np.broadcast_to(c.reshape(-1), (weight_t.shape[1],))).astype(b.dtype)
    return node.apply(linear_layer(weight_t, bias), a)


@converter("MatMul")
def convert_matmul(node: Node):
    a, b = node.input(0), node.input(1)
    if isinstance(b, np.ndarray) and b.ndim == 2 and not isinstance(a, np.ndarray):
        return node.apply(linear_layer(b, None), a)
    vectors = [i for i, v in enumerate((a, b)) if not isinstance(v, np.ndarray) and node.rank(v) == 1]
    if not vectors:
        return node.apply(L.MatMul(), a, b)
    if node.batched:
        raise node.fail("a 1-D run-time operand (its only axis is the batch axis)")
    # a file of single examples: a 1-D operand of ONNX shape (k,) is (1, k) here; np.matmul reads
    # it as a row (1, 1, k) on the left, a column (1, k, 1) on the right, then drops that axis
    out = np.matmul(np.empty(node.shape(a), np.float32), np.empty(node.shape(b), np.float32)).shape
    k = node.shape(a if 0 in vectors else b)[0]
    a = node.apply(L.Reshape(1, k), a) if 0 in vectors else a
    b = node.apply(L.Reshape(k, 1), b) if 1 in vectors else b
    return node.apply(L.Reshape(*node.per_example(out)), node.apply(L.MatMul(), a, b))
