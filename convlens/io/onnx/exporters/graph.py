"""Graph models to ONNX: each node in topological order, tensors named as in the graph."""

from __future__ import annotations

from convlens.io.onnx.exporter import OnnxWriter, Tensor, emit


def emit_graph(w: OnnxWriter, graph, inputs: list[Tensor]) -> list[Tensor]:
    """The whole-model case: the graph's own input and output names become the file's."""
    tensors = {name: t for name, t in zip(graph.input_names, inputs)}
    for node in graph.nodes:
        out = emit(w, node.layer, [tensors[i] for i in node.inputs], node.name)
        tensors.update(zip(node.outputs, out) if node.returns_tuple else [(node.output, out)])
    return [tensors[name] for name in graph.output_names]
