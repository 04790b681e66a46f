"""convlens as an ONNX backend (``onnx.backend.base.Backend``), for ONNX's conformance suite.

    rep = ConvlensBackend.prepare(model)     # an onnx.ModelProto
    outputs = rep.run([x, ...])

``prepare`` checks that every operator is supported (one error naming all that are not);
``run`` builds the ``cl.Graph`` and runs it on the inputs. convlens models have a batch axis;
the suite's test models often have none (a Transpose that moves axis 0, a Concat along it).
When the model cannot be read with axis 0 as the batch, the backend reads it as one example
(``from_onnx(..., batch_axis=False)``): every input gets a batch axis of one, and the outputs
lose it again. The suite's test models often give
weights, shapes and axes as graph *inputs* rather than initializers (``Conv(x, W)`` with ``W``
an input). convlens layers hold their weights, so the backend binds such an input to the value
it is given for the run — exactly the inputs a converter asks to be constant
(:class:`~convlens.io.onnx.converters.registry.NeedsConstant`) — and imports the model with
them; every other input stays an input of the graph, with its batch axis.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx.backend.base import Backend, BackendRep

from convlens.functional.engine import no_grad
from convlens.io.onnx.converters.registry import NeedsConstant, UnsupportedOnnx
from convlens.io.onnx.importer import Importer, OnnxImportError, from_onnx
from convlens.io.onnx.reader import read_model


class ConvlensRep(BackendRep):
    """A prepared model: imports itself for each set of inputs (binding constant inputs)."""

    def __init__(self, model: onnx.ModelProto) -> None:
        self.model = model
        given = {t.name for t in model.graph.initializer}
        self.input_names = [i.name for i in model.graph.input if i.name not in given]
        self.graph: Any = None
        self.bound: dict[str, np.ndarray] = {}
        self.batch_axis = True

    def import_for(self, feeds: dict[str, np.ndarray]) -> Any:
        try:
            return self._import(feeds, batch_axis=True)
        except (UnsupportedOnnx, OnnxImportError, ValueError) as batched_error:
            try:
                return self._import(feeds, batch_axis=False)
            except (UnsupportedOnnx, OnnxImportError, ValueError):
                raise batched_error from None

    def _import(self, feeds: dict[str, np.ndarray], batch_axis: bool) -> Any:
        bound: dict[str, np.ndarray] = {}
        skip = 1 if batch_axis else 0
        while True:
            shapes = {name: value.shape[skip:] for name, value in feeds.items() if name not in bound}
            try:
                graph = from_onnx(self.model, input_shapes=shapes, constants=bound, batch_axis=batch_axis)
            except NeedsConstant as need:
                if need.tensor in bound:
                    raise
                bound[need.tensor] = feeds[need.tensor]
                continue
            self.graph, self.bound, self.batch_axis = graph, bound, batch_axis
            return graph

    def run(self, inputs: Any, **kwargs: Any) -> tuple[np.ndarray, ...]:
        if isinstance(inputs, dict):
            feeds = {name: np.asarray(inputs[name]) for name in self.input_names}
        else:
            values = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
            feeds = {name: np.asarray(v) for name, v in zip(self.input_names, values)}
        graph = self.import_for(feeds)
        data = [feeds[name] for name in self.input_names if name not in self.bound]
        if not self.batch_axis:
            data = [x[np.newaxis] for x in data]
        with no_grad():
            outputs = graph(*data)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        if not self.batch_axis:  # drop the added batch axis (a constant output never had one)
            outputs = tuple(y if y.shape == tuple(shape) else y[0]
                            for y, shape in zip(outputs, graph.output_shapes))
        return tuple(np.asarray(y) for y in outputs)


class ConvlensBackend(Backend):
    """Runs ONNX models with convlens layers (CPU, NumPy)."""

    @classmethod
    def prepare(cls, model: onnx.ModelProto, device: str = "CPU", **kwargs: Any) -> ConvlensRep:
        super().prepare(model, device, **kwargs)
        checked = read_model(model)
        Importer(checked, "the ONNX model", {}, {})._check_supported()
        return ConvlensRep(checked)

    @classmethod
    def run_model(cls, model: onnx.ModelProto, inputs: Any, device: str = "CPU",
                  **kwargs: Any) -> tuple[np.ndarray, ...]:
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return device == "CPU"


prepare = ConvlensBackend.prepare
run_model = ConvlensBackend.run_model
supports_device = ConvlensBackend.supports_device
