"""The registry of ONNX operator converters and the view of a node they receive.

A converter is a function ``convert(node: Node) -> value or list of values`` registered with
``@converter("Conv", opsets=(9, None))``. It reads the node's attributes and inputs, builds
convlens layers and calls them on the symbolic inputs (``node.apply(layer, x)``), as one
would build a graph by hand. An input is either a NumPy array (a constant: an initializer, a
``Constant``, or anything computed only from constants) or a ``cl.SymbolicTensor``. The
importer (:mod:`convlens.io.onnx.importer`) knows no operator; this registry is also what the
table of supported operators (docs/onnx_operators.md) is printed from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Stands for the batch size in shape arithmetic folded at import (the output of ``Shape`` on a
#: batched tensor): a Reshape whose target starts with it keeps the batch axis dynamic.
BATCH = 2**31 - 3


class UnsupportedOnnx(ValueError):
    """A node uses an operator or an attribute value convlens does not convert."""


class NeedsConstant(UnsupportedOnnx):
    """A converter needs the value of a graph input (a weight, a shape) at import time; the
    conformance backend binds such inputs to the values it is given and imports again."""

    def __init__(self, tensor: str, message: str) -> None:
        super().__init__(message)
        self.tensor = tensor


Converter = Callable[["Node"], Any]


@dataclass(frozen=True)
class Registration:
    op_type: str
    first_opset: int
    last_opset: int | None
    function: Converter


CONVERTERS: dict[str, list[Registration]] = {}


def converter(*op_types: str, opsets: tuple[int, int | None] = (1, None)) -> Callable[[Converter], Converter]:
    """Register a converter for ``op_types`` and the opsets ``first … last`` (None: open)."""

    def register(function: Converter) -> Converter:
        for op_type in op_types:
            CONVERTERS.setdefault(op_type, []).append(Registration(op_type, opsets[0], opsets[1], function))
        return function

    return register


def find_converter(op_type: str, opset: int) -> Converter | None:
    for registration in CONVERTERS.get(op_type, []):
        if registration.first_opset <= opset and (registration.last_opset is None
                                                   or opset <= registration.last_opset):
            return registration.function
    return None


def supported_operators() -> list[str]:
    return sorted(CONVERTERS)


@dataclass
class Node:
    """One ONNX node as a converter sees it."""

    op_type: str
    name: str                      # the graph node name the first layer gets
    inputs: list[Any]              # np.ndarray (constant), SymbolicTensor, or None (omitted)
    input_names: list[str]
    attrs: dict[str, Any]
    opset: int
    num_outputs: int
    graph_inputs: frozenset[str]   # names of the ONNX graph's inputs (for NeedsConstant)
    static_batches: frozenset[int] = frozenset()  # batch sizes the file's inputs declare
    batched: bool = True           # False: the file's tensors are one example (see importer)
    apply_layer: Callable[..., Any] = field(repr=False, default=None)  # set by the importer
    source_opset: int = 0          # the file's opset before ONNX's version converter (0: opset)
    _calls: int = 0

    # -- reading ---------------------------------------------------------------------------
    def attr(self, name: str, default: Any = None) -> Any:
        return self.attrs.get(name, default)

    def input(self, index: int) -> Any:
        return self.inputs[index] if index < len(self.inputs) else None

    def is_constant(self, index: int) -> bool:
        return isinstance(self.input(index), np.ndarray)

    def constant(self, index: int, what: str, default: Any = None) -> np.ndarray | None:
        """Input ``index`` as an array; it must be known at import time (a weight, a shape)."""
        value = self.input(index)
        if value is None:
            return None if default is None else np.asarray(default)
        if isinstance(value, np.ndarray):
            return value
        tensor = self.input_names[index]
        message = (f"{self.describe()}: the {what} (input {index}, {tensor!r}) must be a constant "
                   "(an initializer or computed from constants), received a tensor computed at run time")
        if tensor in self.graph_inputs:
            raise NeedsConstant(tensor, message)
        raise UnsupportedOnnx(message)

    def constant_ints(self, index: int, what: str) -> list[int] | None:
        value = self.constant(index, what)
        return None if value is None else [int(v) for v in np.asarray(value).reshape(-1)]

    def rank(self, value: Any) -> int:
        return len(self.shape(value))

    def shape(self, value: Any) -> tuple[int, ...]:
        """The shape the ONNX file sees; the batch axis of a run-time tensor is :data:`BATCH`
        (a file of single examples has none: it is convlens's added axis)."""
        if isinstance(value, np.ndarray) or not self.batched:
            return tuple(value.shape)
        return (BATCH, *value.shape)

    def dim(self, axis: int) -> int:
        """The convlens axis of the ONNX (non-negative) ``axis``."""
        return axis if self.batched else axis + 1

    def per_example(self, shape: Sequence[int]) -> tuple[int, ...]:
        """The shape arguments of Reshape and friends (without the batch axis) for an ONNX
        ``shape``."""
        return tuple(shape[1:]) if self.batched else tuple(shape)

    def refuse_batch_axis(self, axes: Sequence[int], what: str) -> None:
        if self.batched and 0 in axes:
            raise self.fail(f"{what} the batch axis (axis 0); convlens keeps the batch axis first and whole")

    def axis(self, axis: int, rank: int) -> int:
        if not -rank <= axis < rank:
            raise UnsupportedOnnx(f"{self.describe()}: axis {axis} is outside a rank-{rank} tensor")
        return axis % rank

    def describe(self) -> str:
        return f"{self.op_type} node {self.name!r}"

    def fail(self, reason: str) -> UnsupportedOnnx:
        return UnsupportedOnnx(f"{self.describe()}: {reason}")

    # -- building --------------------------------------------------------------------------
    def apply(self, layer: Any, *values: Any) -> Any:
        """Call ``layer`` on symbolic ``values`` as a new graph node (constants become
        ``cl.Constant`` nodes); the node's first layer is named after the ONNX node."""
        self._calls += 1
        hints = [next((n for v, n in zip(self.inputs, self.input_names) if v is value), None)
                 if isinstance(value, np.ndarray) else None for value in values]
        return self.apply_layer(layer, list(values), self.name if self._calls == 1 else
                                f"{self.name}_{self._calls}", hints)


def as_list(values: Sequence[Any] | Any) -> list[Any]:
    return list(values) if isinstance(values, (list, tuple)) else [values]
