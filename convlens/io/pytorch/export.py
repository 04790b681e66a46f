"""convlens -> PyTorch: one small converter per layer class, found through a registry.

``to_torch(model)`` walks the layer tree and asks :data:`CONVERTERS` for each layer's
``torch.nn`` twin; containers convert their children recursively. Parameters are then bound
once per convlens ``Parameter`` (a parameter shared by two layers stays one ``nn.Parameter``;
a layer used twice stays one module), and buffers (batch-norm statistics) are copied. The
twin's ``state_dict`` has the convlens keys, so weights can go back with
:func:`convlens.io.pytorch.state.state_dict_from_torch`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

import convlens.layers as L
from convlens.io.pytorch import torch_modules as T
from convlens.io.registry import registrar
from convlens.layers.conv import _ConvNd
from convlens.layers.global_pool import _AdaptivePoolNd, _GlobalPoolNd
from convlens.layers.module import Module
from convlens.layers.normalization import _BatchNorm, _InstanceNorm
from convlens.layers.pool import _PoolNd
from convlens.parameter import Parameter


class ConversionError(ValueError):
    """A layer or operation the other library cannot express; the message names it."""


Converter = Callable[[Any, "Exporter"], nn.Module]
CONVERTERS: dict[type, Converter] = {}
converts = registrar(CONVERTERS)
"""``@converts(cl.Conv2d, …)``: register a converter for convlens layer classes (subclasses
find it too)."""

MIRRORED: dict[str, tuple[str, ...]] = {
    "Flatten": ("start_dim", "end_dim"), "PixelShuffle": ("upscale_factor",),
    "PixelUnshuffle": ("downscale_factor",), "LeakyReLU": ("negative_slope",), "ELU": ("alpha",),
    "GELU": ("approximate",), "Softmax": ("dim",), "LogSoftmax": ("dim",), "Dropout": ("p",),
    "Dropout1d": ("p",), "Dropout2d": ("p",), "Dropout3d": ("p",),
    "ReLU": (), "Sigmoid": (), "Tanh": (), "SiLU": (), "Identity": (),
    "Softplus": ("beta", "threshold"), "Softsign": (),
    "LocalResponseNorm": ("size", "alpha", "beta", "k"),
}
"""Layers that have the same class name and the same arguments, under the same attribute
names, in convlens and ``torch.nn``: both directions convert them from this table."""


def _dtype(layer: Module) -> torch.dtype:
    for p in layer.parameters():
        return torch.from_numpy(np.empty(0, p.dtype)).dtype
    return torch.get_default_dtype()


class Exporter:
    """State of one conversion: the twins made so far (by layer) and the bound parameters."""

    def __init__(self) -> None:
        self.modules: dict[int, nn.Module] = {}
        self.converted: list[tuple[Module, nn.Module]] = []  # in the order conversions finished
        self.parameters: dict[int, nn.Parameter] = {}

    def convert(self, layer: Module, where: str = "model") -> nn.Module:
        if id(layer) in self.modules:                       # the same layer used again
            return self.modules[id(layer)]
        converter = next((CONVERTERS[cls] for cls in type(layer).__mro__ if cls in CONVERTERS), None)
        if converter is None:
            raise ConversionError(f"{where}: no PyTorch equivalent for the convlens layer "
                                  f"{type(layer).__name__}; convertible layers: {_names()}")
        twin = converter(layer, self)
        self._bind(layer, twin)
        self.modules[id(layer)] = twin
        self.converted.append((layer, twin))    # (after its children: see set_modes)
        return twin

    def set_modes(self) -> None:
        """Each twin in its layer's mode (training or eval), outermost first: ``train()`` of
        a container sets its children too, so the children's own modes come after."""
        for layer, twin in reversed(self.converted):
            twin.train(layer.training)

    def _bind(self, layer: Module, twin: nn.Module) -> None:
        """Give ``twin`` this layer's own parameters (one ``nn.Parameter`` per convlens
        ``Parameter``) and copies of its buffers."""
        for name, value in vars(layer).items():
            if not isinstance(value, Parameter):
                continue
            param = self.parameters.get(id(value))
            if param is None:
                param = nn.Parameter(torch.from_numpy(np.array(value.data, copy=True)),
                                     requires_grad=bool(value.requires_grad))
                self.parameters[id(value)] = param
            setattr(twin, name, param)
        for name in layer._buffer_names:
            twin.register_buffer(name, torch.from_numpy(np.array(getattr(layer, name), copy=True)))


