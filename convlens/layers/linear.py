"""Fully connected layer (``Linear``, also called ``Dense`` in the seeds and Keras)."""

from __future__ import annotations

from typing import Any

import numpy as np

from convlens.functional.linear import linear_backward, linear_forward
from convlens.layers._init_helpers import InitSpec, init_config, initialize
from convlens.layers.module import Module
from convlens.parameter import Parameter


class Linear(Module):
    """``y = x Wᵀ + b``: every input connected to every output.

    Shape: input (N, *, in_features), output (N, *, out_features); a single feature vector
    (in_features,) gives (out_features,), as in PyTorch.
    Parameters: weight (out_features, in_features) — PyTorch's layout, so weights move
    between the two unchanged — and bias (out_features,).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype: Any = np.float32, weight_init: InitSpec = None,
                 bias_init: InitSpec = None) -> None:
        super().__init__()
        for arg, value in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"Linear: {arg} must be a positive int, received {value!r}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        self.bias = Parameter(np.empty(out_features, dtype=dtype)) if bias else None
        self.weight_init, self.bias_init = weight_init, bias_init
        self.reset_parameters()
        self._cache = None

    @property
    def input_layout(self) -> str:  # type: ignore[override]
        return f"(N, {self.in_features})"

    def reset_parameters(self) -> None:
        initialize(self.weight, self.bias, self.weight_init, self.bias_init)

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            hint = ""
            if x.ndim > 2 and int(np.prod(x.shape[1:])) == self.in_features:
                hint = " (put a Flatten() before it)"
            raise ValueError(
                f"{type(self).__name__} expects input (N, {self.in_features}) or one feature vector "
                f"({self.in_features},), "
                f"received shape {x.shape}{hint}"
            )
        y, self._cache = linear_forward(
            x, self.weight.data, None if self.bias is None else self.bias.data)
        return y

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        dx, dweight, dbias = linear_backward(dy, self._cached(), need_input_grad)
        self.weight.accumulate_grad(dweight)
        if self.bias is not None and dbias is not None:
            self.bias.accumulate_grad(dbias)
        return dx

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"in_features": self.in_features,
                                  "out_features": self.out_features}
        if self.bias is None:
            config["bias"] = False
        config.update(init_config(self))
        return config


Dense = Linear
