"""Transposed convolution layers (upsampling by a learned kernel: decoders, autoencoders, GAN
generators), as ``torch.nn.ConvTranspose{1,2,3}d``. Math in
:mod:`convlens.functional.conv_transpose`."""

from __future__ import annotations

from typing import Any

import numpy as np

from convlens.functional.conv_arithmetic import (
    as_tuple,
    check_channels,
    check_padding_spec,
    config_padding,
    config_value,
    layout,
)
from convlens.functional.conv_transpose import conv_transpose_backward, conv_transpose_forward
from convlens.layers._init_helpers import initialize
from convlens.layers.module import Module
from convlens.parameter import Parameter


class _ConvTransposeNd(Module):
    """N-d transposed convolution.

    Args:
        in_channels, out_channels: C_in, C_out (each divisible by ``groups``).
        kernel_size, stride, dilation: k, s, d (ints or one per spatial axis).
        padding: p, an int or one per axis (removed from both ends, as PyTorch), or
            (before, after) pairs per axis (Keras's 'same' with an odd total, ONNX pads).
        output_padding: extra positions at the end of each axis (< max(s, d)).
        groups: G, independent channel groups.
        bias: add a learned bias per output channel.

    Shape: input (N, C_in, *S), output (N, C_out, *O) with
        O_i = (S_i − 1)·s_i − p_before − p_after + d_i·(k_i − 1) + output_padding_i + 1.

    Attributes:
        weight: Parameter (C_in, C_out/G, *kernel_size) (PyTorch's layout).
        bias: Parameter (C_out,) or None.
    """

    ndim = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, output_padding: Any = 0, groups: int = 1, bias: bool = True,
                 dilation: Any = 1, dtype: Any = np.float32) -> None:
        super().__init__()
        name, nd = type(self).__name__, self.ndim
        self.in_channels, self.out_channels, self.groups = check_channels(
            name, in_channels, out_channels, groups)
        self.kernel_size = as_tuple(kernel_size, nd, "kernel_size")
        self.stride = as_tuple(stride, nd, "stride")
        self.dilation = as_tuple(dilation, nd, "dilation")
        self.output_padding = as_tuple(output_padding, nd, "output_padding", minimum=0)
        padding = check_padding_spec(padding, nd)
        if isinstance(padding, str):
            raise ValueError(f"{name}: padding must be an int, one per axis or (before, after) "
                             f"pairs, received {padding!r}")
        self.padding = padding
        for op, s, d in zip(self.output_padding, self.stride, self.dilation):
            if op >= max(s, d):
                raise ValueError(f"{name}: output_padding must be smaller than stride or dilation, "
                                 f"received output_padding={self.output_padding}, stride={self.stride}, "
                                 f"dilation={self.dilation}")
        shape = (in_channels, out_channels // groups, *self.kernel_size)
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        self.bias = Parameter(np.empty(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters()
        self._cache: tuple[Any, ...] | None = None

    def reset_parameters(self) -> None:
        initialize(self.weight, self.bias, None, None)   # PyTorch's (fan-in from weight.shape[1:])

    @property
    def input_layout(self) -> str:  # type: ignore[override]
        return f"{layout(self.ndim)} with C={self.in_channels}"

    def forward(self, x: np.ndarray) -> np.ndarray:
        y, self._cache = conv_transpose_forward(
            x, self.weight.data, None if self.bias is None else self.bias.data, self.stride,
            self.padding, self.output_padding, self.dilation, self.groups, type(self).__name__)
        return y

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        dx, dweight, dbias = conv_transpose_backward(dy, self._cached(), need_input_grad)
        self.weight.accumulate_grad(dweight)
        if self.bias is not None and dbias is not None:
            self.bias.accumulate_grad(dbias)
        return dx

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"in_channels": self.in_channels, "out_channels": self.out_channels,
                                  "kernel_size": config_value(self.kernel_size),
                                  "stride": config_value(self.stride),
                                  "padding": config_padding(self.padding)}
        for key, default in (("output_padding", 0), ("dilation", 1)):
            if getattr(self, key) != (default,) * self.ndim:
                config[key] = config_value(getattr(self, key))
        if self.groups != 1:
            config["groups"] = self.groups
        if self.bias is None:
            config["bias"] = False
        return config


class ConvTranspose1d(_ConvTransposeNd):
    """(N, C_in, L) -> (N, C_out, L_out)."""

    ndim = 1


class ConvTranspose2d(_ConvTransposeNd):
    """(N, C_in, H, W) -> (N, C_out, H_out, W_out).

    >>> import numpy as np, convlens as cl
    >>> cl.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1)(np.zeros((1, 4, 5, 6))).shape
    (1, 2, 10, 12)
    """

    ndim = 2


class ConvTranspose3d(_ConvTransposeNd):
    """(N, C_in, D, H, W) -> (N, C_out, D', H', W')."""

    ndim = 3
