"""Functions and tensor methods in a traced module -> convlens graph nodes.

One converter per operation, registered for every spelling PyTorch code uses for it: the
function (``torch.add``, ``F.relu``), the operator (``operator.add`` for ``a + b``) and the
method name (``"add"`` for ``x.add(y)``). Numbers and tensors that are not computed from the
input become ``cl.Constant`` nodes.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

import convlens.layers as L
from convlens.io.pytorch.export import ConversionError
from convlens.io.pytorch.importer import Importer, converts_function
from convlens.layers.graph import SymbolicTensor


def _arg(args: list[Any], kwargs: dict[str, Any], index: int, name: str, default: Any = None) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _tensor(ctx: Importer, value: Any, like: SymbolicTensor | None, name: str) -> SymbolicTensor:
    return ctx.operand(value, like, name)


def _axis(dim: int, rank: int, node: Any, what: str) -> int:
    axis = dim + rank if dim < 0 else dim
    if axis == 0:
        raise ConversionError(f"{node.name}: {what} along the batch axis (dim {dim}) is not supported; "
                              "convlens layers keep axis 0 as the batch")
    return axis


# -- element-wise arithmetic ------------------------------------------------------------------------
def _binary(layer_class: type) -> Any:
    def convert(ctx: Importer, args: list[Any], kwargs: dict[str, Any], node: Any) -> SymbolicTensor:
        a, b = args[0], _arg(args, kwargs, 1, "other")
        if kwargs.get("alpha", 1) != 1:
            raise ConversionError(f"{node.name}: alpha={kwargs['alpha']} is not supported")
        like = a if isinstance(a, SymbolicTensor) else b
        inputs = [_tensor(ctx, a, like, f"{node.name}_a"), _tensor(ctx, b, like, f"{node.name}_b")]
        return ctx.apply(layer_class(), inputs, node.name)

    return convert


converts_function(operator.add, operator.iadd, torch.add, "add", "add_")(_binary(L.Add))
converts_function(operator.sub, operator.isub, torch.sub, "sub", "sub_")(_binary(L.Subtract))
converts_function(operator.mul, operator.imul, torch.mul, "mul", "mul_")(_binary(L.Multiply))
converts_function(operator.truediv, operator.itruediv, torch.div, "div", "div_")(_binary(L.Divide))
converts_function(operator.matmul, torch.matmul, "matmul")(_binary(L.MatMul))
converts_function(torch.maximum, "maximum")(_binary(L.Maximum))
converts_function(torch.minimum, "minimum")(_binary(L.Minimum))


@converts_function(operator.neg, torch.neg, "neg")
def _neg(ctx: Importer, args: list[Any], kwargs: dict[str, Any], node: Any) -> SymbolicTensor:
    x = args[0]
    return ctx.apply(L.Multiply(), [x, ctx.constant(-1.0, x, f"{node.name}_minus_one")], node.name)


@converts_function(torch.cat, torch.concat, torch.concatenate)
def _cat(ctx: Importer, args: list[Any], kwargs: dict[str, Any], node: Any) -> SymbolicTensor:
    tensors = list(args[0])
    dim = _arg(args, kwargs, 1, "dim", 0)
    rank = len(ctx.shape(node))
    like = next(t for t in tensors if isinstance(t, SymbolicTensor))
    inputs = [_tensor(ctx, t, like, f"{node.name}_{i}") for i, t in enumerate(tensors)]
    return ctx.apply(L.Concatenate(dim=_axis(dim, rank, node, "concatenation")), inputs, node.name)


# -- activations -----------------------------------------------------------------------------------------
def _unary(build: Any) -> Any:
    def convert(ctx: Importer, args: list[Any], kwargs: dict[str, Any], node: Any) -> SymbolicTensor:
        return ctx.apply(build(args, kwargs), [args[0]], node.name)

    return convert


converts_function(F.relu, torch.relu, torch.relu_, "relu", "relu_")(_unary(lambda a, k: L.ReLU()))
converts_function(torch.sigmoid, F.sigmoid, "sigmoid")(_unary(lambda a, k: L.Sigmoid()))
converts_function(torch.tanh, F.tanh, "tanh")(_unary(lambda a, k: L.Tanh()))
converts_function(F.silu)(_unary(lambda a, k: L.SiLU()))
converts_function(F.gelu)(_unary(lambda a, k: L.GELU(k.get("approximate", "none"))))
converts_function(F.leaky_relu)(_unary(lambda a, k: L.LeakyReLU(_arg(a, k, 1, "negative_slope", 0.01))))
converts_function(F.elu)(_unary(lambda a, k: L.ELU(_arg(a, k, 1, "alpha", 1.0))))
converts_function(F.softmax, torch.softmax, "softmax")(
    _unary(lambda a, k: L.Softmax(dim=_arg(a, k, 1, "dim"))))
converts_function(F.log_softmax, torch.log_softmax, "log_softmax")(
    _unary(lambda a, k: L.LogSoftmax(dim=_arg(a, k, 1, "dim"))))


def clamp(ctx: Importer, x: SymbolicTensor, low: float | None, high: float | None,
          name: str) -> SymbolicTensor:
    """min(max(x, low), high): convlens's ``Hardtanh``/``ReLU6`` where this convlens has them,
    else ``Maximum``/``Minimum`` with constants."""
    if hasattr(L, "Hardtanh"):
        low = -math.inf if low is None else float(low)
        high = math.inf if high is None else float(high)
        layer = L.ReLU6() if (low, high) == (0.0, 6.0) else L.Hardtanh(low, high)
        return ctx.apply(layer, [x], name)
    if low == 0.0 and high is not None:
        x = ctx.apply(L.ReLU(), [x], f"{name}_relu")
    elif low is not None:
        x = ctx.apply(L.Maximum(), [x, ctx.constant(low, x, f"{name}_min")], f"{name}_max")
    if high is not None:
        x = ctx.apply(L.Minimum(), [x, ctx.constant(high, x, f"{name}_max_value")], name)
    return x


def hard_sigmoid(ctx: Importer, x: SymbolicTensor, name: str) -> SymbolicTensor:
    """relu6(x + 3) / 6."""
    if hasattr(L, "HardSigmoid"):
        return ctx.apply(L.HardSigmoid(), [x], name)
    shifted = ctx.apply(L.Add(), [x, ctx.constant(3.0, x, f"{name}_three")], f"{name}_shift")
    clipped = clamp(ctx, shifted, 0.0, 6.0, f"{name}_relu6")
    return ctx.apply(L.Divide(), [clipped, ctx.constant(6.0, x, f"{name}_six")], name)


def hard_swish(ctx: Importer, x: SymbolicTensor, name: str) -> SymbolicTensor:
    """x · relu6(x + 3) / 6."""
    if hasattr(L, "HardSwish"):
        return ctx.apply(L.HardSwish(), [x], name)
    gate = hard_sigmoid(ctx, x, f"{name}_gate")
    return ctx.apply(L.Multiply(), [x, gate], name)


@converts_function(F.relu6)
def _relu6(ctx: Importer, args: list[Any], kwargs: dict[str, Any], node: Any) -> SymbolicTensor:
    return clamp(ctx, args[0], 0.0, 6.0, node.name)


@converts_function(F.hardtanh, torch.clamp, torch.clip, "clamp", "clip")
def _clamp(ctx: Importer, args: list[Any], kwargs: dict[str, Any], node: Any) -> SymbolicTensor:
    hardtanh = node.target is F.hardtanh
    low = _arg(args, kwargs, 1, "min_val" if hardtanh else "min", -1.0 if hardtanh else None)
    high = _arg(args, kwargs, 2, "max_val" if hardtanh else "max", 1.0 if hardtanh else None)
    if isinstance(low, SymbolicTensor) or isinstance(high, SymbolicTensor):
        raise ConversionError(f"{node.name}: clamp with tensor bounds is not supported")
    return clamp(ctx, args[0], low, high, node.name)


@converts_function(F.hardswish)
def _hardswish(ctx: Importer, args: list[Any], kwargs: dict[str, Any], node: Any) -> SymbolicTensor:
    return hard_swish(ctx, args[0], node.name)


@converts_function(F.hardsigmoid)
def _hardsigmoid(ctx: Importer, args: list[Any], kwargs: dict[str, Any], node: Any) -> SymbolicTensor:
    return hard_sigmoid(ctx, args[0], node.name)


@converts_function(F.dropout, F.dropout1d, F.dropout2d, F.dropout3d)
def _dropout(ctx: Importer, args: list[Any], kwargs: dict[str, Any], node: Any) -> SymbolicTensor:
    if not _arg(args, kwargs, 2, "training", True):
        return args[0]                        # F.dropout(x, p, training=False) is the identity
    kind = {F.dropout: "Dropout", F.dropout1d: "Dropout1d", F.dropout2d: "Dropout2d",
            F.dropout3d: "Dropout3d"}[node.target]
    return ctx.apply(getattr(L, kind)(_arg(args, kwargs, 1, "p", 0.5)), [args[0]], node.name)


@converts_function("torchvision.ops.stochastic_depth.stochastic_depth")
def _stochastic_depth(ctx: Importer, args: list[Any], kwargs: dict[str, Any], node: Any) -> SymbolicTensor:
    """torchvision's stochastic depth (EfficientNet, ConvNeXt): the identity in eval mode or
    with p = 0; in training it drops whole examples' branches, which no convlens layer does."""
    p, training = _arg(args, kwargs, 1, "p", 0.0), _arg(args, kwargs, 3, "training", True)
    if training and p > 0:
        raise ConversionError(f"{node.name} (torchvision stochastic_depth, p={p}) in training mode "
                              "has no convlens equivalent; convert the module in eval mode "
                              "(module.eval()), where it is the identity")
    return args[0]