def _names() -> str:
    return ", ".join(sorted(cls.__name__ for cls in CONVERTERS if not cls.__name__.startswith("_")))


def to_torch(model: Module) -> nn.Module:
    """An equivalent ``torch.nn.Module`` holding copies of ``model``'s weights, each module
    in its layer's mode (a BatchNorm kept in eval mode inside a training model stays so)."""
    exporter = Exporter()
    twin = exporter.convert(model)
    exporter.set_modes()
    return twin


# -- containers ------------------------------------------------------------------------------
@converts(L.Sequential)
def _sequential(layer: L.Sequential, ex: Exporter) -> nn.Module:
    return nn.Sequential(*(ex.convert(child, f"layer {i}") for i, child in enumerate(layer)))


@converts(L.Residual)
def _residual(layer: L.Residual, ex: Exporter) -> nn.Module:
    shortcut = None if layer.shortcut is None else ex.convert(layer.shortcut, "shortcut")
    return T.Residual(ex.convert(layer.body, "body"), shortcut)


@converts(L.Concat)
def _concat(layer: L.Concat, ex: Exporter) -> nn.Module:
    return T.Concat([ex.convert(b, f"branch {i}") for i, b in enumerate(layer.branches)], layer.dim)


# -- graphs ------------------------------------------------------------------------------------
def _merge_node(graph: Any, layer: Module, args: tuple[Any, ...]) -> Any:
    """The fx node(s) computing a convlens merge layer, or None if ``layer`` is no merge."""

    name = type(layer).__name__
    chains = {"Add": operator.add, "Multiply": operator.mul, "Maximum": torch.maximum,
              "Minimum": torch.minimum, "Mean": operator.add}
    pairs = {"Subtract": operator.sub, "Divide": operator.truediv, "MatMul": torch.matmul}
    if name == "Concatenate":
        return graph.call_function(torch.cat, (list(args), layer.dim))
    if name in pairs:
        return graph.call_function(pairs[name], args)
    if name not in chains:
        return None
    out = args[0]
    for other in args[1:]:
        out = graph.call_function(chains[name], (out, other))
    return graph.call_function(operator.truediv, (out, len(args))) if name == "Mean" else out


def _graph(layer: Any, ex: Exporter) -> nn.Module:
    """A ``torch.fx.GraphModule``: one ``call_module`` per node (targets are the node names,
    so state dict keys stay the same), merges as ``call_function``."""
    import torch.fx as fx

    graph = fx.Graph()
    values: dict[str, fx.Node] = {}
    for name in layer.input_names:
        values[name] = graph.placeholder(_identifier(name))
    owners: dict[int, str] = {}
    root: dict[str, nn.Module] = {}
    for node in layer.nodes:
        args = tuple(values[t] for t in node.inputs)
        merged = _merge_node(graph, node.layer, args)
        if merged is not None:
            values[node.output] = merged
            continue
        if id(node.layer) not in owners:
            owners[id(node.layer)] = node.name
            root[node.name] = ex.convert(node.layer, f"node {node.name!r}")
        called = graph.call_module(owners[id(node.layer)], args)
        if node.returns_tuple:   # several outputs: one getitem each, as torch.fx traces them
            for i, name in enumerate(node.outputs):
                values[name] = graph.call_function(operator.getitem, (called, i))
        else:
            values[node.output] = called
    outputs = [values[name] for name in layer.output_names]
    graph.output(outputs[0] if len(outputs) == 1 else tuple(outputs))
    return fx.GraphModule(root, graph, class_name="ConvlensGraph")


def _identifier(name: str) -> str:
    text = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    return text if text and not text[0].isdigit() else f"x_{text}"


try:  # the graph model (convlens.layers.graph) may not be part of this convlens yet
    from convlens.layers.constant import Constant as _Constant
    from convlens.layers.graph import Graph as _Graph
