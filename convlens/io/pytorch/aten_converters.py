"""ATen operators (what ``torch.export`` gives) -> convlens graph nodes.

``from_torch`` falls back to ``torch.export`` when ``torch.fx`` cannot trace a module (Python
control flow on shapes, for instance). The exported graph calls ATen operators on the input
and on the module's tensors (``aten.conv2d(x, conv.weight, conv.bias, …)``). Operators that
are functions of the input alone reuse the converters of their ``torch`` spelling
(:mod:`convlens.io.pytorch.function_converters`); operators that take weights build the layer
and bind the weights, named after the module that owns them (``conv``), so state dict keys
stay PyTorch's.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

import convlens.layers as L
from convlens.io.pytorch.export import ConversionError
from convlens.io.pytorch.function_converters import _arg
from convlens.io.pytorch.importer import FUNCTION_CONVERTERS, Attr, Importer, converts_function
from convlens.layers.graph import SymbolicTensor
from convlens.layers.module import Module
from convlens.parameter import Parameter

aten = torch.ops.aten

_SAME_AS = {
    aten.relu.default: F.relu, aten.relu_.default: F.relu, aten.sigmoid.default: torch.sigmoid,
    aten.tanh.default: torch.tanh, aten.silu.default: F.silu, aten.gelu.default: F.gelu,
    aten.leaky_relu.default: F.leaky_relu, aten.elu.default: F.elu,
    aten.hardtanh.default: F.hardtanh, aten.hardswish.default: F.hardswish,
    aten.hardsigmoid.default: F.hardsigmoid, aten.softmax.int: F.softmax,
    aten.log_softmax.int: F.log_softmax, aten._softmax.default: F.softmax,
    aten.add.Tensor: torch.add, aten.add_.Tensor: torch.add, aten.sub.Tensor: torch.sub,
    aten.mul.Tensor: torch.mul, aten.div.Tensor: torch.div, aten.matmul.default: torch.matmul,
    aten.maximum.default: torch.maximum, aten.minimum.default: torch.minimum,
    aten.neg.default: torch.neg, aten.cat.default: torch.cat, aten.flatten.using_ints: torch.flatten,
    aten.view.default: "view", aten.reshape.default: "reshape", aten._unsafe_view.default: "view",
    aten.permute.default: "permute", aten.transpose.int: torch.transpose,
    aten.mean.dim: torch.mean, aten.amax.default: torch.amax,
    aten.adaptive_avg_pool1d.default: F.adaptive_avg_pool1d,
    aten.adaptive_avg_pool2d.default: F.adaptive_avg_pool2d,
    aten.adaptive_avg_pool3d.default: F.adaptive_avg_pool3d,
    aten.max_pool1d.default: F.max_pool1d, aten.max_pool2d.default: F.max_pool2d,
    aten.max_pool3d.default: F.max_pool3d, aten.avg_pool1d.default: F.avg_pool1d,
    aten.avg_pool2d.default: F.avg_pool2d, aten.avg_pool3d.default: F.avg_pool3d,
    aten.dropout.default: F.dropout, aten.clone.default: torch.clone,
    aten.contiguous.default: "contiguous", aten.clamp.default: torch.clamp,
}
for _op, _spelling in _SAME_AS.items():
    FUNCTION_CONVERTERS[_op] = FUNCTION_CONVERTERS[_spelling]


def _weights(ctx: Importer, layer: Module, named: dict[str, Any]) -> None:
    """Bind the module tensors ``named`` ({attribute: Attr or None}) to ``layer``."""
    params = {}
    for name, attr in named.items():
        if attr is None:
            continue
        if not isinstance(attr, Attr):
            raise ConversionError(f"{type(layer).__name__}: its {name} is computed in the graph; "
                                  "convlens needs it as a weight of the module")
        params[name] = attr.tensor
    holder = torch.nn.Module()
    for name, tensor in params.items():
        if isinstance(tensor, torch.nn.Parameter):
            holder.register_parameter(name, tensor)
        else:
            own = getattr(layer, name, None)
            if isinstance(own, Parameter):      # a weight exported as a plain tensor
                holder.register_parameter(name, torch.nn.Parameter(tensor, requires_grad=False))
            else:
                holder.register_buffer(name, tensor)
    ctx.bind(holder, layer)


def _owner(attr: Any, fallback: str) -> str:
    return attr.owner if isinstance(attr, Attr) else fallback


def _convolution(nd: int) -> Any:
    def convert(ctx: Importer, args: list[Any], kwargs: dict[str, Any], node: Any) -> SymbolicTensor:
        x, weight, bias = args[0], args[1], _arg(args, kwargs, 2, "bias")
        stride, padding = _arg(args, kwargs, 3, "stride", 1), _arg(args, kwargs, 4, "padding", 0)
        dilation, groups = _arg(args, kwargs, 5, "dilation", 1), _arg(args, kwargs, 6, "groups", 1)
        shape = tuple(weight.tensor.shape)
        layer = getattr(L, f"Conv{nd}d")(shape[1] * groups, shape[0], shape[2:], stride, padding,
                                         dilation, groups, bias is not None)
        _weights(ctx, layer, {"weight": weight, "bias": bias})
        return ctx.apply(layer, [x], _owner(weight, node.name))

    return convert


for _nd in (1, 2, 3):   # .padding: padding given as 'same' / 'valid'
    converts_function(getattr(aten, f"conv{_nd}d").default, getattr(aten, f"conv{_nd}d").padding)(
        _convolution(_nd))


@converts_function(aten.linear.default)
def _linear(ctx: Importer, args: list[Any], kwargs: dict[str, Any], node: Any) -> SymbolicTensor:
    x, weight, bias = args[0], args[1], _arg(args, kwargs, 2, "bias")
    out_features, in_features = tuple(weight.tensor.shape)
    layer = L.Linear(in_features, out_features, bias is not None)
    _weights(ctx, layer, {"weight": weight, "bias": bias})
    return ctx.apply(layer, [x], _owner(weight, node.name))


@converts_function(aten.batch_norm.default)
def _batch_norm(ctx: Importer, args: list[Any], kwargs: dict[str, Any], node: Any) -> SymbolicTensor:
    x, weight, bias, mean, var = (args + [None] * 5)[:5]
    momentum, eps = _arg(args, kwargs, 6, "momentum", 0.1), _arg(args, kwargs, 7, "eps", 1e-5)
    rank = len(ctx.shape(node.args[0]))
    channels = ctx.shape(node.args[0])[1]
    layer = getattr(L, f"BatchNorm{max(rank - 2, 1)}d")(channels, eps, momentum, affine=weight is not None,
                                                        track_running_stats=mean is not None)
    named = {"weight": weight, "bias": bias, "running_mean": mean, "running_var": var}
    if isinstance(mean, Attr):
        counter = f"{mean.owner}.num_batches_tracked"
        try:
            named["num_batches_tracked"] = Attr(counter, ctx.traced.get_buffer(counter))
        except AttributeError:
            pass
    _weights(ctx, layer, named)
    return ctx.apply(layer, [x], _owner(weight if weight is not None else mean, node.name))


@converts_function(F.layer_norm, aten.layer_norm.default)
def _layer_norm(ctx: Importer, args: list[Any], kwargs: dict[str, Any], node: Any) -> SymbolicTensor:
    """``F.layer_norm(x, shape, weight, bias, eps)`` (ConvNeXt's channels-last LayerNorm2d)."""
    x, shape = args[0], tuple(_arg(args, kwargs, 1, "normalized_shape"))
    weight, bias = _arg(args, kwargs, 2, "weight"), _arg(args, kwargs, 3, "bias")
    layer = L.LayerNorm(shape, _arg(args, kwargs, 4, "eps", 1e-5), elementwise_affine=weight is not None,
                        bias=bias is not None)
    _weights(ctx, layer, {"weight": weight, "bias": bias})
    return ctx.apply(layer, [x], _owner(weight, node.name))