def upsample_layer(size: Any, scale_factor: Any, mode: str, align_corners: Any, recompute: Any,
                   where: str) -> L.Upsample:
    """``nn.Upsample`` / ``F.interpolate`` arguments -> ``cl.Upsample``."""
    if recompute and scale_factor is not None:
        raise ConversionError(f"{where}: recompute_scale_factor=True is not supported (convlens "
                              "resizes with the scale factor given)")
    if mode not in ("nearest", "linear", "bilinear", "trilinear"):
        raise ConversionError(f"{where}: interpolation mode {mode!r} is not supported; expected "
                              "nearest, linear, bilinear or trilinear")
    return L.Upsample(size, scale_factor, mode, align_corners)



@converts_function(F.interpolate, F.upsample)
def _interpolate(ctx: Importer, args: list[Any], kwargs: dict[str, Any], node: Any) -> SymbolicTensor:
    if _arg(args, kwargs, 6, "antialias", False):
        raise ConversionError(f"{node.name}: interpolate with antialias=True is not supported")
    layer = upsample_layer(_arg(args, kwargs, 1, "size"), _arg(args, kwargs, 2, "scale_factor"),
                           _arg(args, kwargs, 3, "mode", "nearest"), _arg(args, kwargs, 4, "align_corners"),
                           _arg(args, kwargs, 5, "recompute_scale_factor"), node.name)
    return ctx.apply(layer, [args[0]], node.name)


