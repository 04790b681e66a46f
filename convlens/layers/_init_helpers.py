"""Shared initialization of a weight and an optional bias (Conv and Linear)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from convlens import init
from convlens.parameter import Parameter

InitSpec = str | Callable[..., Any] | None


def initialize(weight: Parameter, bias: Parameter | None, weight_init: InitSpec,
               bias_init: InitSpec) -> None:
    """Fill ``weight`` and ``bias``: PyTorch's defaults unless an initializer is named.

    ``weight_init`` / ``bias_init`` take a name from ``convlens.init.INITIALIZERS``
    (``'he_normal'``, ``'xavier_uniform'``, ``'zeros'``, …) or a callable ``f(param)``.
    """
    fan_in, _ = init.calculate_fan_in_and_fan_out(weight.shape)
    if weight_init is None:
        init.default_weight_init_(weight)
    else:
        init.get_initializer(weight_init)(weight)
    if bias is not None:
        if bias_init is None:
            init.default_bias_init_(bias, fan_in)
        else:
            init.get_initializer(bias_init)(bias)


def init_config(layer: Any) -> dict[str, Any]:
    """The ``weight_init`` / ``bias_init`` (named, see ``init.initializer_name``) and a
    ``dtype`` other than float32 of a Conv or Linear layer, for its ``get_config``."""
    import numpy as np

    config: dict[str, Any] = {}
    for key in ("weight_init", "bias_init"):
        name = init.initializer_name(getattr(layer, key))
        if name is not None:
            config[key] = name
    if layer.weight.data.dtype != np.float32:
        config["dtype"] = str(layer.weight.data.dtype)
    return config
