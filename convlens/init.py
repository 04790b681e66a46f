"""Weight initializers, with PyTorch's fan and gain conventions.

For a weight of shape (out, in, *kernel): ``fan_in = in · ∏kernel``, ``fan_out = out · ∏kernel``
(a Linear weight (out, in) has no kernel axes).

    normal(mean, std)         N(mean, std²)            the seeds' "Gaussian"
    uniform(a, b)             U(a, b)
    xavier_uniform (Glorot)   U(−b, b),  b = gain·√(6 / (fan_in + fan_out))
    xavier_normal             N(0, σ²),  σ = gain·√(2 / (fan_in + fan_out))
    kaiming_uniform (He)      U(−b, b),  b = gain·√(3 / fan)
    kaiming_normal            N(0, σ²),  σ = gain / √fan
    gain: linear/sigmoid 1, tanh 5/3, relu √2, leaky_relu √(2/(1 + a²)), selu 3/4

Each function fills ``param`` (a ``Parameter`` or an array) in place and returns it.
Random numbers come from ``convlens.manual_seed``'s generator unless ``rng`` is given.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from convlens.parameter import Parameter
from convlens.random import get_rng


def _array(param: Parameter | np.ndarray) -> np.ndarray:
    return param.data if isinstance(param, Parameter) else param


def calculate_fan_in_and_fan_out(shape: Sequence[int]) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight shape, as ``torch.nn.init._calculate_fan_in_and_fan_out``."""
    if len(shape) < 2:
        raise ValueError(
            f"fan in and fan out need a weight with at least 2 axes, received shape {tuple(shape)}"
        )
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """Recommended gain for a nonlinearity (PyTorch's table)."""
    linear = ("linear", "conv1d", "conv2d", "conv3d", "sigmoid", "identity")
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(
        f"unknown nonlinearity {nonlinearity!r}; expected one of "
        f"{[*linear, 'tanh', 'relu', 'leaky_relu', 'selu']}"
    )


def _fan(shape: Sequence[int], mode: str) -> int:
    fan_in, fan_out = calculate_fan_in_and_fan_out(shape)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', received {mode!r}")
    return fan_in if mode == "fan_in" else fan_out


def _fill(param: Parameter | np.ndarray, values: np.ndarray) -> Parameter | np.ndarray:
    arr = _array(param)
    arr[...] = values.astype(arr.dtype, copy=False)
    return param


def zeros_(param: Parameter | np.ndarray) -> Parameter | np.ndarray:
    _array(param)[...] = 0
    return param


def ones_(param: Parameter | np.ndarray) -> Parameter | np.ndarray:
    _array(param)[...] = 1
    return param


def constant_(param: Parameter | np.ndarray, value: float) -> Parameter | np.ndarray:
    _array(param)[...] = value
    return param


def normal_(param, mean: float = 0.0, std: float = 1.0, rng: np.random.Generator | None = None):
    arr = _array(param)
    return _fill(param, (rng or get_rng()).normal(mean, std, arr.shape))


def uniform_(param, a: float = 0.0, b: float = 1.0, rng: np.random.Generator | None = None):
    arr = _array(param)
    return _fill(param, (rng or get_rng()).uniform(a, b, arr.shape))


def xavier_uniform_(param, gain: float = 1.0, rng: np.random.Generator | None = None):
    fan_in, fan_out = calculate_fan_in_and_fan_out(_array(param).shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(param, -bound, bound, rng)


def xavier_normal_(param, gain: float = 1.0, rng: np.random.Generator | None = None):
    fan_in, fan_out = calculate_fan_in_and_fan_out(_array(param).shape)
    return normal_(param, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), rng)


def kaiming_uniform_(param, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", rng: np.random.Generator | None = None):
    gain = calculate_gain(nonlinearity, a)
    bound = gain * math.sqrt(3.0 / _fan(_array(param).shape, mode))
    return uniform_(param, -bound, bound, rng)


def kaiming_normal_(param, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", rng: np.random.Generator | None = None):
    gain = calculate_gain(nonlinearity, a)
    return normal_(param, 0.0, gain / math.sqrt(_fan(_array(param).shape, mode)), rng)


def default_weight_init_(weight: Parameter | np.ndarray) -> Parameter | np.ndarray:
    """PyTorch's default for Linear and Conv: kaiming_uniform with a = √5, i.e. U(±1/√fan_in)."""
    return kaiming_uniform_(weight, a=math.sqrt(5))


def default_bias_init_(bias: Parameter | np.ndarray, fan_in: int) -> Parameter | np.ndarray:
    """PyTorch's default bias: U(−1/√fan_in, 1/√fan_in)."""
    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    return uniform_(bias, -bound, bound)


INITIALIZERS: dict[str, Callable[..., Any]] = {
    "zeros": zeros_,
    "ones": ones_,
    "normal": normal_,
    "gaussian": normal_,
    "uniform": uniform_,
    "xavier_uniform": xavier_uniform_,
    "glorot_uniform": xavier_uniform_,
    "xavier_normal": xavier_normal_,
    "glorot_normal": xavier_normal_,
    "kaiming_uniform": kaiming_uniform_,
    "he_uniform": kaiming_uniform_,
    "kaiming_normal": kaiming_normal_,
    "he_normal": kaiming_normal_,
}


def get_initializer(spec: str | Callable[..., Any]) -> Callable[..., Any]:
    """An initializer by name (``'he_normal'``, ``'xavier_uniform'``, …) or the callable itself."""
    if callable(spec):
        return spec
    if isinstance(spec, str) and ":" in spec:
        return _imported_function(spec)
    try:
        return INITIALIZERS[spec]
    except KeyError:
        raise ValueError(
            f"unknown initializer {spec!r}; expected one of {sorted(INITIALIZERS)} or a callable"
        ) from None


def initializer_name(spec: str | Callable[..., Any] | None) -> str | None:
    """How a layer's config names its initializer: the name itself, the registry name of one
    of this module's functions, ``"module:qualname"`` for a function defined at the top level of
    a module, ``None`` for one that cannot be named (a lambda, a closure, a partial)."""
    if spec is None or isinstance(spec, str):
        return spec
    for name, function in INITIALIZERS.items():
        if function is spec:
            return name
    module, qualname = getattr(spec, "__module__", None), getattr(spec, "__qualname__", "")
    if module and qualname and "<" not in qualname:
        return f"{module}:{qualname}"
    return None


def _imported_function(name: str) -> Callable[..., Any]:
    """``"module:qualname"`` of a module already imported (a saved model never imports code)."""
    import sys

    module_name, _, qualname = name.partition(":")
    target: Any = sys.modules.get(module_name)
    if target is None:
        raise ValueError(f"initializer {name!r} lives in the module {module_name!r}, which is not "
                         f"imported; import it before building or loading the model")
    for part in qualname.split("."):
        target = getattr(target, part, None)
    if not callable(target):
        raise ValueError(f"initializer {name!r}: {module_name} has no function {qualname!r}")
    return target
