"""convlens models to ONNX: one small exporter per layer type, found through a registry.

    cl.export_onnx(model, "model.onnx", input_shape=(1, 28, 28))

The walker knows no layer: :func:`emit` looks up the exporter of a layer's class (or of its
nearest registered base class) and calls it with the names of the ONNX tensors that feed the
layer. Containers (``Sequential``, ``Residual``, ``Concat``, ``Graph``) are exporters too and
call :func:`emit` on their children. Every ONNX node is named after the convlens layer it comes
from (``0``, ``3.body.1``, a graph node's name) and every initializer after its parameter
(``0.weight``), so the file reads like the model and imports back under the same names.

To know ranks and sizes (a per-channel PReLU slope must broadcast over the spatial axes, a
partial Flatten becomes a Reshape) the writer pushes an example batch of one, all zeros,
through the model alongside, layer by layer. The batch axis of the ONNX input and output is
dynamic (named ``N``). A layer ONNX cannot express raises :class:`OnnxExportError` naming every
such layer at once.
"""

from __future__ import annotations

import operator
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from convlens.functional.engine import no_grad
from convlens.io import atomic_write
from convlens.io.onnx.naming import unique_name
from convlens.io.registry import registrar
from convlens.layers.module import Module

#: The opset written by default: LayerNormalization needs 17; onnxruntime runs it everywhere.
DEFAULT_OPSET = 17
MIN_OPSET = 13  # Softmax on one axis, Squeeze/Unsqueeze axes as inputs, Clip bounds as inputs


class OnnxExportError(ValueError):
    """The model holds layers ONNX cannot express (the message names each of them)."""


@dataclass
class Tensor:
    """An ONNX tensor during export: its name and an example value (batch of one)."""

    name: str
    example: np.ndarray


Exporter = Callable[["OnnxWriter", Module, list[Tensor], str], str]
EXPORTERS: dict[type, Exporter] = {}


#: ``@exporter(LayerClass, …)`` registers ``function(writer, layer, inputs, name) -> output name``
exporter = registrar(EXPORTERS)


def find_exporter(layer: Module) -> Exporter | None:
    for cls in type(layer).__mro__:
        if cls in EXPORTERS:
            return EXPORTERS[cls]
    return None


@dataclass
class OnnxWriter:
    """Collects nodes and initializers; names every tensor uniquely."""

    opset: int
    nodes: list[onnx.NodeProto] = field(default_factory=list)
    initializers: list[onnx.TensorProto] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    _used: set[str] = field(default_factory=set)
    _shared: dict[int, tuple[str, np.ndarray]] = field(default_factory=dict)

    def fresh(self, hint: str) -> str:
        return unique_name(hint, self._used)

    def constant(self, name: str, value: Any, dtype: Any = None) -> str:
        """An initializer holding ``value``; a parameter array used twice is stored once."""
        array = np.asarray(value, dtype=dtype)
        key = id(value) if isinstance(value, np.ndarray) else None
        if key is not None and key in self._shared:
            return self._shared[key][0]
        unique = self.fresh(name)
        # (ascontiguousarray alone would turn a scalar into shape (1,))
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array).reshape(array.shape),
                                                         unique))
        if key is not None:
            self._shared[key] = (unique, value)  # holding the array keeps its id from being reused
        return unique

    def ints(self, name: str, values: Sequence[int]) -> str:
        return self.constant(name, np.asarray(values, dtype=np.int64))

    def node(self, op_type: str, inputs: Sequence[str], name: str, output: str | None = None,
             num_outputs: int = 1, **attributes: Any) -> Any:
        """Add one node; returns the name of its output (a list of ``num_outputs`` names when
        it has several)."""
        out = self.fresh(output or (f"{name}_out" if name else op_type))
        outs = [out] + [self.fresh(f"{out}:{i}") for i in range(1, num_outputs)]
        node_name = self.fresh(f"{name}/{op_type}" if name else op_type)
        attrs = {k: v for k, v in attributes.items() if v is not None}
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=node_name, **attrs))
        return out if num_outputs == 1 else outs


def emit(writer: OnnxWriter, layer: Module, inputs: list[Tensor], name: str) -> Any:
    """Export ``layer`` applied to ``inputs``; returns its output tensor (name and example),
    a list of them for a layer with several outputs."""
    function = find_exporter(layer)
    examples = [t.example for t in inputs]
    if function is None:
        writer.unsupported.append(f"{name or '(model)'} ({type(layer).__name__})")
        out_name = writer.fresh(f"{name}_unsupported")
    else:
        out_name = function(writer, layer, inputs, name)
    with no_grad():
        example = layer.run_forward(*examples)
    if isinstance(example, tuple):   # several outputs: the exporter named each
        names = out_name if isinstance(out_name, list) else [out_name] * len(example)
        return [Tensor(n, np.asarray(e)) for n, e in zip(names, example)]
    return Tensor(out_name, np.asarray(example))