except ImportError:  # pragma: no cover
    pass
else:
    converts(_Graph)(_graph)

    @converts(_Constant)
    def _constant(layer: Any, ex: Exporter) -> nn.Module:
        return T.Constant()


# -- layers with weights -----------------------------------------------------------------------
@converts(_ConvNd)
def _conv(layer: _ConvNd, ex: Exporter) -> nn.Module:
    nd, padding = layer.ndim, layer.padding
    explicit = padding == "same" and any(s != 1 for s in layer.stride)
    if isinstance(padding, tuple):
        if all(lo == hi for lo, hi in padding):
            padding = tuple(lo for lo, _ in padding)
        else:
            explicit = True
    conv = getattr(nn, f"Conv{nd}d")(
        layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride,
        0 if explicit else padding, layer.dilation, layer.groups, layer.bias is not None,
        "zeros" if explicit else layer.padding_mode, dtype=_dtype(layer))
    if not explicit:
        return conv
    return T.PaddedConv(conv.weight, conv.bias, layer.stride, layer.padding, layer.dilation,
                        layer.groups, layer.padding_mode)


@converts(L.Linear)
def _linear(layer: L.Linear, ex: Exporter) -> nn.Module:
    return nn.Linear(layer.in_features, layer.out_features, layer.bias is not None, dtype=_dtype(layer))


@converts(_BatchNorm, _InstanceNorm)
def _channel_norm(layer: Any, ex: Exporter) -> nn.Module:
    name = type(layer).__name__
    cls = T.BATCH_NORM_STATS[layer.ndim] if layer.return_stats else getattr(nn, name)
    return cls(layer.num_features, layer.eps, layer.momentum, affine=layer.affine,
                             track_running_stats=layer.track_running_stats)


@converts(L.GroupNorm)
def _group_norm(layer: L.GroupNorm, ex: Exporter) -> nn.Module:
    return nn.GroupNorm(layer.num_groups, layer.num_channels, layer.eps, layer.affine)


@converts(L.LayerNorm)
def _layer_norm(layer: L.LayerNorm, ex: Exporter) -> nn.Module:
    cls = T.LayerNormWithStats if layer.return_stats else nn.LayerNorm
    return cls(layer.normalized_shape, layer.eps, layer.elementwise_affine,
                        bias=layer.bias is not None)


@converts(L.Embedding)
def _embedding(layer: L.Embedding, ex: Exporter) -> nn.Module:
    return nn.Embedding(layer.num_embeddings, layer.embedding_dim, layer.padding_idx)


# -- pooling ----------------------------------------------------------------------------------
@converts(_PoolNd)
def _pool(layer: _PoolNd, ex: Exporter) -> nn.Module:
    nd = layer.ndim
    if layer.kind == "avg":
        if any(d != 1 for d in layer.dilation):
            raise ConversionError(f"{type(layer).__name__} with dilation {layer.dilation}: "
                                  "PyTorch's average pooling has no dilation")
        return getattr(nn, f"AvgPool{nd}d")(layer.kernel_size, layer.stride, layer.padding,
                                            layer.ceil_mode, layer.count_include_pad)
    maxpool = getattr(nn, f"MaxPool{nd}d")(layer.kernel_size, layer.stride, layer.padding,
                                           layer.dilation, ceil_mode=layer.ceil_mode,
                                           return_indices=layer.return_indices)
    return maxpool if layer.kind == "max" else T.MinPool(maxpool)


@converts(_GlobalPoolNd)
def _global_pool(layer: _GlobalPoolNd, ex: Exporter) -> nn.Module:
    pool = getattr(nn, f"Adaptive{layer.kind.capitalize()}Pool{layer.ndim}d")(1)
    return pool if layer.keepdims else nn.Sequential(pool, nn.Flatten())


@converts(_AdaptivePoolNd)
def _adaptive_pool(layer: _AdaptivePoolNd, ex: Exporter) -> nn.Module:
    return getattr(nn, f"Adaptive{layer.kind.capitalize()}Pool{layer.ndim}d")(layer.output_size)


