"""Keras layers -> convlens layers: one small converter per Keras class, found by class name.

A converter gets the layer's Keras ``config``, its weights in Keras's order (``kernel``,
``bias``; ``gamma``, ``beta``, ``moving_mean``, ``moving_variance``) and the :class:`Tensor`
description of each input, and returns the convlens layers that compute the same thing in
channels-first layout, with the weights already in place. The model walker
(:mod:`convlens.io.keras.model`) knows no layer.

Keras is channels-last: images are (N, H, W, C), kernels (kh, kw, C_in, C_out). convlens is
channels-first, as PyTorch: (N, C, H, W) and (C_out, C_in, kh, kw). Kernels are transposed;
a ``Flatten`` of channels-last maps orders its values (h, w, c), so the ``Dense`` layer that
reads it gets its rows reordered to convlens's (c, h, w) order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import convlens.layers as L
from convlens.io.formats import FormatError
from convlens.io.registry import registrar
from convlens.layers.module import Module
from convlens.parameter import Parameter


@dataclass(frozen=True)
class Tensor:
    """What the walker knows of a tensor: its channels-first ``shape`` (without the batch
    axis) and, after a ``Flatten`` of channels-last maps, the channels-last shape it came from
    (``flattened_from``), which the next ``Dense`` needs to reorder its rows."""

    shape: tuple[int, ...]
    flattened_from: tuple[int, ...] | None = None
    padding: tuple[tuple[int, int], ...] | None = None
    """Zero padding (before, after) per spatial axis that a ``ZeroPadding`` layer asked for and
    the next convolution applies (``shape`` is then the unpadded shape)."""


@dataclass
class Converted:
    """The convlens layers for one Keras layer, applied in order (the first takes all the
    Keras layer's inputs), and whether the output still carries ``flattened_from``."""

    layers: list[Module]
    keeps_flatten_order: bool = False
    padding: tuple[tuple[int, int], ...] | None = None
    output: Tensor | None = None
    """What is known of the output when the converter knows more than its shape (a nested
    model ending in a ``Flatten``)."""


Converter = Callable[[dict[str, Any], list[np.ndarray], list[Tensor]], Converted]
CONVERTERS: dict[str, Converter] = {}
converts = registrar(CONVERTERS)
"""``@converts("Conv2D", …)``: the converter of Keras layer classes, by class name."""


class KerasLayerError(FormatError):
    """A Keras layer or setting convlens cannot represent; the message names the layer."""


# -- helpers -------------------------------------------------------------------------------------
def _set(param: Parameter | None, value: np.ndarray, what: str) -> None:
    if param is None:
        raise KerasLayerError(f"{what}: the file holds a weight the layer has no place for")
    if value.shape != param.data.shape:
        raise KerasLayerError(f"{what}: expected shape {param.data.shape} from the layer's "
                              f"configuration, the file holds {value.shape}")
    param.data = np.ascontiguousarray(value, dtype=param.data.dtype)


def _check(value: np.ndarray, expected: tuple[int, ...], what: str) -> None:
    """The array in the file has the Keras shape the layer's configuration implies."""
    if tuple(value.shape) != tuple(expected):
        raise KerasLayerError(f"{what}: expected shape {tuple(expected)} from the layer's "
                              f"configuration, the file holds {tuple(value.shape)}")


def _expect(weights: list[np.ndarray], count: int, what: str) -> None:
    if len(weights) != count:
        raise KerasLayerError(f"{what}: expected {count} weight arrays from its configuration, "
                              f"the file holds {len(weights)}")


def _tuple(value: Any, n: int) -> tuple[int, ...]:
    return tuple(int(v) for v in value) if isinstance(value, (list, tuple)) else (int(value),) * n


def _channels_last(config: dict[str, Any], name: str) -> None:
    fmt = config.get("data_format") or "channels_last"
    if fmt != "channels_last":
        raise KerasLayerError(f"layer {name!r}: data_format {fmt!r} is not supported; expected "
                              "'channels_last' (Keras's default)")


def _activation_name(value: Any) -> str:
    if value is None:
        return "linear"
    if isinstance(value, dict):                 # a serialized function or layer
        inner = value.get("config")
        return str(inner if isinstance(inner, str) else value.get("class_name", "")).lower()
    return str(value).lower()


def activation_layers(value: Any, name: str, keras2: bool = False) -> list[Module]:
    """The convlens layers for a Keras activation given by name (``"relu"``) or config
    (``keras2``: the file was written by Keras 2, whose ``hard_sigmoid`` differs)."""
    act = _activation_name(value)
    table: dict[str, Callable[[], Module]] = {
        "relu": L.ReLU, "sigmoid": L.Sigmoid, "tanh": L.Tanh, "elu": L.ELU,
        "softmax": lambda: L.Softmax(dim=1), "log_softmax": lambda: L.LogSoftmax(dim=1),
        "silu": L.SiLU, "swish": L.SiLU, "gelu": L.GELU,
        "leaky_relu": lambda: L.LeakyReLU(0.2), "softplus": L.Softplus, "softsign": L.Softsign,
    }
    for key, cls in {"relu6": "ReLU6", "hard_swish": "HardSwish", "hard_silu": "HardSwish",
                     "selu": "SELU"}.items():
        if hasattr(L, cls):                    # layers of the ONNX work, where convlens has them
            table[key] = getattr(L, cls)
    # Keras 3: relu6(x + 3)/6; Keras 2 (TensorFlow.js files, old .h5): clip(0.2·x + 0.5, 0, 1)
    table["hard_sigmoid"] = lambda: L.HardSigmoid(0.2, 0.5) if keras2 else L.HardSigmoid(1 / 6, 0.5)
    if act == "linear":
        return []
    if act not in table:
        raise KerasLayerError(f"layer {name!r}: activation {act!r} is not supported; supported: "
                              f"linear, {', '.join(sorted(table))}")
    return [table[act]()]


def config_activation(config: dict[str, Any], name: str) -> list[Module]:
    """The layers of the ``activation`` a Keras layer's config names."""
    return activation_layers(config.get("activation"), name, bool(config.get("_keras2")))


def keras_axis(axis: int, rank: int, name: str) -> int:
    """A Keras axis of a channels-last tensor of ``rank`` (batch included) -> convlens axis."""
    a = axis + rank if axis < 0 else axis
    if not 0 < a < rank:
        raise KerasLayerError(f"layer {name!r}: axis {axis} is out of range for rank {rank}")
    if rank == 2 or a == 0:
        return a
    return 1 if a == rank - 1 else a + 1


def _conv_kernel(kernel: np.ndarray) -> np.ndarray:
    """(k_1, …, k_n, C_in, C_out) -> (C_out, C_in, k_1, …, k_n)."""
    nd = kernel.ndim - 2
    return kernel.transpose(nd + 1, nd, *range(nd))


# -- convolution and dense ----------------------------------------------------------------------
def _conv_padding(config: dict[str, Any], name: str) -> str:
    padding = config.get("padding", "valid")
    if padding not in ("valid", "same"):
        raise KerasLayerError(f"layer {name!r}: padding {padding!r} is not supported; expected "
                              "'valid' or 'same'")
    return padding


@converts("Conv1D", "Conv2D", "Conv3D", "Convolution1D", "Convolution2D", "Convolution3D")
def _conv(config: dict[str, Any], weights: list[np.ndarray], inputs: list[Tensor]) -> Converted:
    name = config.get("name", "conv")
    _channels_last(config, name)
    nd = len(inputs[0].shape) - 1
    padding = _conv_padding(config, name)
    use_bias = config.get("use_bias", True)
    _expect(weights, 2 if use_bias else 1, f"layer {name!r}")
    if inputs[0].padding is not None:                  # a ZeroPadding layer came before
        if padding != "valid":
            raise KerasLayerError(f"layer {name!r}: ZeroPadding followed by a '{padding}' "
                                  "convolution is not supported")
        padding = inputs[0].padding
    groups, filters = int(config.get("groups", 1)), int(config["filters"])
    kernel_size = _tuple(config["kernel_size"], nd)
    # the weights in the file must fit before anything is allocated from the config's numbers
    _check(weights[0], (*kernel_size, inputs[0].shape[0] // max(groups, 1), filters),
           f"layer {name!r} kernel")
    conv = getattr(L, f"Conv{nd}d")(inputs[0].shape[0], filters, kernel_size,
                                    stride=_tuple(config.get("strides", 1), nd), padding=padding,
                                    dilation=_tuple(config.get("dilation_rate", 1), nd),
                                    groups=groups, bias=use_bias)
    _set(conv.weight, _conv_kernel(weights[0]), f"layer {name!r} kernel")
    if use_bias:
        _set(conv.bias, weights[1], f"layer {name!r} bias")
    return Converted([conv, *config_activation(config, name)])


_conv.takes_padding = True  # type: ignore[attr-defined]


@converts("ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D")
def _zero_padding(config: dict[str, Any], weights: list[np.ndarray], inputs: list[Tensor]) -> Converted:
    """Zero padding: convlens's ``Pad`` layer where this convlens has it; otherwise handed to
    the convolution that follows (convlens convolutions take (before, after) padding per
    axis). Keras gives an int, one int per axis, or pairs."""
    name = config.get("name", "zero_padding")
    _channels_last(config, name)
    nd = int(config["_class"][-2])
    value = config.get("padding", 1)
    if isinstance(value, int):
        pairs = ((value, value),) * nd
    elif nd == 1 and len(value) == 2 and all(isinstance(v, int) for v in value):
        pairs = ((int(value[0]), int(value[1])),)
    else:
        pairs = tuple((int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1])) for v in value)
    if len(pairs) != nd:
        raise KerasLayerError(f"layer {name!r}: expected padding for {nd} axes, received {value!r}")
    if hasattr(L, "Pad"):                               # a layer of its own, where convlens has one
        return Converted([L.Pad(pairs)], keeps_flatten_order=False)
    return Converted([], padding=pairs)


