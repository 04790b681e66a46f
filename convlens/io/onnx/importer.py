"""ONNX graph -> ``cl.Graph``: walk the nodes, fold constants, call one converter per node.

    model = cl.from_onnx("resnet50.onnx")        # or cl.load("resnet50.onnx")

The walker knows no operator. For each node in the file's (topological) order it looks up the
converter registered for the operator and the model's opset
(:mod:`convlens.io.onnx.converters`), hands it the node's inputs — NumPy arrays for constants,
``cl.SymbolicTensor`` for values computed at run time — and records what it returns.

A node whose inputs are all constants is computed right away with ONNX's own reference
implementation (``onnx.reference``): this folds the shape arithmetic exporters write
(Shape → Gather → Concat → Reshape) and any preprocessing of weights, so converters see plain
arrays. Before converting anything, every node that is neither foldable nor supported is
collected, and one error lists them all with their node names.

Names: a node that uses weights is named after them the way PyTorch exports name initializers
(``layer1.0.conv1.weight`` -> node ``layer1.0.conv1``, so ``state_dict`` keys match the original
model's); otherwise after the ONNX node name (``/layer1/layer1.0/relu/Relu`` ->
``layer1.0.relu``) or, without one, the operator.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import onnx
from onnx import helper

from convlens.io.formats import FormatError
from convlens.io.onnx import converters  # noqa: F401  (registers every converter)
from convlens.io.onnx.converters.registry import (
    BATCH,
    NeedsConstant,
    Node,
    UnsupportedOnnx,
    as_list,
    find_converter,
)
from convlens.io.onnx.naming import unique_name
from convlens.io.onnx.patterns import fuse_gelu, fuse_plane_indices
from convlens.io.onnx.reader import (
    attributes,
    initializers,
    opset_version,
    read_model,
    source_opset,
    value_dtype,
    value_shape,
)


class OnnxImportError(FormatError):
    """The ONNX file uses operators (or settings of them) convlens does not convert."""


def from_onnx(source: str | os.PathLike[str] | onnx.ModelProto, *,
              input_shapes: dict[str, Sequence[int]] | None = None,
              constants: dict[str, np.ndarray] | None = None, batch_axis: bool = True) -> Any:
    """Build a ``cl.Graph`` from an ONNX model.

    Args:
        source: a path to a ``.onnx`` file, or an ``onnx.ModelProto``.
        input_shapes: shapes (without the batch axis) for inputs whose file declares symbolic
            sizes other than the batch (e.g. ``{"image": (3, 224, 224)}``).
        constants: values for graph inputs to treat as constants (weights given as inputs).
        batch_axis: True (the usual): axis 0 of the file's tensors is the batch. False: the
            file's tensors are one example; convlens adds a batch axis in front, so operators
            may act on the file's axis 0 like on any other (the model then takes batches of
            such examples). ``input_shapes`` are then the file's whole shapes.
    """
    model = read_model(source)
    where = "the ONNX model" if isinstance(source, onnx.ModelProto) else repr(str(source))
    return Importer(model, where, input_shapes or {}, constants or {}, batch_axis).run()


class Importer:
    def __init__(self, model: onnx.ModelProto, where: str, input_shapes: dict[str, Sequence[int]],
                 constants: dict[str, np.ndarray], batch_axis: bool = True) -> None:
        self.model, self.where = model, where
        self.batch_axis = batch_axis
        self.graph = fuse_gelu(model.graph)  # GELU before opset 20: Div, Erf, Add, Mul, Mul
        self.graph = fuse_plane_indices(self.graph)  # MaxPool's Indices modulo the plane size
        self.opset = opset_version(model)
        self.source_opset = source_opset(model)
        self.input_shapes = input_shapes
        self.values: dict[str, Any] = dict(initializers(self.graph))
        self.initializer_names = set(self.values)
        self.values.update({k: np.asarray(v) for k, v in constants.items()})
        self.graph_inputs = frozenset(i.name for i in self.graph.input if i.name not in self.values)
        self.used_names: set[str] = set()
        self.node_names = self._node_names()
        self.static_batches: set[int] = set()

    # -- the walk --------------------------------------------------------------------------
    def run(self) -> Any:
        import convlens as cl

        self._check_supported()
        inputs = [self._input(info) for info in self.graph.input if info.name in self.graph_inputs]
        for onnx_node, name in zip(self.graph.node, self.node_names):
            self._convert(onnx_node, name)
        outputs = []
        for info in self.graph.output:
            if info.name not in self.values:
                raise OnnxImportError(f"{self.where}: output {info.name!r} is not computed by convlens "
                                      "(e.g. the mask of a Dropout)")
            value = self.values.get(info.name)
            if isinstance(value, np.ndarray) and value.dtype.kind == "i" and BATCH in value:
                raise OnnxImportError(f"{self.where}: output {info.name!r} is a shape that holds the "
                                      "batch size, which a convlens model does not fix at import")
            if isinstance(value, np.ndarray):
                value = self._apply(cl.Constant(value), [], self._unique(f"{info.name}_constant"))
            outputs.append(value)
        graph = cl.Graph(inputs=inputs if len(inputs) != 1 else inputs[0],
                         outputs=outputs if len(outputs) != 1 else outputs[0])
        return graph.eval()  # an imported model infers (batch norm on its running statistics)

    def _input(self, info: onnx.ValueInfoProto) -> Any:
        import convlens as cl

        dims = value_shape(info)
        if dims and isinstance(dims[0], int) and self.batch_axis:
            self.static_batches.add(dims[0])
        if info.name in self.input_shapes:
            per_example = tuple(int(s) for s in self.input_shapes[info.name])
        else:
            skip = 1 if self.batch_axis else 0
            rest = dims[skip:]
            unknown = [i + skip for i, d in enumerate(rest) if not isinstance(d, int)]
            if unknown or (not dims and self.batch_axis):
                raise OnnxImportError(
                    f"{self.where}: input {info.name!r} has shape {dims} with sizes unknown on axes "
                    f"{unknown or 'all'}; give them: from_onnx(path, input_shapes={{{info.name!r}: (…)}}) "
                    "(the shape of one example, without the batch axis)")
            per_example = tuple(int(d) for d in rest)
        tensor = cl.Input(per_example, name=self._unique(_clean(info.name) or "input"),
                          dtype=value_dtype(info))
        self.values[info.name] = tensor
        return tensor

    def _convert(self, onnx_node: onnx.NodeProto, name: str) -> None:
        for i in onnx_node.input:
            if i and i not in self.values:
                raise OnnxImportError(f"{self.where}: {onnx_node.op_type} node {onnx_node.name!r} reads "
                                      f"{i!r}, an output convlens does not compute (e.g. a Dropout mask)")
        inputs = [self.values[i] if i else None for i in onnx_node.input]
        if all(v is None or isinstance(v, np.ndarray) for v in inputs) and onnx_node.op_type != "Shape":
            outputs = self._fold(onnx_node, inputs)
        else:
            node = Node(onnx_node.op_type, name, inputs, list(onnx_node.input), attributes(onnx_node),
                        self.opset, len([o for o in onnx_node.output if o]), self.graph_inputs,
                        frozenset(self.static_batches), self.batch_axis, apply_layer=self._apply,
                        source_opset=self.source_opset)
            function = find_converter(onnx_node.op_type, self.opset)
            try:
                outputs = as_list(function(node))
            except NeedsConstant:
                raise
            except UnsupportedOnnx as error:
                raise OnnxImportError(f"{self.where}: {error}") from None
        for output_name, value in zip(onnx_node.output, outputs):
            if output_name:
                self.values[output_name] = value

    def _fold(self, onnx_node: onnx.NodeProto, inputs: list[Any]) -> list[np.ndarray]:
        """Compute a node on constant inputs with ONNX's reference implementation."""
        from onnx.reference import ReferenceEvaluator

        feeds = {name: value for name, value in zip(onnx_node.input, inputs) if name}
        graph = helper.make_graph(
            [onnx_node], "fold",
            [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
             for n, v in feeds.items()],
            [helper.make_tensor_value_info(o, onnx.TensorProto.UNDEFINED, None)
             for o in onnx_node.output if o])
        proto = helper.make_model(graph, opset_imports=list(self.model.opset_import))
        proto.ir_version = self.model.ir_version
        try:
            return [np.asarray(v) for v in ReferenceEvaluator(proto).run(None, feeds)]
        except Exception as error:  # the reference implementation's own message
            raise OnnxImportError(f"{self.where}: computing {onnx_node.op_type} node "
                                  f"{onnx_node.name!r} on constants failed: {error}") from None

    def _apply(self, layer: Any, values: list[Any], name: str, hints: list[str | None] | None = None) -> Any:
        """``layer(*values, name=name)``; constants become ``cl.Constant`` nodes first, named
        after their initializer (``scale.value`` -> ``scale``) when they have one."""
        import convlens as cl

        symbolic = []
        for k, value in enumerate(values):
            if isinstance(value, np.ndarray):
                trainable = np.issubdtype(value.dtype, np.floating) and value.size > 1
                hint = hints[k] if hints else None
                label = _clean(hint.removesuffix(".value")) if hint and hint in self.initializer_names else ""
                value = cl.Constant(value, trainable=bool(trainable))(
                    name=self._unique(label or f"{name}_const{k}"))
            symbolic.append(value)
        if any(0 in v.shape for v in symbolic):  # ONNX allows zero-size tensors: this node takes them
            layer.takes_empty = True
        return layer(*symbolic, name=self._unique(name))

    # -- checks and names ------------------------------------------------------------------
    def _check_supported(self) -> None:
        """One error naming every node whose operator has no converter (and is not computed
        from constants alone)."""
        constant = set(self.values) - set(self.graph_inputs)
        missing = []
        for node in self.graph.node:
            inputs = [i for i in node.input if i]
            if node.op_type != "Shape" and all(i in constant for i in inputs):
                constant.update(node.output)
                continue
            if node.op_type == "Shape":
                constant.update(node.output)
            if node.domain not in ("", "ai.onnx") or find_converter(node.op_type, self.opset) is None:
                label = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
                missing.append(f"{label} (node {node.name or '(unnamed)'!r})")
        if missing:
            raise OnnxImportError(
                f"{self.where}: unsupported ONNX operators at opset {self.opset}: " + ", ".join(missing)
                + ". See docs/onnx_operators.md for the operators convlens converts.")

    def _node_names(self) -> list[str]:
        weight_names = {name for name, v in self.values.items() if isinstance(v, np.ndarray)}
        names = []
        for node in self.graph.node:
            names.append(self._unique(_node_name(node, weight_names)))
        self.used_names.clear()
        return names

    def _unique(self, name: str) -> str:
        return unique_name(name, self.used_names)


def _clean(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z_.]+", "_", text).strip("_.")


def _snake(op_type: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", op_type).lower()


def _node_name(node: onnx.NodeProto, weight_names: set[str]) -> str:
    for name in node.input:
        if name in weight_names and re.search(r"\.(weight|bias)$", name):
            return _clean(name.rsplit(".", 1)[0])
    segments = [s for s in node.name.split("/") if s]
    if len(segments) > 1 and segments[-1].split("_")[0] == node.op_type:
        segments = segments[:-1]
    # PyTorch scopes repeat the path: /layer1/layer1.0/downsample/downsample.0/Conv is the
    # module layer1.0.downsample.0: a segment that starts with the path's tail replaces it
    parts: list[str] = []
    for segment in segments:
        for k in range(len(parts)):
            tail = ".".join(parts[k:])
            if segment == tail or segment.startswith(tail + "."):
                parts = parts[:k] + segment.split(".")
                break
        else:
            parts += segment.split(".")
    return _clean(".".join(parts)) or _snake(node.op_type)


__all__ = ["from_onnx", "OnnxImportError", "BATCH"]
