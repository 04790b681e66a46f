"""``Constant``: a graph node without inputs that outputs a fixed (or learned) array.

Importers use it for weights that enter a graph through ``Add``, ``Multiply`` or ``MatMul``
(an ONNX ``Add`` with an initializer, a Keras scale). A constant has no batch axis: the merge
layers broadcast it against batched tensors.

    x = cl.Input((16, 8, 8))
    bias = cl.Constant(np.zeros((16, 1, 1)), trainable=True)(name="bias")  # no inputs
    y = cl.Add()(x, bias)                    # (N, 16, 8, 8) + (16, 1, 1)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convlens.layers.module import Module
from convlens.parameter import Parameter

#: constants up to this many values are written into the spec (so a JSON definition can give
#: them); larger ones travel with the weights, as a buffer or parameter of the state_dict.
MAX_INLINE_VALUES = 64


class Constant(Module):
    """Outputs ``value`` (shape unchanged, no batch axis); ``forward()`` takes no input.

    ``trainable=True`` holds it as a ``Parameter`` (``value``), which backward accumulates the
    incoming gradient into; otherwise it is a buffer saved with the model and not learned.
    Called with no arguments on the way to a graph (``cl.Constant(v)()``) it adds a node.
    """

    num_inputs = 0

    def __init__(self, value: Any, trainable: bool = False) -> None:
        super().__init__()
        array = np.array(value)
        if not np.issubdtype(array.dtype, np.number) and array.dtype != np.bool_:
            raise TypeError(f"Constant expects a numeric array, received dtype {array.dtype}")
        if trainable and not np.issubdtype(array.dtype, np.floating):
            array = array.astype(np.float32)  # a learned value must be floating point
        self.trainable = bool(trainable)
        if self.trainable:
            self.value: Any = Parameter(array)
        else:
            self.register_buffer("value", array)
        self._cache: bool | None = None

    @property
    def array(self) -> np.ndarray:
        return self.value.data if self.trainable else self.value

    def forward(self) -> np.ndarray:
        self._cache = True
        return self.array

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> tuple[()]:
        self._cached()
        if self.trainable and self.value.requires_grad:
            self.value.accumulate_grad(np.asarray(dy).reshape(self.value.data.shape))
        return ()

    def get_config(self) -> dict[str, Any]:
        array = self.array
        config: dict[str, Any] = {"trainable": self.trainable, "dtype": str(array.dtype)}
        if array.size <= MAX_INLINE_VALUES:
            config["value"] = array.tolist()
        else:
            config["shape"] = list(array.shape)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], where: str = "model") -> Constant:
        config = dict(config)
        dtype = np.dtype(config.pop("dtype", "float32"))
        if "value" in config:
            value = np.array(config.pop("value"), dtype=dtype)
        elif "shape" in config:
            value = np.zeros(tuple(int(n) for n in config.pop("shape")), dtype=dtype)
        else:
            raise ValueError("a Constant needs 'value' (a nested list) or 'shape' (its values "
                             "then come with the weights)")
        return cls(value, **config)

    def extra_repr(self) -> str:
        return f"shape={tuple(self.array.shape)}, trainable={self.trainable}"