# -- shape and element-wise layers ----------------------------------------------------------------
@converts(L.Reshape)
def _reshape(layer: L.Reshape, ex: Exporter) -> nn.Module:
    return T.Reshape(layer.shape)


@converts(L.Permute)
def _permute(layer: L.Permute, ex: Exporter) -> nn.Module:
    return T.Permute(layer.dims)


def _mirrored(layer: Module, ex: Exporter) -> nn.Module:
    name = next(c.__name__ for c in type(layer).__mro__ if c.__name__ in MIRRORED)  # (a subclass too)
    if getattr(layer, "always", False) or getattr(layer, "return_mask", False):
        if name != "Dropout":
            raise ConversionError(f"{name} with always= or return_mask=: PyTorch's channel "
                                  "dropout has neither")
        return T.MaskedDropout(layer.p, layer.always, layer.return_mask)
    return getattr(nn, name)(**{arg: getattr(layer, arg) for arg in MIRRORED[name]})


for _name in MIRRORED:
    converts(getattr(L, _name))(_mirrored)


@converts(L.PReLU)
def _prelu(layer: Any, ex: Exporter) -> nn.Module:
    return nn.PReLU(layer.slopes)             # its weight is the layer's own (Exporter._bind)


@converts(L.SELU)
def _selu(layer: Any, ex: Exporter) -> nn.Module:
    from convlens.functional.more_activation import SELU_ALPHA, SELU_SCALE

    if (layer.alpha, layer.scale) != (SELU_ALPHA, SELU_SCALE):
        raise ConversionError(f"SELU(alpha={layer.alpha}, scale={layer.scale}): PyTorch's SELU has "
                              f"only the fixed constants alpha={SELU_ALPHA}, scale={SELU_SCALE}")
    return nn.SELU()


# -- layers of ONNX networks, where this convlens has them -----------------------------------------
if hasattr(L, "Hardtanh"):
    @converts(L.Hardtanh)
    def _hardtanh(layer: Any, ex: Exporter) -> nn.Module:   # ReLU6 too (a subclass)
        if (layer.min_val, layer.max_val) == (0.0, 6.0):
            return nn.ReLU6()
        return nn.Hardtanh(layer.min_val, layer.max_val)

    @converts(L.HardSwish)
    def _hardswish(layer: Any, ex: Exporter) -> nn.Module:
        return nn.Hardswish()

    @converts(L.HardSigmoid)
    def _hardsigmoid(layer: Any, ex: Exporter) -> nn.Module:
        if abs(layer.alpha - 1 / 6) > 1e-12 or layer.beta != 0.5:
            raise ConversionError(f"HardSigmoid(alpha={layer.alpha}, beta={layer.beta}): PyTorch's "
                                  "Hardsigmoid has alpha 1/6 and beta 1/2 only")
        return nn.Hardsigmoid()

if hasattr(L, "Slice"):
    @converts(L.Slice)
    def _slice(layer: Any, ex: Exporter) -> nn.Module:
        return T.Slice(layer.index)

    @converts(L.Pad)
    def _pad(layer: Any, ex: Exporter) -> nn.Module:
        return T.Pad(layer.pads, layer.mode, layer.value)


@converts(L.Upsample)
def _upsample(layer: Any, ex: Exporter) -> nn.Module:
    return nn.Upsample(layer.size, layer.scale_factor, layer.mode, layer.align_corners)


@converts(L.Rescale)
def _rescale(layer: Any, ex: Exporter) -> nn.Module:
    return T.Rescale(torch.from_numpy(layer.scale.copy()), torch.from_numpy(layer.offset.copy()))


@converts(L.ConvTranspose1d, L.ConvTranspose2d, L.ConvTranspose3d)
def _conv_transpose(layer: Any, ex: Exporter) -> nn.Module:
    if any(before != after for before, after in layer.padding):
        raise ConversionError(f"{type(layer).__name__} with padding {layer.padding} (different at the "
                              "two ends) has no PyTorch equivalent")
    return getattr(nn, type(layer).__name__)(
        layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride,
        tuple(before for before, _ in layer.padding), layer.output_padding, layer.groups,
        layer.bias is not None, layer.dilation)
