"""Read an ONNX file into plain Python and NumPy: tensors, attributes, the opset.

ONNX files are protocol buffers: reading one runs no code (there is nothing like pickle in the
format). Weights stored outside the file (``external_data``) are read only from files next to
the model, as ``onnx`` itself enforces. A file that is not a valid ONNX model gives one
:class:`~convlens.io.formats.FormatError` naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from google.protobuf import json_format, text_format
from google.protobuf.message import DecodeError
from onnx import helper, numpy_helper

from convlens.io.formats import FormatError

#: The oldest opset the importer reads (the newest is what the installed ``onnx`` knows).
MIN_OPSET = 9


def read_model(source: str | os.PathLike[str] | onnx.ModelProto) -> onnx.ModelProto:
    """Parse and check an ONNX file (or pass a ``ModelProto`` through the same checks)."""
    if isinstance(source, onnx.ModelProto):
        model, where = source, "the ONNX model"
    else:
        path = Path(source)
        where = repr(str(path))
        try:
            model = onnx.load(str(path))
        except FileNotFoundError:
            raise FileNotFoundError(f"no such file: {where}") from None
        except (DecodeError, json_format.ParseError, text_format.ParseError, RuntimeError, ValueError,
                OSError) as error:  # ParseError: onnx reads .json/.txt names as text formats
            raise FormatError(f"{where} is not a readable ONNX model: {error}") from None
    if not model.HasField("graph") or not model.graph.node:
        raise FormatError(f"{where} holds no ONNX graph (expected a ModelProto with nodes)")
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as error:
        first = str(error).strip().splitlines()[0]
        raise FormatError(f"{where} is not a valid ONNX model: {first}") from None
    opset = opset_version(model)
    newest = onnx.defs.onnx_opset_version()
    if opset > newest:
        raise FormatError(f"{where} uses opset {opset}; convlens reads opsets {MIN_OPSET} to {newest} "
                          f"(the newest the installed onnx {onnx.__version__} knows)")
    if opset < MIN_OPSET:
        model = upgrade(model, where, opset)
    return model


def upgrade(model: onnx.ModelProto, where: str, opset: int) -> onnx.ModelProto:
    """An older file (opsets 1-8, as early PyTorch and Caffe2 exporters wrote) is rewritten to
    opset 9 with ONNX's own version converter, which knows how each operator changed."""
    from onnx import version_converter

    try:
        upgraded = version_converter.convert_version(model, MIN_OPSET)
        # what the converter cannot rewrite without shapes (opset-6 PRelu's per-channel slope
        # of shape (C,)) the converters read with the file's own opset: source_opset()
        upgraded.metadata_props.add(key=SOURCE_OPSET, value=str(opset))
        return upgraded
    except Exception as error:  # the converter's own message says which operator
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise FormatError(f"{where} uses opset {opset}; convlens reads opsets {MIN_OPSET} and newer, and "
                          f"ONNX's version converter could not upgrade it: {first}") from None


SOURCE_OPSET = "convlens.source_opset"


def source_opset(model: onnx.ModelProto) -> int:
    """The opset the file was written with (before :func:`upgrade`)."""
    for entry in model.metadata_props:
        if entry.key == SOURCE_OPSET:
            return int(entry.value)
    return opset_version(model)


def opset_version(model: onnx.ModelProto) -> int:
    """The version of the default (``ai.onnx``) operator set the model imports."""
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return int(entry.version)
    return 1


def tensor_to_array(tensor: onnx.TensorProto) -> np.ndarray:
    """An initializer or attribute tensor as a NumPy array (a copy the model can own)."""
    return np.array(numpy_helper.to_array(tensor), copy=True)


def initializers(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    return {t.name: tensor_to_array(t) for t in graph.initializer}


def attributes(node: onnx.NodeProto) -> dict[str, Any]:
    """A node's attributes as Python values: ints, floats, strings, lists, arrays."""
    result: dict[str, Any] = {}
    for attribute in node.attribute:
        value = helper.get_attribute_value(attribute)
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        elif isinstance(value, onnx.TensorProto):
            value = tensor_to_array(value)
        elif isinstance(value, float):
            value = _decimal(value)
        elif isinstance(value, list) and value and isinstance(value[0], bytes):
            value = [v.decode("utf-8") for v in value]
        elif isinstance(value, list) and value and isinstance(value[0], float):
            value = [_decimal(v) for v in value]
        result[attribute.name] = value
    return result


def _decimal(value: float) -> float:
    """A float attribute is stored in float32: 1e-5 comes back as 9.99999974e-06. The shortest
    decimal that rounds to the same float32 is the number the exporter was given."""
    return float(str(np.float32(value)))


def value_shape(info: onnx.ValueInfoProto) -> list[int | str | None]:
    """The declared shape of a graph input: ints, names of symbolic sizes, or None (unknown)."""
    tensor_type = info.type.tensor_type
    if not tensor_type.HasField("shape"):
        return []
    dims: list[int | str | None] = []
    for dim in tensor_type.shape.dim:
        if dim.HasField("dim_value"):
            dims.append(int(dim.dim_value))
        elif dim.HasField("dim_param"):
            dims.append(dim.dim_param)
        else:
            dims.append(None)
    return dims


def value_dtype(info: onnx.ValueInfoProto) -> np.dtype:
    return np.dtype(helper.tensor_dtype_to_np_dtype(info.type.tensor_type.elem_type))
