"""Element-wise arithmetic between tensors: Add, Sub, Mul, Div, Sum, Neg (NumPy broadcasting).

A constant operand (a bias, a scale) enters the graph as a ``cl.Constant`` node; a floating
constant is trainable, so it learns like any weight.
"""

from __future__ import annotations

import numpy as np

import convlens.layers as L
from convlens.io.onnx.converters.registry import Node, UnsupportedOnnx, converter

_BINARY = {"Add": L.Add, "Sub": L.Subtract, "Mul": L.Multiply, "Div": L.Divide}


@converter(*_BINARY)
def convert_binary(node: Node):
    if node.opset < 7 and node.attr("broadcast", 0):  # pragma: no cover - opsets below 9 are refused
        raise UnsupportedOnnx("legacy broadcast attribute")
    return node.apply(_BINARY[node.op_type](), node.input(0), node.input(1))


@converter("Neg")
def convert_neg(node: Node):
    """−x, as x times a constant −1 (convlens's min pooling is exported as Neg, MaxPool, Neg)."""
    x = node.input(0)
    return node.apply(L.Multiply(), x, np.array(-1, dtype=getattr(x, "dtype", np.float32)))


@converter("Sum")
def convert_sum(node: Node):
    values = [v for v in node.inputs if v is not None]
    if len(values) == 1:
        return node.apply(L.Identity(), values[0])
    total = node.apply(L.Add(), values[0], values[1])
    for value in values[2:]:
        total = node.apply(L.Add(), total, value)
    return total