@converts("DepthwiseConv2D")
def _depthwise(config: dict[str, Any], weights: list[np.ndarray], inputs: list[Tensor]) -> Converted:
    name = config.get("name", "depthwise")
    _channels_last(config, name)
    channels, multiplier = inputs[0].shape[0], int(config.get("depth_multiplier", 1))
    padding = config.get("padding", "valid")
    use_bias = config.get("use_bias", True)
    _expect(weights, 2 if use_bias else 1, f"layer {name!r}")
    kh, kw = _tuple(config["kernel_size"], 2)
    _check(weights[0], (kh, kw, channels, multiplier), f"layer {name!r} depthwise_kernel")
    conv = L.Conv2d(channels, channels * multiplier, _tuple(config["kernel_size"], 2),
                    stride=_tuple(config.get("strides", 1), 2), padding=padding,
                    dilation=_tuple(config.get("dilation_rate", 1), 2), groups=channels, bias=use_bias)
    # Keras (kh, kw, C, M): output channel c·M + m filters input channel c
    kernel = weights[0].reshape(kh, kw, channels * multiplier).transpose(2, 0, 1)[:, None]
    _set(conv.weight, kernel, f"layer {name!r} depthwise_kernel")
    if use_bias:
        _set(conv.bias, weights[1], f"layer {name!r} bias")
    return Converted([conv, *config_activation(config, name)])