@converts_function("contiguous", "clone", torch.clone)
def _same(ctx: Importer, args: list[Any], kwargs: dict[str, Any], node: Any) -> SymbolicTensor:
    return args[0]


# -- shapes ------------------------------------------------------------------------------------------------
@converts_function(torch.flatten, "flatten")
def _flatten(ctx: Importer, args: list[Any], kwargs: dict[str, Any], node: Any) -> SymbolicTensor:
    start = _arg(args, kwargs, 1, "start_dim", 0)
    end = _arg(args, kwargs, 2, "end_dim", -1)
    rank = len(ctx.shape(node.args[0]))
    start = _axis(start, rank, node, "flatten")
    return ctx.apply(L.Flatten(start, end), [args[0]], node.name)


@converts_function("view", "reshape", torch.reshape, "unflatten", torch.unflatten, "squeeze",
                   torch.squeeze, "unsqueeze", torch.unsqueeze, "view_as", "reshape_as")
def _reshape(ctx: Importer, args: list[Any], kwargs: dict[str, Any], node: Any) -> SymbolicTensor:
    before, after = ctx.shape(node.args[0]), ctx.shape(node)
    if not after or after[0] != before[0]:
        raise ConversionError(f"{node.name} ({node.target}): reshaping {before} to {after} changes "
                              "the batch axis; convlens reshapes keep axis 0 as the batch")
    return ctx.apply(L.Reshape(*after[1:]), [args[0]], node.name)


