"""Activations to ONNX: most are one ONNX operator; SiLU and GELU are short compositions."""

from __future__ import annotations

import math

import numpy as np

import convlens.layers as L
from convlens.io.onnx.exporter import OnnxWriter, Tensor, exporter

_ONE_TO_ONE = {L.ReLU: "Relu", L.Sigmoid: "Sigmoid", L.Tanh: "Tanh", L.Identity: "Identity",
               L.Softsign: "Softsign"}


@exporter(L.Dropout)
def export_dropout(w: OnnxWriter, layer, xs: list[Tensor], name: str):
    """Identity (an exported model infers), unless the layer drops at inference too
    (``always``) or returns its mask: then ONNX's Dropout with ``training_mode`` and the
    mask output (and the ``seed``, which ONNX leaves each runtime to interpret)."""
    if not (layer.always or layer.return_mask):
        return w.node("Identity", [xs[0].name], name)
    if type(layer) is not L.Dropout:
        w.unsupported.append(f"{name} ({type(layer).__name__} with always= or return_mask=)")
    inputs = [xs[0].name, w.constant(f"{name}.ratio", np.asarray(layer.p, xs[0].example.dtype)),
              w.constant(f"{name}.training_mode", np.asarray(layer.always))]
    return w.node("Dropout", inputs, name, seed=None if layer.seed is None else int(layer.seed),
                  num_outputs=2 if layer.return_mask else 1)


@exporter(*_ONE_TO_ONE)
def export_plain(w: OnnxWriter, layer, xs: list[Tensor], name: str) -> str:
    op = next(op for cls, op in _ONE_TO_ONE.items() if isinstance(layer, cls))
    return w.node(op, [xs[0].name], name)


@exporter(L.Softplus)
def export_softplus(w, layer, xs, name):
    """ONNX's Softplus is β = 1 without PyTorch's linear part above the threshold (the two
    differ by less than e^(−threshold)); another β scales around it: Softplus(βx)/β."""
    if layer.beta == 1.0:
        return w.node("Softplus", [xs[0].name], name)
    beta = w.constant(f"{name}.beta", np.asarray(layer.beta, xs[0].example.dtype))
    return w.node("Div", [w.node("Softplus", [w.node("Mul", [xs[0].name, beta], name)], name), beta], name)


@exporter(L.LeakyReLU)
def export_leaky_relu(w, layer, xs, name):
    return w.node("LeakyRelu", [xs[0].name], name, alpha=layer.negative_slope)


@exporter(L.ELU)
def export_elu(w, layer, xs, name):
    return w.node("Elu", [xs[0].name], name, alpha=layer.alpha)


@exporter(L.SELU)
def export_selu(w, layer, xs, name):
    return w.node("Selu", [xs[0].name], name, alpha=layer.alpha, gamma=layer.scale)


@exporter(L.HardSigmoid)
def export_hardsigmoid(w, layer, xs, name):
    return w.node("HardSigmoid", [xs[0].name], name, alpha=layer.alpha, beta=layer.beta)


@exporter(L.Hardtanh)
def export_hardtanh(w, layer, xs, name):
    dtype = xs[0].example.dtype
    bounds = [w.constant(f"{name}.min", np.asarray(layer.min_val, dtype)),
              w.constant(f"{name}.max", np.asarray(layer.max_val, dtype))]
    return w.node("Clip", [xs[0].name, *bounds], name)


@exporter(L.PReLU)
def export_prelu(w, layer, xs, name):
    # ONNX's slope broadcasts from the right: (C,) becomes (C, 1, …) over the spatial axes
    rank = xs[0].example.ndim
    slope = layer.weight.data
    if slope.size > 1:
        slope = slope.reshape((-1,) + (1,) * (rank - 2))
    return w.node("PRelu", [xs[0].name, w.constant(f"{name}.weight", slope)], name)


@exporter(L.HardSwish)
def export_hardswish(w, layer, xs, name):
    if w.opset >= 14:
        return w.node("HardSwish", [xs[0].name], name)
    gate = w.node("HardSigmoid", [xs[0].name], name, alpha=1 / 6, beta=0.5)
    return w.node("Mul", [xs[0].name, gate], name)


@exporter(L.SiLU)
def export_silu(w, layer, xs, name):
    gate = w.node("Sigmoid", [xs[0].name], name)
    return w.node("Mul", [xs[0].name, gate], name)


@exporter(L.GELU)
def export_gelu(w, layer, xs, name):
    x = xs[0].name
    dtype = xs[0].example.dtype
    if w.opset >= 20:
        return w.node("Gelu", [x], name, approximate=layer.approximate)
    half = w.constant(f"{name}.half", np.asarray(0.5, dtype))
    one = w.constant(f"{name}.one", np.asarray(1.0, dtype))
    if layer.approximate == "tanh":  # ½x(1 + tanh(√(2/π)(x + 0.044715x³)))
        cube = w.node("Mul", [x, w.node("Mul", [x, x], name)], name)
        inner = w.node("Add", [x, w.node("Mul", [cube, w.constant(f"{name}.c", np.asarray(0.044715, dtype))],
                                        name)], name)
        scaled = w.node("Mul", [inner, w.constant(f"{name}.k", np.asarray(math.sqrt(2 / math.pi), dtype))],
                        name)
        gate = w.node("Tanh", [scaled], name)
    else:  # ½x(1 + erf(x/√2))
        gate = w.node("Erf", [w.node("Div", [x, w.constant(f"{name}.sqrt2", np.asarray(math.sqrt(2), dtype))],
                                     name)], name)
    return w.node("Mul", [w.node("Mul", [x, half], name), w.node("Add", [gate, one], name)], name)


@exporter(L.Softmax)
def export_softmax(w, layer, xs, name):
    op = "LogSoftmax" if isinstance(layer, L.LogSoftmax) else "Softmax"
    return w.node(op, [xs[0].name], name, axis=layer.dim)
