"""convlens as an ONNX backend (``onnx.backend.base.Backend``), for ONNX's conformance suite.

    rep = ConvlensBackend.prepare(model)     # an onnx.ModelProto
    outputs = rep.run([x, ...])

``prepare`` checks that every operator is supported (one error naming all that are not);
``run`` builds the ``cl.Graph`` and runs it on the inputs. The suite's test models often give
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
from convlens.io.onnx.converters.registry import NeedsConstant
from convlens.io.onnx.importer import Importer, from_onnx
from convlens.io.onnx.reader import read_model


class ConvlensRep(BackendRep):
    """A prepared model: imports itself for each set of inputs (binding constant inputs)."""

    def __init__(self, model: onnx.ModelProto) -> None:
        self.model = model
        given = {t.name for t in model.graph.initializer}
        self.input_names = [i.name for i in model.graph.input if i.name not in given]
        self.graph: Any = None
        self.bound: dict[str, np.ndarray] = {}

    def import_for(self, feeds: dict[str, np.ndarray]) -> Any:
        bound: dict[str, np.ndarray] = {}
        while True:
            shapes = {name: value.shape[1:] for name, value in feeds.items() if name not in bound}
            try:
                graph = from_onnx(self.model, input_shapes=shapes, constants=bound)
            except NeedsConstant as need:
                if need.tensor in bound:
                    raise
                bound[need.tensor] = feeds[need.tensor]
                continue
            self.graph, self.bound = graph, bound
            return graph

    def run(self, inputs: Any, **kwargs: Any) -> tuple[np.ndarray, ...]:
        if isinstance(inputs, dict):
            feeds = {name: np.asarray(inputs[name]) for name in self.input_names}
        else:
            values = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
            feeds = {name: np.asarray(v) for name, v in zip(self.input_names, values)}
        graph = self.import_for(feeds)
        with no_grad():
            outputs = graph(*(feeds[name] for name in self.input_names if name not in self.bound))
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
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
