"""Piecewise and parametric activation layers: Hardtanh (ONNX ``Clip``), ReLU6, HardSigmoid,
HardSwish, SELU, Softplus, Softsign and PReLU (the one with a learned slope).

Shape: any -> the same shape. Formulas and derivatives are in
:mod:`convlens.functional.more_activation`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from convlens.functional import more_activation as F
from convlens.layers.activation import _Activation
from convlens.layers.module import Module
from convlens.parameter import Parameter
from convlens.validate import finite_number


class Hardtanh(_Activation):
    """clip(x, min_val, max_val); ONNX's ``Clip`` (either bound may be ±inf).

    >>> import numpy as np, convlens as cl
    >>> cl.Hardtanh(0.0, 6.0)(np.array([-1.0, 3.0, 9.0]))
    array([0., 3., 6.])
    """

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0) -> None:
        super().__init__()
        who = type(self).__name__
        min_val = finite_number(who, "min_val", min_val, allow_infinite=True)
        max_val = finite_number(who, "max_val", max_val, allow_infinite=True)
        if not min_val <= max_val:
            raise ValueError(f"{type(self).__name__}: min_val must be <= max_val, received "
                             f"min_val={min_val!r}, max_val={max_val!r}")
        self.min_val, self.max_val = float(min_val), float(max_val)

    def _forward(self, x):
        return F.hardtanh_forward(x, self.min_val, self.max_val)

    def _backward(self, dy, cache):
        return F.hardtanh_backward(dy, cache)

    def get_config(self) -> dict[str, Any]:
        return {"min_val": self.min_val, "max_val": self.max_val}


class ReLU6(Hardtanh):
    """min(max(0, x), 6) (MobileNet)."""

    def __init__(self) -> None:
        super().__init__(0.0, 6.0)

    def get_config(self) -> dict[str, Any]:
        return {}


class HardSigmoid(_Activation):
    """clip(α·x + β, 0, 1); PyTorch's ``Hardsigmoid`` is α = 1/6, β = ½ (the default), ONNX's
    ``HardSigmoid`` defaults to α = 0.2."""

    def __init__(self, alpha: float = 1 / 6, beta: float = 0.5) -> None:
        super().__init__()
        who = type(self).__name__
        self.alpha, self.beta = finite_number(who, "alpha", alpha), finite_number(who, "beta", beta)

    def _forward(self, x):
        return F.hardsigmoid_forward(x, self.alpha, self.beta)

    def _backward(self, dy, cache):
        return F.hardsigmoid_backward(dy, cache)

    def get_config(self) -> dict[str, Any]:
        if math.isclose(self.alpha, 1 / 6) and self.beta == 0.5:
            return {}
        return {"alpha": self.alpha, "beta": self.beta}


class HardSwish(_Activation):
    """x·clip(x/6 + ½, 0, 1) (MobileNetV3)."""

    def _forward(self, x):
        return F.hardswish_forward(x)

    def _backward(self, dy, cache):
        return F.hardswish_backward(dy, cache)


class SELU(_Activation):
    """scale·x for x > 0, scale·α(eˣ − 1) otherwise; the defaults are the self-normalizing
    constants α ≈ 1.6733, scale ≈ 1.0507 (PyTorch's fixed values; ONNX calls scale gamma)."""

    def __init__(self, alpha: float = F.SELU_ALPHA, scale: float = F.SELU_SCALE) -> None:
        super().__init__()
        who = type(self).__name__
        self.alpha, self.scale = finite_number(who, "alpha", alpha), finite_number(who, "scale", scale)

    def _forward(self, x):
        return F.selu_forward(x, self.alpha, self.scale)

    def _backward(self, dy, cache):
        return F.selu_backward(dy, cache)

    def get_config(self) -> dict[str, Any]:
        if (self.alpha, self.scale) == (F.SELU_ALPHA, F.SELU_SCALE):
            return {}
        return {"alpha": self.alpha, "scale": self.scale}


class Softplus(_Activation):
    """log(1 + e^(β·x))/β, linear where β·x > ``threshold`` (PyTorch's ``Softplus``; ONNX's
    and Keras's are β = 1)."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        who = type(self).__name__
        self.beta = finite_number(who, "beta", beta)
        self.threshold = finite_number(who, "threshold", threshold)
        if self.beta <= 0:
            raise ValueError(f"{who}: beta must be > 0, received {beta!r}")

    def _forward(self, x):
        return F.softplus_forward(x, self.beta, self.threshold)

    def _backward(self, dy, cache):
        return F.softplus_backward(dy, cache)

    def get_config(self) -> dict[str, Any]:
        if (self.beta, self.threshold) == (1.0, 20.0):
            return {}
        return {"beta": self.beta, "threshold": self.threshold}


class Softsign(_Activation):
    """x/(1 + |x|)."""

    def _forward(self, x):
        return F.softsign_forward(x)

    def _backward(self, dy, cache):
        return F.softsign_backward(dy, cache)


class PReLU(Module):
    """x for x > 0, a·x otherwise, with the slope ``a`` learned (He et al. 2015).

    Args:
        num_parameters: 1 (one slope shared by all channels) or C (one per channel of axis 1).
        init: the initial slope.

    Shape: (N, C, *) -> the same. Parameter: ``weight`` (num_parameters,), PyTorch's name.
    """

    input_layout = "(N, C, *)"

    def __init__(self, num_parameters: int = 1, init: float = 0.25, dtype: Any = np.float32) -> None:
        super().__init__()
        if isinstance(num_parameters, bool) or not isinstance(num_parameters, (int, np.integer)) \
                or num_parameters < 1:
            raise ValueError(f"PReLU: num_parameters must be a positive int, received {num_parameters!r}")
        # not self.num_parameters (torch's name): that would hide Module.num_parameters()
        self.slopes = int(num_parameters)
        self.init = finite_number(type(self).__name__, "init", init)
        self.weight = Parameter(np.full(self.slopes, init, dtype=dtype))
        self._cache = None

    def reset_parameters(self) -> None:
        self.weight.data[...] = self.init

    def forward(self, x: np.ndarray) -> np.ndarray:
        if self.slopes > 1 and (x.ndim < 2 or x.shape[1] != self.slopes):
            raise ValueError(f"PReLU with {self.slopes} slopes expects input (N, "
                             f"{self.slopes}, …), received shape {x.shape}")
        y, self._cache = F.prelu_forward(x, self.weight.data)
        return y

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        dx, dweight = F.prelu_backward(dy, self._cached(), need_input_grad)
        self.weight.accumulate_grad(dweight)
        return dx

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"num_parameters": self.slopes}
        if self.init != 0.25:
            config["init"] = self.init
        return config
