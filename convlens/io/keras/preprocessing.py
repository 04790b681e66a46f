"""Keras preprocessing, noise and augmentation layers -> convlens.

``Rescaling`` and ``Normalization`` become a fixed per-channel ``cl.Rescale``. The layers that
only act while Keras trains (noise, random augmentation: ``RandomFlip``, ``RandomRotation``, …
in the data-augmentation blocks of course notebooks) compute the identity at inference, which
is what an imported model reproduces; they become nothing, so training the imported model in
convlens runs without them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import convlens.layers as L
from convlens.io.keras.layers import Converted, KerasLayerError, Tensor, converts

KERAS_EPSILON = 1e-7
"""``keras.backend.epsilon()``: Normalization divides by max(√variance, ε)."""

INFERENCE_IDENTITY = ("GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization",
                      "RandomFlip", "RandomRotation", "RandomZoom", "RandomContrast", "RandomTranslation",
                      "RandomBrightness")


def _channel_values(value: Any, source: Tensor, name: str, what: str) -> np.ndarray:
    """A scalar, or one value per channel (Keras's last axis), as a scalar or a (C,) array."""
    array = np.asarray(value, dtype=np.float64)
    if array.size == 1:
        return array.reshape(())
    array = array.reshape(-1)
    channels = source.shape[0]
    if array.size != channels or (len(source.shape) == 1 and source.flattened_from is not None):
        raise KerasLayerError(f"layer {name!r}: {what} of {array.size} values does not fit the "
                              f"input's channels ({channels}, shape {source.shape})")
    return array


@converts("Rescaling")
def _rescaling(config: dict[str, Any], weights: list[np.ndarray], inputs: list[Tensor]) -> Converted:
    name = config.get("name", "rescaling")
    scale = _channel_values(config.get("scale", 1.0), inputs[0], name, "scale")
    offset = _channel_values(config.get("offset", 0.0), inputs[0], name, "offset")
    return Converted([L.Rescale(scale, offset)], keeps_flatten_order=scale.ndim == 0 and offset.ndim == 0)


@converts("Normalization")
def _normalization(config: dict[str, Any], weights: list[np.ndarray], inputs: list[Tensor]) -> Converted:
    """y = (x − mean)/max(√var, ε), or with ``invert`` x·max(√var, ε) + mean; mean and var
    from the config (given to the constructor) or the weights (``adapt``: mean, var, count)."""
    name = config.get("name", "normalization")
    axis = config.get("axis", -1)
    axis = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    if axis not in ([-1], [len(inputs[0].shape)]):
        raise KerasLayerError(f"layer {name!r}: Normalization over axis {config.get('axis')} is not "
                              "supported; expected the last axis (-1, the default)")
    if config.get("mean") is not None:
        mean, variance = config["mean"], config["variance"]
    elif len(weights) >= 2:
        mean, variance = weights[0], weights[1]
    else:
        raise KerasLayerError(f"layer {name!r}: the file holds no mean and variance (adapt the layer "
                              "or give them before saving)")
    mean = _channel_values(mean, inputs[0], name, "mean")
    std = np.maximum(np.sqrt(_channel_values(variance, inputs[0], name, "variance")), KERAS_EPSILON)
    if config.get("invert"):
        return Converted([L.Rescale(std, mean)])
    return Converted([L.Rescale(1.0 / std, -mean / std)])


@converts(*INFERENCE_IDENTITY)
def _inference_identity(config: dict[str, Any], weights: list[np.ndarray], inputs: list[Tensor]) -> Converted:
    return Converted([], keeps_flatten_order=True)