@converts_function("permute", torch.permute, "transpose", torch.transpose, torch.swapaxes, "swapaxes")
def _permute(ctx: Importer, args: list[Any], kwargs: dict[str, Any], node: Any) -> SymbolicTensor:
    rank = len(ctx.shape(node))
    if node.target in ("permute", torch.permute, torch.ops.aten.permute.default):
        dims = list(args[1]) if len(args) == 2 and isinstance(args[1], (list, tuple)) else list(args[1:])
        dims = list(kwargs.get("dims", dims))
        dims = [d + rank if d < 0 else d for d in dims]
    else:
        d0, d1 = (_arg(args, kwargs, 1, "dim0"), _arg(args, kwargs, 2, "dim1"))
        dims = list(range(rank))
        a, b = d0 % rank, d1 % rank
        dims[a], dims[b] = dims[b], dims[a]
    if dims[0] != 0:
        raise ConversionError(f"{node.name}: permutation {dims} moves the batch axis")
    return ctx.apply(L.Permute(*dims), [args[0]], node.name)


def _reduce(kind: str) -> Any:
    """mean / amax over dims: a global pooling over the spatial axes when those are the dims;
    otherwise Permute (reduced axes last) → Reshape (N, kept, reduced) → 1-D global pooling →
    Reshape to the result's shape."""

    def convert(ctx: Importer, args: list[Any], kwargs: dict[str, Any], node: Any) -> SymbolicTensor:
        shape = ctx.shape(node.args[0])
        rank = len(shape)
        dims = _arg(args, kwargs, 1, "dim")
        keepdim = bool(_arg(args, kwargs, 2, "keepdim", False))
        dims = [dims] if isinstance(dims, int) else list(dims or [])
        axes = sorted({d % rank for d in dims})
        if not axes or 0 in axes:
            raise ConversionError(f"{node.name}: {kind.lower()} over dims {dims or 'all'} includes the "
                                  "batch axis; convlens keeps axis 0 as the batch")
        x = args[0]
        if axes == list(range(2, rank)):
            layer = getattr(L, f"Global{kind}Pool{rank - 2}d")(keepdims=keepdim)
            return ctx.apply(layer, [x], node.name)
        kept = [d for d in range(1, rank) if d not in axes]
        if [*kept, *axes] != list(range(1, rank)):
            x = ctx.apply(L.Permute(0, *kept, *axes), [x], f"{node.name}_permute")
        rows = int(np.prod([shape[d] for d in kept], dtype=np.int64))
        x = ctx.apply(L.Reshape(rows, -1), [x], f"{node.name}_rows")
        x = ctx.apply(getattr(L, f"Global{kind}Pool1d")(), [x], f"{node.name}_pool")
        return ctx.apply(L.Reshape(*ctx.shape(node)[1:]), [x], node.name)

    return convert


converts_function(torch.mean, "mean")(_reduce("Avg"))
converts_function(torch.amax, "amax")(_reduce("Max"))


# -- pooling as functions ------------------------------------------------------------------------
def _adaptive(kind: str, nd: int) -> Any:
    def convert(ctx: Importer, args: list[Any], kwargs: dict[str, Any], node: Any) -> SymbolicTensor:
        size = _arg(args, kwargs, 1, "output_size")
        return ctx.apply(getattr(L, f"Adaptive{kind}Pool{nd}d")(size), [args[0]], node.name)

    return convert


