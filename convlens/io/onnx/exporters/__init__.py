"""One exporter per convlens layer type, by family; importing this package registers them all
with :func:`convlens.io.onnx.exporter.exporter`."""

from convlens.io.onnx.exporters import activation, containers, conv_pool, graph, merge, normalization, shape

__all__ = ["activation", "containers", "conv_pool", "graph", "merge", "normalization", "shape"]