@converts("SeparableConv1D", "SeparableConv2D", "SeparableConvolution1D", "SeparableConvolution2D")
def _separable(config: dict[str, Any], weights: list[np.ndarray], inputs: list[Tensor]) -> Converted:
    """A depthwise convolution (groups = C, no bias) then a 1×1 convolution (with the bias)."""
    name = config.get("name", "separable_conv")
    _channels_last(config, name)
    nd = len(inputs[0].shape) - 1
    channels, multiplier = inputs[0].shape[0], int(config.get("depth_multiplier", 1))
    filters, use_bias = int(config["filters"]), config.get("use_bias", True)
    padding = _conv_padding(config, name)
    _expect(weights, 3 if use_bias else 2, f"layer {name!r}")
    kernel = _tuple(config["kernel_size"], nd)
    _check(weights[0], (*kernel, channels, multiplier), f"layer {name!r} depthwise_kernel")
    _check(weights[1], (*(1,) * nd, channels * multiplier, filters), f"layer {name!r} pointwise_kernel")
    conv = getattr(L, f"Conv{nd}d")
    depthwise = conv(channels, channels * multiplier, kernel, stride=_tuple(config.get("strides", 1), nd),
                     padding=padding, dilation=_tuple(config.get("dilation_rate", 1), nd), groups=channels,
                     bias=False)
    # Keras (k…, C, M): output channel c·M + m filters input channel c
    dw = weights[0].reshape(*kernel, channels * multiplier)
    _set(depthwise.weight, dw.transpose(nd, *range(nd))[:, None], f"layer {name!r} depthwise_kernel")
    pointwise = conv(channels * multiplier, filters, 1, bias=use_bias)
    _set(pointwise.weight, _conv_kernel(weights[1]), f"layer {name!r} pointwise_kernel")
    if use_bias:
        _set(pointwise.bias, weights[2], f"layer {name!r} bias")
    return Converted([depthwise, pointwise, *config_activation(config, name)])


