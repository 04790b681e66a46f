"""ONNX in and out: ``cl.from_onnx(path)`` builds a graph model from an ONNX file,
``cl.export_onnx(model, path)`` writes one (needs ``pip install "convlens[onnx]"``).

    reader.py      ModelProto -> arrays, attributes, opset (never unpickles)
    converters/    one small converter per ONNX operator family, registered by decorator
    importer.py    walks the ONNX graph, folds static-shape arithmetic, calls the converters
    exporter.py    the export walker; exporters/ holds one exporter per convlens layer type
    backend.py     an ``onnx.backend.base.Backend`` for ONNX's conformance suite
"""

from __future__ import annotations

from typing import Any


def _function(module: str, name: str, what: str) -> Any:
    """``convlens.io.onnx.<module>.<name>``, or a message with the install command when the
    optional ``onnx`` package is missing."""
    from convlens.io.formats import _resolve

    return _resolve(f"convlens.io.onnx.{module}:{name}", ("onnx",), "onnx", what)


def from_onnx(path: Any, **options: Any) -> Any:
    """Build a ``cl.Graph`` from an ONNX file or ``onnx.ModelProto`` (see importer.py)."""
    return _function("importer", "from_onnx", "reading an ONNX file")(path, **options)


def export_onnx(model: Any, path: Any, **options: Any) -> Any:
    """Write ``model`` as ONNX with a dynamic batch axis (see exporter.py)."""
    return _function("exporter", "export_onnx", "writing an ONNX file")(model, path, **options)