for _nd in (1, 2, 3):
    converts_function(getattr(F, f"adaptive_avg_pool{_nd}d"))(_adaptive("Avg", _nd))
    converts_function(getattr(F, f"adaptive_max_pool{_nd}d"))(_adaptive("Max", _nd))


def _max_pool(nd: int) -> Any:
    def convert(ctx: Importer, args: list[Any], kwargs: dict[str, Any], node: Any) -> SymbolicTensor:
        if _arg(args, kwargs, 6, "return_indices", False):
            raise ConversionError(f"{node.name}: max pooling with return_indices=True is not supported")
        kernel = _arg(args, kwargs, 1, "kernel_size")
        layer = getattr(L, f"MaxPool{nd}d")(kernel, _arg(args, kwargs, 2, "stride") or None,
                                            _arg(args, kwargs, 3, "padding", 0),
                                            _arg(args, kwargs, 4, "dilation", 1),
                                            _arg(args, kwargs, 5, "ceil_mode", False))
        return ctx.apply(layer, [args[0]], node.name)

    return convert


def _avg_pool(nd: int) -> Any:
    def convert(ctx: Importer, args: list[Any], kwargs: dict[str, Any], node: Any) -> SymbolicTensor:
        if _arg(args, kwargs, 6, "divisor_override") is not None:
            raise ConversionError(f"{node.name}: average pooling with divisor_override is not supported")
        layer = getattr(L, f"AvgPool{nd}d")(_arg(args, kwargs, 1, "kernel_size"),
                                            _arg(args, kwargs, 2, "stride") or None,
                                            _arg(args, kwargs, 3, "padding", 0),
                                            ceil_mode=_arg(args, kwargs, 4, "ceil_mode", False),
                                            count_include_pad=_arg(args, kwargs, 5,
                                                                   "count_include_pad", True))
        return ctx.apply(layer, [args[0]], node.name)

    return convert


for _nd in (1, 2, 3):
    converts_function(getattr(F, f"max_pool{_nd}d"))(_max_pool(_nd))
    converts_function(getattr(F, f"avg_pool{_nd}d"))(_avg_pool(_nd))


# -- slicing (with convlens's Slice layer, where this convlens has it) ---------------------------
def _slice(ctx: Importer, x: SymbolicTensor, index: tuple[Any, ...], node: Any, name: str) -> SymbolicTensor:
    """``x[:, index…]`` with slices only (the batch axis whole)."""
    return ctx.apply(L.Slice(list(index)), [x], name)


def _pieces(ctx: Importer, args: list[Any], kwargs: dict[str, Any], node: Any) -> tuple[SymbolicTensor, ...]:
    """chunk / split along a non-batch axis: one ``Slice`` per piece (sizes as recorded)."""
    x = args[0]
    rank = len(ctx.shape(node.args[0]))
    dim = _axis(_arg(args, kwargs, 2, "dim", 0), rank, node, "splitting")
    pieces, start = [], 0
    for i, piece in enumerate(ctx.value(node)):
        stop = start + piece.shape[dim]
        index = [slice(None)] * (dim - 1) + [slice(start, stop)]
        pieces.append(_slice(ctx, x, tuple(index), node, f"{node.name}_{i}"))
        start = stop
    return tuple(pieces)


def _getitem(ctx: Importer, args: list[Any], kwargs: dict[str, Any], node: Any) -> Any:
    source, index = args[0], args[1]
    if isinstance(source, (tuple, list)):
        return source[index]                       # one piece of chunk / split
    index = index if isinstance(index, tuple) else (index,)
    if not index or index[0] != slice(None) or not all(isinstance(i, slice) for i in index):
        raise ConversionError(f"{node.name}: indexing {index} is not supported; convlens slices "
                              "with x[:, a:b, …] (the batch axis whole, slices only)")
    return _slice(ctx, source, index[1:], node, node.name)


if hasattr(L, "Slice"):
    converts_function(torch.chunk, "chunk", torch.split, "split")(_pieces)
    converts_function(operator.getitem)(_getitem)
