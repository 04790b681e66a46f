"""Element-wise activations and (log-)softmax."""

from __future__ import annotations

import numpy as np

import convlens.layers as L
from convlens.io.onnx.converters.registry import Node, converter

_SIMPLE = {"Relu": L.ReLU, "Sigmoid": L.Sigmoid, "Tanh": L.Tanh, "HardSwish": L.HardSwish,
           "Softplus": L.Softplus, "Softsign": L.Softsign}


@converter(*_SIMPLE)
def convert_simple(node: Node):
    return node.apply(_SIMPLE[node.op_type](), node.input(0))


@converter("Identity")
def convert_identity(node: Node):
    """A node's output passes through under the Identity's name (no layer: an exporter's
    renaming of outputs leaves no trace); a graph input gets an Identity layer."""
    x = node.input(0)
    if getattr(x, "node", None) is not None:
        return x
    return node.apply(L.Identity(), x)


@converter("LeakyRelu")
def convert_leaky_relu(node: Node):
    return node.apply(L.LeakyReLU(node.attr("alpha", 0.01)), node.input(0))


@converter("Elu")
def convert_elu(node: Node):
    return node.apply(L.ELU(node.attr("alpha", 1.0)), node.input(0))


@converter("Selu")
def convert_selu(node: Node):
    from convlens.functional.more_activation import SELU_ALPHA, SELU_SCALE

    alpha, gamma = node.attr("alpha", SELU_ALPHA), node.attr("gamma", SELU_SCALE)
    # ONNX stores the float32 rounding of the constants: keep PyTorch's exact values for them
    if np.float32(alpha) == np.float32(SELU_ALPHA) and np.float32(gamma) == np.float32(SELU_SCALE):
        alpha, gamma = SELU_ALPHA, SELU_SCALE
    return node.apply(L.SELU(alpha, gamma), node.input(0))


@converter("Gelu")
def convert_gelu(node: Node):
    """Gelu (opset 20+), and before opset 20 the exact-GELU chain with Erf that the importer
    fuses into one Gelu node (:mod:`convlens.io.onnx.patterns`; ONNX's checker refuses a real
    Gelu node there)."""
    return node.apply(L.GELU(node.attr("approximate", "none")), node.input(0))


@converter("HardSigmoid")
def convert_hardsigmoid(node: Node):
    return node.apply(L.HardSigmoid(node.attr("alpha", 0.2), node.attr("beta", 0.5)), node.input(0))


@converter("Clip", opsets=(1, 10))
def convert_clip_attributes(node: Node):
    bounds = np.finfo(np.float32)
    return node.apply(L.Hardtanh(node.attr("min", float(bounds.min)), node.attr("max", float(bounds.max))),
                      node.input(0))


@converter("Clip", opsets=(11, None))
def convert_clip(node: Node):
    low = node.constant(1, "lower bound")
    high = node.constant(2, "upper bound")
    low = -np.inf if low is None else float(np.asarray(low).reshape(-1)[0])
    high = np.inf if high is None else float(np.asarray(high).reshape(-1)[0])
    if low > high:  # ONNX: every value becomes max
        low = high
    return node.apply(L.Hardtanh(low, high), node.input(0))


@converter("PRelu")
def convert_prelu(node: Node):
    """A constant slope of one value per channel (shape (C,), (C, 1, …) or (1,)) is a PReLU
    layer; any other slope is max(x, 0) + slope·min(x, 0). Before opset 7 a slope of shape
    (C,) was per channel whatever the input's rank (broadcasting came with opset 7, and ONNX's
    version converter leaves the slope as it was)."""
    x = node.input(0)
    rank = node.rank(x)
    slope = node.input(1)
    if isinstance(slope, np.ndarray):
        channels = node.shape(x)[1] if rank >= 2 else None
        squeezed = slope.reshape(-1)
        per_channel = slope.ndim < rank and slope.ndim >= 1 and slope.shape[0] == channels \
            and slope.size == channels and (rank - slope.ndim == 1 or 0 < node.source_opset < 7)
        if slope.size == 1 or per_channel:
            layer = L.PReLU(squeezed.size)
            layer.weight.data = squeezed.astype(np.float32 if slope.dtype != np.float64 else slope.dtype)
            return node.apply(layer, x)
    positive = node.apply(L.ReLU(), x)
    negative = node.apply(L.Minimum(), x, np.zeros((), np.float32))
    return node.apply(L.Add(), positive, node.apply(L.Multiply(), negative, slope))


def _softmax(node: Node, cls):
    x = node.input(0)
    rank = node.rank(x)
    if node.opset >= 13:
        axis = node.axis(node.attr("axis", -1), rank)
        node.refuse_batch_axis([axis], "softmax over")
        return node.apply(cls(dim=node.dim(axis)), x)
    # before opset 13: softmax over all axes from `axis` on, flattened to one
    axis = node.axis(node.attr("axis", 1), rank)
    node.refuse_batch_axis([axis], "softmax over")
    if axis == rank - 1:
        return node.apply(cls(dim=node.dim(axis)), x)
    shape = node.shape(x)
    flat = node.apply(L.Flatten(node.dim(axis)), x)
    y = node.apply(cls(dim=node.dim(axis)), flat)
    return node.apply(L.Reshape(*node.per_example(shape)), y)


@converter("Softmax")
def convert_softmax(node: Node):
    return _softmax(node, L.Softmax)


@converter("LogSoftmax")
def convert_log_softmax(node: Node):
    return _softmax(node, L.LogSoftmax)


@converter("Dropout")
def convert_dropout(node: Node):
    """Inference (the usual): dropout passes its input through. ``training_mode=True``
    (opset 12+) drops at every run: ``cl.Dropout(ratio, always=True)``; with a ``seed``
    attribute its mask is the one ONNX's reference implementation draws
    (``reseed``: NumPy's ``RandomState(seed)``). The mask output becomes the layer's second."""
    ratio, training = float(node.attr("ratio", 0.5)), False
    if node.opset >= 12:
        given = node.constant(1, "ratio")
        ratio = 0.5 if given is None else float(given)
        flag = node.constant(2, "training_mode")
        training = flag is not None and bool(flag)
    if not training and node.num_outputs == 1:
        return node.apply(L.Identity(), node.input(0))
    seed = node.attr("seed")
    layer = L.Dropout(ratio, seed=None if seed is None else int(seed), always=training,
                      return_mask=node.num_outputs > 1, reseed=seed is not None)
    return node.apply(layer, node.input(0))
