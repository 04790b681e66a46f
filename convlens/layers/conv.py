"""Convolution layers: one implementation for 1-D, 2-D and 3-D.

``Conv1d`` for signals and text (N, C, L), ``Conv2d`` for images (N, C, H, W), ``Conv3d`` for
video and volumes (N, C, D, H, W). Arguments and weight shapes follow ``torch.nn.Conv*d``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convlens.functional import engine
from convlens.functional.conv import (
    check_conv_input,
    conv_backward,
    conv_forward,
    conv_geometry,
    hashable,
)
from convlens.functional.conv_arithmetic import (
    PaddingSpec,
    as_tuple,
    check_channels,
    check_padding_spec,
    config_padding,
    config_value,
    layout,
)
from convlens.functional.loops import LoopConvCache, conv_backward_loops, conv_forward_loops
from convlens.functional.padding import check_padding_mode
from convlens.layers._init_helpers import InitSpec, init_config, initialize
from convlens.layers.module import Module
from convlens.parameter import Parameter


class _ConvNd(Module):
    """N-d convolution layer; see :mod:`convlens.functional.conv` for the math.

    Args:
        in_channels: C_in, channels of the input.
        out_channels: C_out, number of filters (kernels); each gives one output channel.
        kernel_size: k, int or tuple (one per spatial axis).
        stride: s, step of the sliding window (s > 1 sub-samples: strided convolution).
        padding: p, an int, a tuple, ``'valid'`` (no padding) or ``'same'`` (output size
            ⌈n/s⌉; the odd pixel, if any, goes after, as TensorFlow does, which also makes
            ``'same'`` work with stride > 1 where PyTorch refuses it).
        dilation: d, spacing between kernel taps (receptive field d·(k − 1) + 1).
        groups: G, split channels into G independent groups; ``groups=in_channels`` is a
            depthwise convolution.
        bias: add a learned bias per output channel.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.
        weight_init, bias_init: initializer names or callables (default: PyTorch's).

    Shape:
        input (N, C_in, *S), output (N, C_out, *O) with
        O_i = ⌊(S_i + 2p_i − d_i·(k_i − 1) − 1)/s_i⌋ + 1.

    Attributes:
        weight: Parameter (C_out, C_in/G, *kernel_size).
        bias: Parameter (C_out,) or None.
    """

    ndim = 2

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, ...],
        stride: int | tuple[int, ...] = 1,
        padding: PaddingSpec = 0,
        dilation: int | tuple[int, ...] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        dtype: Any = np.float32,
        weight_init: InitSpec = None,
        bias_init: InitSpec = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        nd = self.ndim
        self.in_channels, self.out_channels, self.groups = check_channels(
            name, in_channels, out_channels, groups)
        self.kernel_size = as_tuple(kernel_size, nd, "kernel_size")
        self.stride = as_tuple(stride, nd, "stride")
        self.dilation = as_tuple(dilation, nd, "dilation")
        self.padding = check_padding_spec(padding, nd)
        self.padding_mode = check_padding_mode(padding_mode)
        self.weight = Parameter(
            np.empty((out_channels, in_channels // groups, *self.kernel_size), dtype=dtype)
        )
        self.bias = Parameter(np.empty(out_channels, dtype=dtype)) if bias else None
        self.weight_init, self.bias_init = weight_init, bias_init
        self.reset_parameters()
        self._cache = None

    def reset_parameters(self) -> None:
        initialize(self.weight, self.bias, self.weight_init, self.bias_init)

    @property
    def input_layout(self) -> str:  # type: ignore[override]
        return f"{layout(self.ndim)} with C={self.in_channels}"

    def forward(self, x: np.ndarray) -> np.ndarray:
        forward = conv_forward_loops if engine.loops_enabled() else conv_forward
        y, cache = forward(
            x, self.weight.data, None if self.bias is None else self.bias.data,
            self.stride, self.padding, self.dilation, self.groups, self.padding_mode,
            name=type(self).__name__,
        )
        self._cache = cache
        return y

    def output_example(self, x: np.ndarray) -> np.ndarray:
        """An uninitialized array of the output's shape and dtype for input ``x``, with the
        input checks of ``forward``: graph building (shape inference) needs no convolution."""
        name = type(self).__name__
        check_conv_input(name, x, self.weight.data, self.groups)
        _, _, _, out, _ = conv_geometry(name, x.shape[2:], self.kernel_size, hashable(self.stride),
                                        hashable(self.padding), hashable(self.dilation))
        dtype = np.result_type(x.dtype if x.dtype.kind == "f" else self.weight.dtype, self.weight.dtype)
        return np.empty((x.shape[0], self.out_channels, *out), dtype)

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        cache = self._cached()
        backward = conv_backward_loops if isinstance(cache, LoopConvCache) else conv_backward
        dx, dweight, dbias = backward(dy, cache, need_input_grad)
        self.weight.accumulate_grad(dweight)
        if self.bias is not None and dbias is not None:
            self.bias.accumulate_grad(dbias)
        return dx

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": config_value(self.kernel_size),
            "stride": config_value(self.stride),
            "padding": config_padding(self.padding),
        }
        if self.dilation != (1,) * self.ndim:
            config["dilation"] = config_value(self.dilation)
        if self.groups != 1:
            config["groups"] = self.groups
        if self.bias is None:
            config["bias"] = False
        if self.padding_mode != "zeros":
            config["padding_mode"] = self.padding_mode
        config.update(init_config(self))
        return config


class Conv1d(_ConvNd):
    """1-D convolution over signals and token sequences: (N, C, L) -> (N, C_out, L_out)."""

    ndim = 1


class Conv2d(_ConvNd):
    """2-D convolution over images: (N, C, H, W) -> (N, C_out, H_out, W_out).

    >>> import numpy as np, convlens as cl
    >>> cl.Conv2d(1, 6, kernel_size=5, padding=2)(np.zeros((8, 1, 28, 28), np.float32)).shape
    (8, 6, 28, 28)
    """

    ndim = 2


class Conv3d(_ConvNd):
    """3-D convolution over volumes and clips: (N, C, D, H, W) -> (N, C_out, D', H', W')."""

    ndim = 3
