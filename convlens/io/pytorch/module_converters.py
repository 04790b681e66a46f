"""``torch.nn`` modules -> convlens layers, one converter per module class.

Most modules have a convlens layer with the same arguments and parameter names, and
``@layer(nn.X)`` registers a function that builds it; the importer binds the weights.
Modules convlens has no single layer for (``ReLU6``, ``Hardtanh``, ``Hardswish``,
``Hardsigmoid``) become small graphs of existing layers (see
:mod:`convlens.io.pytorch.function_converters`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

import convlens.layers as L
from convlens.io.pytorch.export import MIRRORED, ConversionError
from convlens.io.pytorch.function_converters import clamp, hard_sigmoid, hard_swish, upsample_layer
from convlens.io.pytorch.importer import Importer, converts_module
from convlens.layers.module import Module


def layer(*classes: type) -> Callable[[Callable[[Any], Module]], Callable[[Any], Module]]:
    """Register ``build(module) -> convlens layer`` for ``classes``: one graph node named by
    the module's path, the module's weights bound to the layer."""

    def decorate(build: Callable[[Any], Module]) -> Callable[[Any], Module]:
        def convert(ctx: Importer, module: nn.Module, args: list[Any], kwargs: dict[str, Any],
                    node: Any) -> Any:
            if len(args) != 1 or kwargs:
                raise ConversionError(f"{node.target} ({type(module).__name__}): expected one input, "
                                      f"received {len(args)} and keywords {sorted(kwargs)}")
            converted = ctx.layer_for(module, lambda: build(module))
            return ctx.apply(converted, [args[0]], str(node.target))

        converts_module(*classes)(convert)
        return build

    return decorate


def _padding(module: Any) -> Any:
    padding = module.padding
    if isinstance(padding, str):
        if padding == "same" and any(s != 1 for s in module.stride):
            raise ConversionError(f"{type(module).__name__}: padding='same' with stride {module.stride}")
        return padding           # PyTorch's 'same' (stride 1) puts the odd pixel after, as convlens
    return tuple(padding)


@layer(nn.Conv1d, nn.Conv2d, nn.Conv3d)
def _conv(m: Any) -> Module:
    if type(m) not in (nn.Conv1d, nn.Conv2d, nn.Conv3d):
        raise ConversionError(f"{type(m).__name__} is not supported")
    return getattr(L, type(m).__name__)(m.in_channels, m.out_channels, m.kernel_size, m.stride,
                                        _padding(m), m.dilation, m.groups, m.bias is not None,
                                        m.padding_mode)


@layer(nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
def _conv_transpose(m: Any) -> Module:
    if m.padding_mode != "zeros" or isinstance(m.padding, str):
        raise ConversionError(f"{type(m).__name__} with padding {m.padding!r} and padding_mode "
                              f"{m.padding_mode!r} is not supported")
    return getattr(L, type(m).__name__)(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding,
                                        m.output_padding, m.groups, m.bias is not None, m.dilation)


@layer(nn.Linear)
def _linear(m: nn.Linear) -> Module:
    return L.Linear(m.in_features, m.out_features, m.bias is not None)


@layer(nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d,
       nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d)
def _channel_norm(m: Any) -> Module:
    return getattr(L, type(m).__name__)(m.num_features, m.eps, m.momentum, affine=m.affine,
                                        track_running_stats=m.track_running_stats)


@layer(nn.GroupNorm)
def _group_norm(m: nn.GroupNorm) -> Module:
    return L.GroupNorm(m.num_groups, m.num_channels, m.eps, m.affine)


@layer(nn.LayerNorm)
def _layer_norm(m: nn.LayerNorm) -> Module:
    return L.LayerNorm(m.normalized_shape, m.eps, m.elementwise_affine, bias=m.bias is not None)


@layer(nn.Embedding)
def _embedding(m: nn.Embedding) -> Module:
    if m.max_norm is not None or m.scale_grad_by_freq or m.sparse:
        raise ConversionError("Embedding with max_norm, scale_grad_by_freq or sparse is not supported")
    return L.Embedding(m.num_embeddings, m.embedding_dim, m.padding_idx)


def _pool_args(m: Any) -> tuple[Any, Any, Any]:
    return m.kernel_size, m.stride, m.padding


@layer(nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)
def _max_pool(m: Any) -> Module:
    # with return_indices: a node with two outputs, which the traced getitem calls pick
    return getattr(L, type(m).__name__)(*_pool_args(m), m.dilation, m.ceil_mode,
                                        return_indices=m.return_indices)


@layer(nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)
def _avg_pool(m: Any) -> Module:
    if getattr(m, "divisor_override", None) is not None:
        raise ConversionError(f"{type(m).__name__} with divisor_override is not supported")
    return getattr(L, type(m).__name__)(*_pool_args(m), ceil_mode=m.ceil_mode,
                                        count_include_pad=m.count_include_pad)


@layer(nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d, nn.AdaptiveMaxPool1d,
       nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)
def _adaptive_pool(m: Any) -> Module:
    if getattr(m, "return_indices", False):
        raise ConversionError(f"{type(m).__name__} with return_indices=True is not supported")
    return getattr(L, type(m).__name__)(m.output_size)


def _mirrored(m: Any) -> Module:
    name = type(m).__name__
    return getattr(L, name)(**{arg: getattr(m, arg) for arg in MIRRORED[name]})


for _name in MIRRORED:
    layer(getattr(nn, _name))(_mirrored)


@layer(nn.PReLU)
def _prelu(m: Any) -> Module:
    return L.PReLU(m.num_parameters)


@layer(nn.SELU)
def _selu(m: Any) -> Module:
    return L.SELU()


@layer(nn.Softmax, nn.LogSoftmax)
def _softmax(m: Any) -> Module:
    if m.dim is None:
        raise ConversionError(f"{type(m).__name__}() without dim is not supported; give dim=")
    return _mirrored(m)


@converts_module(nn.Identity)
def _identity(ctx: Importer, m: Any, args: list[Any], kwargs: dict[str, Any], node: Any) -> Any:
    return args[0]


@converts_module(nn.ReLU6, nn.Hardtanh)
def _hardtanh(ctx: Importer, m: Any, args: list[Any], kwargs: dict[str, Any], node: Any) -> Any:
    return clamp(ctx, args[0], m.min_val, m.max_val, str(node.target))


@converts_module(nn.Hardswish)
def _hardswish(ctx: Importer, m: Any, args: list[Any], kwargs: dict[str, Any], node: Any) -> Any:
    return hard_swish(ctx, args[0], str(node.target))


@converts_module(nn.Hardsigmoid)
def _hardsigmoid(ctx: Importer, m: Any, args: list[Any], kwargs: dict[str, Any], node: Any) -> Any:
    return hard_sigmoid(ctx, args[0], str(node.target))


@layer(nn.Upsample)     # UpsamplingNearest2d and UpsamplingBilinear2d are subclasses
def _upsample(m: Any) -> Module:
    return upsample_layer(m.size, m.scale_factor, m.mode, m.align_corners,
                          m.recompute_scale_factor, type(m).__name__)