def child(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def export_onnx(model: Module, path: str | os.PathLike[str], input_shape: Sequence[int] | None = None,
                opset: int = DEFAULT_OPSET, input_dtype: Any = None) -> Path:
    """Write ``model`` to ``path`` as ONNX with a dynamic batch axis; returns the path.

    Args:
        model: any convlens model (evaluated in eval mode: dropout off, running statistics).
        input_shape: the shape of one example, without the batch axis (e.g. ``(1, 28, 28)``);
            a graph model knows its own. Only ranks and sizes of the example matter.
        opset: the ONNX opset to write (``MIN_OPSET`` … the newest ``onnx`` knows).
        input_dtype: float32 unless the model starts with an ``Embedding`` (int64 token ids).
    """
    newest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= opset <= newest:
        raise ValueError(f"export_onnx: opset must be between {MIN_OPSET} and {newest}, received {opset}")
    specs = _input_specs(model, input_shape, input_dtype)
    modes = {id(m): m.training for m in model.modules()}
    model.eval()
    writer = OnnxWriter(opset)
    try:
        inputs = [Tensor(writer.fresh(name), np.zeros((1, *shape), dtype)) for name, shape, dtype in specs]
        outputs = _emit_model(writer, model, inputs)
    finally:
        for m in model.modules():
            m.training = modes[id(m)]
    if writer.unsupported:
        raise OnnxExportError(
            "export_onnx: ONNX cannot express these layers of the model: "
            + ", ".join(writer.unsupported))
    graph = helper.make_graph(
        writer.nodes, type(model).__name__,
        [_value_info(t.name, t.example) for t in inputs],
        [_value_info(t.name, t.example, batched)
         for t, batched in zip(outputs, getattr(model, "output_batched", [True] * len(outputs)))],
        writer.initializers,
    )
    proto = helper.make_model_gen_version(graph, opset_imports=[helper.make_opsetid("", opset)],
                                          producer_name="convlens")
    onnx.checker.check_model(proto, full_check=True)
    target = Path(path)
    with atomic_write(target, "wb") as handle:
        handle.write(proto.SerializeToString())
    return target


def _emit_model(writer: OnnxWriter, model: Module, inputs: list[Tensor]) -> list[Tensor]:
    from convlens.io.onnx import exporters  # noqa: F401  (registers the layer exporters)

    if _is_graph(model):
        outputs = exporters.graph.emit_graph(writer, model, inputs)
        return [_rename_output(writer, t, name) for t, name in zip(outputs, model.output_names)]
    return [_rename_output(writer, emit(writer, model, inputs, ""), "output")]


def _is_graph(model: Module) -> bool:
    return hasattr(model, "nodes") and hasattr(model, "output_names")


def _rename_output(writer: OnnxWriter, tensor: Tensor, name: str) -> Tensor:
    out = writer.fresh(name)
    writer.nodes.append(helper.make_node("Identity", [tensor.name], [out], name=writer.fresh("output")))
    return Tensor(out, tensor.example)


def _input_specs(model: Module, input_shape: Sequence[int] | None,
                 input_dtype: Any) -> list[tuple[str, tuple[int, ...], Any]]:
    if input_shape is None and _is_graph(model):
        dtypes = getattr(model, "_input_dtypes", None) or [np.float32] * len(model.input_names)
        return [(name, tuple(shape), np.dtype(input_dtype or dtype))
                for name, shape, dtype in zip(model.input_names, model.input_shapes, dtypes)]
    if input_shape is None:  # a model read from a .convlens file or run folder knows it
        input_shape = getattr(getattr(model, "info", None), "input_shape", None)
    if input_shape is None:
        raise ValueError(
            f"export_onnx: give input_shape, the shape of one example without the batch axis "
            f"(e.g. (1, 28, 28)); a {type(model).__name__} does not record it")
    first = next((m for m in model.modules() if not list(m.children())), None)
    from convlens.layers.embedding import Embedding

    dtype = input_dtype or (np.int64 if isinstance(first, Embedding) else np.float32)
    try:  # operator.index: a size of 28.5 or "28" is refused, not truncated
        sizes = tuple(operator.index(n) for n in input_shape)
    except TypeError:
        sizes = ()
    if not sizes or any(n < 1 for n in sizes):
        raise ValueError(f"export_onnx: expected input_shape a tuple of positive integer sizes without "
                         f"the batch axis (e.g. (1, 28, 28)), received {input_shape!r}")
    return [("input", sizes, np.dtype(dtype))]


def _value_info(name: str, example: np.ndarray, batched: bool = True) -> onnx.ValueInfoProto:
    elem = helper.np_dtype_to_tensor_dtype(example.dtype)
    shape = ["N", *example.shape[1:]] if batched else list(example.shape)
    return helper.make_tensor_value_info(name, elem, shape)