def transpose_padding(kernel: int, stride: int, dilation: int, padding: str,
                      output_padding: int | None) -> tuple[tuple[int, int], int]:
    """Keras's transposed-convolution padding (TensorFlow's and JAX's rule; Keras's PyTorch
    backend differs for some odd kernels, and warns) as the (before, after) crop of the
    full transposed output and the output_padding added at the end."""
    k = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(k, stride) - k if output_padding is None else output_padding
        left, right = k - 1, k - 1 + extra
    else:
        total = stride + k - 2 if output_padding is None else k + k % 2 - 2 + output_padding
        left = min(total // 2 + total % 2, k - 1)
        right = total - left
    after = k - 1 - right
    return (k - 1 - left, max(after, 0)), max(-after, 0)


@converts("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose", "Convolution2DTranspose")
def _conv_transpose(config: dict[str, Any], weights: list[np.ndarray], inputs: list[Tensor]) -> Converted:
    name = config.get("name", "conv_transpose")
    _channels_last(config, name)
    nd = len(inputs[0].shape) - 1
    padding = _conv_padding(config, name)
    use_bias, filters = config.get("use_bias", True), int(config["filters"])
    _expect(weights, 2 if use_bias else 1, f"layer {name!r}")
    kernel = _tuple(config["kernel_size"], nd)
    stride, dilation = _tuple(config.get("strides", 1), nd), _tuple(config.get("dilation_rate", 1), nd)
    given = config.get("output_padding")
    extras = (None,) * nd if given is None else _tuple(given, nd)
    _check(weights[0], (*kernel, filters, inputs[0].shape[0]), f"layer {name!r} kernel")
    geometry = [transpose_padding(k, s, d, padding, e)
                for k, s, d, e in zip(kernel, stride, dilation, extras)]
    conv = getattr(L, f"ConvTranspose{nd}d")(inputs[0].shape[0], filters, kernel, stride,
                                             tuple(p for p, _ in geometry), tuple(e for _, e in geometry),
                                             bias=use_bias, dilation=dilation)
    _set(conv.weight, _conv_kernel(weights[0]), f"layer {name!r} kernel")   # (k…, out, in) -> (in, out, k…)
    if use_bias:
        _set(conv.bias, weights[1], f"layer {name!r} bias")
    return Converted([conv, *config_activation(config, name)])


def flatten_order(kernel: np.ndarray, channels_last_shape: tuple[int, ...]) -> np.ndarray:
    """Rows of a Dense kernel (F, units) that read a channels-last flatten, (s_1, …, s_n, C),
    reordered for the channels-first flatten (C, s_1, …, s_n)."""
    units = kernel.shape[1]
    n = len(channels_last_shape)
    grid = kernel.reshape(*channels_last_shape, units)
    return grid.transpose(n - 1, *range(n - 1), n).reshape(-1, units)


@converts("Dense")
def _dense(config: dict[str, Any], weights: list[np.ndarray], inputs: list[Tensor]) -> Converted:
    name = config.get("name", "dense")
    source = inputs[0]
    if len(source.shape) != 1:
        raise KerasLayerError(f"layer {name!r}: Dense on an input of shape {source.shape} (not a "
                              "vector per example) is not supported; put a Flatten before it")
    use_bias = config.get("use_bias", True)
    _expect(weights, 2 if use_bias else 1, f"layer {name!r}")
    kernel = weights[0]
    _check(kernel, (source.shape[0], int(config["units"])), f"layer {name!r} kernel")
    if source.flattened_from is not None:
        kernel = flatten_order(kernel, source.flattened_from)
    dense = L.Linear(source.shape[0], int(config["units"]), bias=use_bias)
    _set(dense.weight, kernel.T, f"layer {name!r} kernel")
    if use_bias:
        _set(dense.bias, weights[1], f"layer {name!r} bias")
    return Converted([dense, *config_activation(config, name)])


@converts("BatchNormalization")
def _batch_norm(config: dict[str, Any], weights: list[np.ndarray], inputs: list[Tensor]) -> Converted:
    name = config.get("name", "batch_normalization")
    shape = inputs[0].shape
    axis = config.get("axis", -1)
    axis = axis[0] if isinstance(axis, list) and len(axis) == 1 else axis
    if not isinstance(axis, int) or keras_axis(axis, len(shape) + 1, name) != 1:
        raise KerasLayerError(f"layer {name!r}: BatchNormalization over axis {axis} is not "
                              "supported; expected the channels axis (-1)")
    scale, center = config.get("scale", True), config.get("center", True)
    _expect(weights, 2 + int(scale) + int(center), f"layer {name!r}")
    nd = max(len(shape) - 1, 1)
    bn = getattr(L, f"BatchNorm{nd}d")(shape[0], eps=float(config.get("epsilon", 1e-3)),
                                       momentum=1.0 - float(config.get("momentum", 0.99)),
                                       affine=scale or center)
    arrays = list(weights)
    if scale:
        _set(bn.weight, arrays.pop(0), f"layer {name!r} gamma")
    elif bn.weight is not None:
        bn.weight.requires_grad = False             # Keras learns no scale here: keep it at 1
    if center:
        _set(bn.bias, arrays.pop(0), f"layer {name!r} beta")
    elif bn.bias is not None:
        bn.bias.requires_grad = False
    for buffer, value in zip(("running_mean", "running_var"), arrays):
        current = getattr(bn, buffer)
        if value.shape != current.shape:
            raise KerasLayerError(f"layer {name!r} {buffer}: expected shape {current.shape}, "
                                  f"the file holds {value.shape}")
        bn.register_buffer(buffer, np.asarray(value, dtype=current.dtype).copy())
    return Converted([bn])


# -- pooling ------------------------------------------------------------------------------------------
def _same_pool_padding(spatial: Sequence[int], kernel: Sequence[int], stride: Sequence[int],
                       name: str) -> tuple[tuple[int, ...], bool]:
    """Keras 'same' pooling (output ⌈n/s⌉; windows start ⌊P/2⌋ before the input, P the total
    padding; padded positions take no part) as convlens pooling with that padding on both
    sides and the ``ceil_mode`` that gives the same number of windows (padding takes no part
    in max pooling, nor in average pooling with ``count_include_pad=False``)."""
    targets = [-(-n // s) for n, s in zip(spatial, stride)]
    before = tuple(max((t - 1) * s + k - n, 0) // 2 for t, n, k, s in zip(targets, spatial, kernel, stride))
    for ceil in (False, True):
        outs = []
        for n, k, s, p in zip(spatial, kernel, stride, before):
            span = n + 2 * p - k
            out = (-(-span // s) if ceil else span // s) + 1
            if ceil and (out - 1) * s >= n + p:       # PyTorch's rule: the last window starts inside
                out -= 1
            outs.append(out)
        if outs == targets and all(p <= k // 2 for p, k in zip(before, kernel)):
            return before, ceil
    raise KerasLayerError(f"layer {name!r}: 'same' pooling of {tuple(spatial)} with window "
                          f"{tuple(kernel)} and stride {tuple(stride)} has no convlens equivalent")


@converts("MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
          "AveragePooling3D", "MaxPool1D", "MaxPool2D", "MaxPool3D", "AvgPool1D", "AvgPool2D", "AvgPool3D")
def _pool(config: dict[str, Any], weights: list[np.ndarray], inputs: list[Tensor]) -> Converted:
    name = config.get("name", "pool")
    _channels_last(config, name)
    spatial = inputs[0].shape[1:]
    nd = len(spatial)
    kernel = _tuple(config.get("pool_size", 2), nd)
    stride = kernel if config.get("strides") is None else _tuple(config["strides"], nd)
    padding, ceil = (0,) * nd, False
    if config.get("padding", "valid") == "same":
        padding, ceil = _same_pool_padding(spatial, kernel, stride, name)
    if config["_class"].startswith("Max"):
        layer = getattr(L, f"MaxPool{nd}d")(kernel, stride, padding, ceil_mode=ceil)
    else:
        layer = getattr(L, f"AvgPool{nd}d")(kernel, stride, padding, ceil_mode=ceil, count_include_pad=False)
    return Converted([layer])


@converts("GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
          "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
          "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalAvgPool3D",
          "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D")
def _global_pool(config: dict[str, Any], weights: list[np.ndarray], inputs: list[Tensor]) -> Converted:
    name = config.get("name", "global_pool")
    _channels_last(config, name)
    nd = len(inputs[0].shape) - 1
    keepdims = bool(config.get("keepdims", False))
    if keepdims and nd > 1:
        raise KerasLayerError(f"layer {name!r}: keepdims=True keeps a channels-last (1, …, C) "
                              "shape, which has no channels-first equivalent here")
    kind = "Max" if "Max" in config["_class"] else "Avg"
    return Converted([getattr(L, f"Global{kind}Pool{nd}d")(keepdims=keepdims)])


# -- shape and element-wise layers -----------------------------------------------------------------
@converts("Flatten")
def _flatten(config: dict[str, Any], weights: list[np.ndarray], inputs: list[Tensor]) -> Converted:
    _channels_last(config, config.get("name", "flatten"))
    return Converted([L.Flatten()])


@converts("Activation")
def _activation(config: dict[str, Any], weights: list[np.ndarray], inputs: list[Tensor]) -> Converted:
    return Converted(config_activation(config, config.get("name", "activation")), keeps_flatten_order=True)


@converts("ReLU")
def _relu(config: dict[str, Any], weights: list[np.ndarray], inputs: list[Tensor]) -> Converted:
    name = config.get("name", "re_lu")
    slope = float(config.get("negative_slope", 0.0))
    max_value = config.get("max_value")
    plain = not slope and float(config.get("threshold", 0.0)) == 0.0
    if max_value is not None and plain and hasattr(L, "Hardtanh"):
        return Converted([L.Hardtanh(0.0, float(max_value))], keeps_flatten_order=True)   # relu6
    if max_value is not None or float(config.get("threshold", 0.0)) != 0.0:
        raise KerasLayerError(f"layer {name!r}: ReLU with max_value or threshold is not supported")
    return Converted([L.LeakyReLU(slope) if slope else L.ReLU()], keeps_flatten_order=True)


@converts("LeakyReLU")
def _leaky_relu(config: dict[str, Any], weights: list[np.ndarray], inputs: list[Tensor]) -> Converted:
    slope = config.get("negative_slope", config.get("alpha", 0.3))
    return Converted([L.LeakyReLU(float(slope))], keeps_flatten_order=True)


@converts("ELU")
def _elu(config: dict[str, Any], weights: list[np.ndarray], inputs: list[Tensor]) -> Converted:
    return Converted([L.ELU(float(config.get("alpha", 1.0)))], keeps_flatten_order=True)


@converts("PReLU")
def _prelu(config: dict[str, Any], weights: list[np.ndarray], inputs: list[Tensor]) -> Converted:
    """Keras's ``alpha`` has the input's shape (channels-last, without the batch axis) with
    size 1 along ``shared_axes``: one slope (every axis shared), one per channel (the spatial
    axes shared, ``shared_axes=[1, 2]`` for images) or one per feature of a vector, which
    ``cl.PReLU`` holds. One slope per position of a map has no equivalent there."""
    name = config.get("name", "p_re_lu")
    _expect(weights, 1, f"layer {name!r}")
    alpha, source = np.asarray(weights[0]), inputs[0]
    channels = source.shape[0]                 # channels-first: C, or the vector's length
    if alpha.size == 1:
        slopes = alpha.reshape(1)
    elif alpha.size == channels and alpha.shape[-1] == channels:
        slopes = alpha.reshape(channels)
        if source.flattened_from is not None:  # Keras's (h, w, c) order -> convlens's (c, h, w)
            slopes = flatten_order(slopes.reshape(-1, 1), source.flattened_from).reshape(-1)
    else:
        raise KerasLayerError(
            f"layer {name!r}: PReLU with slopes of shape {alpha.shape} (one per position of an "
            f"input of shape {source.shape}, channels first) is not supported; expected one slope, "
            "or one per channel (shared_axes over the spatial axes, e.g. shared_axes=[1, 2])")
    prelu = L.PReLU(slopes.size)
    _set(prelu.weight, slopes, f"layer {name!r} alpha")
    return Converted([prelu], keeps_flatten_order=True)


@converts("Softmax")
def _softmax(config: dict[str, Any], weights: list[np.ndarray], inputs: list[Tensor]) -> Converted:
    axis = config.get("axis", -1)
    axis = axis[0] if isinstance(axis, list) and len(axis) == 1 else axis
    dim = keras_axis(int(axis), len(inputs[0].shape) + 1, config.get("name", "softmax"))
    return Converted([L.Softmax(dim=dim)])


@converts("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D")
def _dropout(config: dict[str, Any], weights: list[np.ndarray], inputs: list[Tensor]) -> Converted:
    rate = float(config.get("rate", 0.5))
    kind = config["_class"]
    if kind.startswith("Spatial"):
        return Converted([getattr(L, f"Dropout{kind[-2]}d")(rate)])
    if config.get("noise_shape") is not None:
        raise KerasLayerError(f"layer {config.get('name')!r}: Dropout with a noise_shape is not supported")
    return Converted([L.Dropout(rate)], keeps_flatten_order=True)


# -- merging layers (graph models) -------------------------------------------------------------------
_MERGE = {"Add": "Add", "Subtract": "Subtract", "Multiply": "Multiply", "Average": "Mean",
          "Maximum": "Maximum", "Minimum": "Minimum"}


@converts(*_MERGE, "Concatenate")
def _merge(config: dict[str, Any], weights: list[np.ndarray], inputs: list[Tensor]) -> Converted:
    kind = config["_class"]
    if kind == "Concatenate":
        rank = len(inputs[0].shape) + 1
        dim = keras_axis(int(config.get("axis", -1)), rank, config.get("name", "concatenate"))
        return Converted([L.Concatenate(dim=dim)])
    return Converted([getattr(L, _MERGE[kind])()])


def shape_of(layers: Sequence[Module], shape: tuple[int, ...]) -> tuple[int, ...]:
    """The output shape (without batch) of ``layers`` applied in order to ``shape``."""
    from convlens.functional.engine import no_grad

    x = np.zeros((1, *shape), dtype=np.float32)
    with no_grad():
        for layer in layers:
            mode = layer.training
            layer.eval()
            x = layer(x)
            layer.train(mode)
    return tuple(x.shape[1:])
