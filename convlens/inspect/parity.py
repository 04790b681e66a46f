"""Compare a convlens model with PyTorch: same weights, same input, same upstream gradient.

    report = parity(cl.models.get_model("lenet5"), x)
    print(report)            # max difference of the output, dL/dx and every parameter gradient

``torch_twin(model)`` builds the ``torch.nn`` module that computes what ``model`` computes,
layer by layer, with the same attribute names (``Sequential`` children ``0``, ``1``, …,
``Residual``'s ``body`` and ``shortcut``), so the convlens ``state_dict`` loads into it
unchanged. ``parity`` then runs forward and backward in both with the same random upstream
gradient and reports, for the output, dL/dx and each parameter's gradient, the largest
absolute difference and that difference relative to the size of PyTorch's values.

PyTorch is imported only when these functions run; without it they raise an ``ImportError``
that says how to install it. It is a reference for checking, never needed for training.
Dropout layers are compared in eval mode (no random masks); every other layer runs in the
model's own mode (batch norm in training mode uses the batch statistics on both sides).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from convlens.layers import activation as act
from convlens.layers import merge
from convlens.layers.constant import Constant
from convlens.layers.container import Residual, Sequential
from convlens.layers.conv import _ConvNd
from convlens.layers.dropout import Dropout
from convlens.layers.global_pool import _AdaptivePoolNd, _GlobalPoolNd
from convlens.layers.graph import Graph
from convlens.layers.linear import Linear
from convlens.layers.module import Module
from convlens.layers.normalization import GroupNorm, LayerNorm, _BatchNorm, _InstanceNorm
from convlens.layers.pixel_shuffle import PixelShuffle, PixelUnshuffle
from convlens.layers.pool import _PoolNd
from convlens.layers.shape import Flatten, Reshape
from convlens.layers.shape_extra import Permute

MERGE_LAYERS = (merge.Add, merge.Subtract, merge.Multiply, merge.Divide, merge.Maximum,
                merge.Minimum, merge.Mean, merge.MatMul, merge.Concatenate)

TORCH_MISSING = (
    "PyTorch is not installed; the parity check compares convlens with it. Install the CPU "
    "build with: pip install torch --index-url https://download.pytorch.org/whl/cpu"
)


def import_torch() -> Any:
    """``torch``, or an ``ImportError`` that says how to install it."""
    try:
        import torch
    except ImportError as err:  # pragma: no cover - torch is installed where tests run
        raise ImportError(TORCH_MISSING) from err
    return torch


@dataclass
class TensorDifference:
    name: str
    shape: tuple[int, ...]
    max_abs: float        # max |convlens − torch|
    max_rel: float        # max_abs / max(1, max |torch|)


@dataclass
class ParityReport:
    """Differences per compared tensor: ``'output'``, ``'input grad'``, ``'<param> grad'``."""

    dtype: str
    differences: list[TensorDifference] = field(default_factory=list)

    @property
    def max_abs(self) -> float:
        return max((d.max_abs for d in self.differences), default=0.0)

    @property
    def max_rel(self) -> float:
        return max((d.max_rel for d in self.differences), default=0.0)

    def ok(self, tol: float | None = None) -> bool:
        """All relative differences within ``tol`` (default 1e-5 for float32, 1e-10 float64)."""
        if tol is None:
            tol = 1e-10 if self.dtype == "float64" else 1e-5
        return self.max_rel <= tol

    def __getitem__(self, name: str) -> TensorDifference:
        for d in self.differences:
            if d.name == name:
                return d
        raise KeyError(name)

    def __str__(self) -> str:
        width = max([len(d.name) for d in self.differences] + [6])
        lines = [f"convlens vs PyTorch ({self.dtype})",
                 f"{'tensor':<{width}}  {'shape':<18}  {'max |diff|':>10}  {'relative':>10}"]
        for d in self.differences:
            lines.append(f"{d.name:<{width}}  {str(d.shape):<18}  {d.max_abs:>10.3e}  "
                         f"{d.max_rel:>10.3e}")
        lines.append(f"largest difference {self.max_abs:.3e} (relative {self.max_rel:.3e})")
        return "\n".join(lines)


def _pairs_to_torch(pairs: Any) -> list[int]:
    """((lo_1, hi_1), …) -> F.pad's last-axis-first list."""
    out: list[int] = []
    for lo, hi in reversed(list(pairs)):
        out += [int(lo), int(hi)]
    return out


def _twin_classes(torch: Any) -> dict[str, type]:
    """Small torch modules for convlens layers PyTorch has no exact class for."""
    nn, F = torch.nn, torch.nn.functional

    class PaddedConv(nn.Module):  # type: ignore[name-defined]
        """Explicit padding (asymmetric pairs, or 'same' with stride > 1), then a convolution."""

        def __init__(self, layer: _ConvNd, dtype: Any) -> None:
            super().__init__()
            self.layer = layer
            shape = layer.weight.shape
            self.weight = nn.Parameter(torch.empty(shape, dtype=dtype))
            self.bias = (nn.Parameter(torch.empty(shape[0], dtype=dtype))
                         if layer.bias is not None else None)

        def forward(self, x: Any) -> Any:
            from convlens.functional.conv_arithmetic import resolve_padding

            layer = self.layer
            pairs = resolve_padding(layer.padding, tuple(x.shape[2:]), layer.kernel_size,
                                    layer.stride, layer.dilation)
            mode = {"zeros": "constant", "replicate": "replicate", "reflect": "reflect",
                    "circular": "circular"}[layer.padding_mode]
            x = F.pad(x, _pairs_to_torch(pairs), mode=mode)
            conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[layer.ndim]
            return conv(x, self.weight, self.bias, layer.stride, 0, layer.dilation, layer.groups)

    class Lambda(nn.Module):  # type: ignore[name-defined]
        def __init__(self, fn: Callable[[Any], Any]) -> None:
            super().__init__()
            self.fn = fn

        def forward(self, x: Any) -> Any:
            return self.fn(x)

    class TorchResidual(nn.Module):  # type: ignore[name-defined]
        def __init__(self, body: Any, shortcut: Any) -> None:
            super().__init__()
            self.body = body
            self.shortcut = shortcut

        def forward(self, x: Any) -> Any:
            return self.body(x) + (x if self.shortcut is None else self.shortcut(x))

    class TorchGraph(nn.Module):  # type: ignore[name-defined]
        """Runs a ``cl.Graph``'s nodes in order; torch's autograd adds fanned-out gradients.
        A shared layer is one module, registered under its first node's name."""

        def __init__(self, graph: Graph, build: Callable[[Module], Any]) -> None:
            super().__init__()
            self.plan = [(node.name, list(node.inputs), node.outputs if node.returns_tuple else None)
                         for node in graph.nodes]
            self.input_names, self.output_names = graph.input_names, graph.output_names
            twins: dict[int, Any] = {}
            self.by_node: dict[str, Any] = {}
            for node in graph.nodes:
                if id(node.layer) not in twins:
                    if "." in node.name:
                        raise TypeError(f"parity needs graph node names without dots (PyTorch "
                                        f"module names cannot hold them): {node.name!r}")
                    twins[id(node.layer)] = build(node.layer)
                    self.add_module(node.name, twins[id(node.layer)])
                self.by_node[node.name] = twins[id(node.layer)]

        def forward(self, *xs: Any) -> Any:
            values = dict(zip(self.input_names, xs))
            for name, inputs, outputs in self.plan:
                y = self.by_node[name](*(values[t] for t in inputs))
                values.update(zip(outputs, y) if outputs else [(name, y)])   # several outputs
            outputs = tuple(values[name] for name in self.output_names)
            return outputs[0] if len(outputs) == 1 else outputs

    class TorchMerge(nn.Module):  # type: ignore[name-defined]
        def __init__(self, fn: Callable[..., Any]) -> None:
            super().__init__()
            self.fn = fn

        def forward(self, *xs: Any) -> Any:
            return self.fn(*xs)

    class TorchConstant(nn.Module):  # type: ignore[name-defined]
        def __init__(self, layer: Constant, dtype: Any) -> None:
            super().__init__()
            value = torch.from_numpy(np.array(layer.array, copy=True))
            if layer.trainable:
                self.value = nn.Parameter(value.to(dtype))
            else:
                self.register_buffer("value", value)

        def forward(self) -> Any:
            return self.value

    return {"PaddedConv": PaddedConv, "Lambda": Lambda, "Residual": TorchResidual,
            "Graph": TorchGraph, "Merge": TorchMerge, "Constant": TorchConstant}


def _merge_function(m: Module, torch: Any) -> Callable[..., Any]:
    """The torch function of a merge layer (``Add`` … ``Concatenate``)."""
    import functools

    def fold(op: Callable[[Any, Any], Any]) -> Callable[..., Any]:
        return lambda *xs: functools.reduce(op, xs)

    functions: dict[str, Callable[..., Any]] = {
        "Add": fold(torch.add), "Multiply": fold(torch.mul),
        "Maximum": fold(torch.maximum), "Minimum": fold(torch.minimum),
        "Subtract": lambda a, b: a - b, "Divide": lambda a, b: a / b,
        "Mean": lambda *xs: functools.reduce(torch.add, xs) / len(xs),
        "MatMul": torch.matmul,
        "Concatenate": lambda *xs: torch.cat(xs, getattr(m, "dim", 1)),
    }
    return functions[type(m).__name__]


def torch_twin(model: Module, dtype: Any = None) -> Any:
    """The ``torch.nn`` twin of ``model`` with the same parameter names and values.

    Raises ``TypeError`` naming the first layer that has no twin.
    """
    torch = import_torch()
    if dtype is None:
        params = model.parameters()
        dtype = params[0].dtype if params else np.float32
    tdtype = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}[np.dtype(dtype)]
    classes = _twin_classes(torch)
    twin = _build(model, torch, tdtype, classes)
    state = {k: torch.from_numpy(np.array(v, copy=True)) for k, v in model.state_dict().items()}
    own = twin.state_dict()
    missing = [k for k in dict(model.named_parameters()) if k not in own]
    if missing:  # pragma: no cover - a twin built here always has the names
        raise TypeError(f"the PyTorch twin has no parameters named {missing}")
    twin.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items() if k in own},
                         strict=False)
    return twin


def _build(m: Module, torch: Any, dtype: Any, classes: dict[str, type]) -> Any:
    nn = torch.nn
    Lambda = classes["Lambda"]
    name = type(m).__name__
    several = [f for f in ("return_stats", "return_indices", "return_mask") if getattr(m, f, False)]
    if several:
        raise TypeError(f"{name} with {several[0]}=True has several outputs; parity compares layers "
                        "with one output")
    if isinstance(m, Sequential):
        return nn.Sequential(*[_build(c, torch, dtype, classes) for c in m.layers])
    if isinstance(m, Residual):
        shortcut = None if m.shortcut is None else _build(m.shortcut, torch, dtype, classes)
        return classes["Residual"](_build(m.body, torch, dtype, classes), shortcut)
    if isinstance(m, Graph):
        return classes["Graph"](m, lambda layer: _build(layer, torch, dtype, classes))
    if isinstance(m, Constant):
        return classes["Constant"](m, dtype)
    if isinstance(m, MERGE_LAYERS):
        return classes["Merge"](_merge_function(m, torch))
    if isinstance(m, _ConvNd):
        pad = m.padding
        stride_one = all(s == 1 for s in m.stride)
        if pad == "valid" or (pad == "same" and stride_one):
            torch_pad: Any = pad
        elif isinstance(pad, tuple) and all(lo == hi for lo, hi in pad):
            torch_pad = tuple(lo for lo, _ in pad)
        else:
            return classes["PaddedConv"](m, dtype)
        if pad == "same" and any((d * (k - 1)) % 2 for k, d in zip(m.kernel_size, m.dilation)):
            return classes["PaddedConv"](m, dtype)  # even windows: keep TensorFlow's split
        conv = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[m.ndim]
        return conv(m.in_channels, m.out_channels, m.kernel_size, m.stride, torch_pad,
                    m.dilation, m.groups, m.bias is not None, m.padding_mode, dtype=dtype)
    if isinstance(m, _PoolNd):
        if m.kind == "avg" and any(d != 1 for d in m.dilation):
            raise TypeError(f"{name}: PyTorch has no dilated average pooling to compare with")
        if m.kind == "avg":
            pool = {1: nn.AvgPool1d, 2: nn.AvgPool2d, 3: nn.AvgPool3d}[m.ndim]
            return pool(m.kernel_size, m.stride, m.padding, m.ceil_mode, m.count_include_pad)
        pool = {1: nn.MaxPool1d, 2: nn.MaxPool2d, 3: nn.MaxPool3d}[m.ndim]
        mp = pool(m.kernel_size, m.stride, m.padding, m.dilation, ceil_mode=m.ceil_mode)
        return mp if m.kind == "max" else Lambda(lambda x, mp=mp: -mp(-x))
    if isinstance(m, _GlobalPoolNd):
        axes = tuple(range(2, 2 + m.ndim))
        if m.kind == "avg":
            return Lambda(lambda x: x.mean(dim=axes, keepdim=m.keepdims))
        return Lambda(lambda x: x.amax(dim=axes, keepdim=m.keepdims))
    if isinstance(m, _AdaptivePoolNd):
        size = m.output_size
        if m.kind == "avg":
            return {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d, 3: nn.AdaptiveAvgPool3d}[m.ndim](size)
        return {1: nn.AdaptiveMaxPool1d, 2: nn.AdaptiveMaxPool2d, 3: nn.AdaptiveMaxPool3d}[m.ndim](size)
    if isinstance(m, Linear):
        return nn.Linear(m.in_features, m.out_features, m.bias is not None, dtype=dtype)
    if isinstance(m, _BatchNorm):
        bn = {"BatchNorm1d": nn.BatchNorm1d, "BatchNorm2d": nn.BatchNorm2d,
              "BatchNorm3d": nn.BatchNorm3d}[name]
        return bn(m.num_features, m.eps, m.momentum, m.affine, m.track_running_stats, dtype=dtype)
    if isinstance(m, _InstanceNorm):
        inorm = {"InstanceNorm1d": nn.InstanceNorm1d, "InstanceNorm2d": nn.InstanceNorm2d,
                 "InstanceNorm3d": nn.InstanceNorm3d}[name]
        return inorm(m.num_features, m.eps, m.momentum, m.affine, m.track_running_stats,
                     dtype=dtype)
    if isinstance(m, GroupNorm):
        return nn.GroupNorm(m.num_groups, m.num_channels, m.eps, m.affine, dtype=dtype)
    if isinstance(m, LayerNorm):
        return nn.LayerNorm(m.normalized_shape, m.eps, m.elementwise_affine, dtype=dtype)
    if isinstance(m, Dropout):
        return nn.Identity()  # compared in eval mode
    if isinstance(m, Flatten):
        return nn.Flatten(m.start_dim, m.end_dim)
    if isinstance(m, Reshape):
        return Lambda(lambda x: x.reshape(x.shape[0], *m.shape))
    if isinstance(m, Permute):
        return Lambda(lambda x: x.permute(*m.dims))
    if isinstance(m, PixelShuffle):
        return nn.PixelShuffle(m.upscale_factor)
    if isinstance(m, PixelUnshuffle):
        return nn.PixelUnshuffle(m.downscale_factor)
    simple: dict[type, Callable[[], Any]] = {
        act.ReLU: nn.ReLU, act.Sigmoid: nn.Sigmoid, act.Tanh: nn.Tanh, act.SiLU: nn.SiLU,
        act.Identity: nn.Identity,
    }
    if type(m) in simple:
        return simple[type(m)]()
    if isinstance(m, act.LeakyReLU):
        return nn.LeakyReLU(m.negative_slope)
    if isinstance(m, act.ELU):
        return nn.ELU(m.alpha)
    if isinstance(m, act.GELU):
        return nn.GELU(approximate=m.approximate)
    if isinstance(m, act.LogSoftmax):
        return nn.LogSoftmax(dim=m.dim)
    if isinstance(m, act.Softmax):
        return nn.Softmax(dim=m.dim)
    raise TypeError(f"no PyTorch twin for {name}; parity supports the standard layers, "
                    f"Sequential, Residual and Graph")


def _difference(name: str, ours: np.ndarray, theirs: np.ndarray) -> TensorDifference:
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    if ours.shape != theirs.shape:
        raise ValueError(f"{name}: convlens shape {ours.shape}, PyTorch shape {theirs.shape}")
    max_abs = float(np.abs(ours - theirs).max(initial=0.0))
    scale = max(1.0, float(np.abs(theirs).max(initial=0.0)))
    return TensorDifference(name, ours.shape, max_abs, max_abs / scale)


def parity(model: Module, x: np.ndarray, seed: int = 0) -> ParityReport:
    """Run ``model`` and its PyTorch twin on ``x``; compare output, dL/dx and gradients.

    The upstream gradient dL/dy is a random normal array (seeded), the same for both. The
    model's parameter gradients are restored afterwards; its buffers (batch norm running
    statistics) are put back as they were.
    """
    torch = import_torch()
    params = list(model.named_parameters())
    dtype = np.dtype(params[0][1].dtype if params else np.float32)
    x = np.asarray(x, dtype=dtype)
    twin = torch_twin(model, dtype)
    saved_state = model.state_dict()
    saved_grads = [(p, None if p.grad is None else p.grad.copy()) for _, p in params]
    dropouts = [m for m in model.modules() if isinstance(m, Dropout)]
    modes = [m.training for m in dropouts]
    for m in dropouts:
        m.training = False
    twin.train(model.training)
    try:
        for _, p in params:
            p.grad = None
        y = model(x)
        dy = np.random.default_rng(seed).standard_normal(y.shape).astype(dtype)
        dx = model.run_backward(dy.copy())
        tx = torch.from_numpy(np.array(x, copy=True)).requires_grad_(True)
        ty = twin(tx)
        ty.backward(torch.from_numpy(dy))
        report = ParityReport(str(dtype))
        report.differences.append(_difference("output", y, ty.detach().numpy()))
        assert tx.grad is not None and dx is not None
        report.differences.append(_difference("input grad", dx, tx.grad.numpy()))
        torch_params = dict(twin.named_parameters())
        for name, p in params:
            grad = np.zeros_like(p.data) if p.grad is None else p.grad
            tgrad = torch_params[name].grad
            theirs = np.zeros(p.shape) if tgrad is None else tgrad.numpy()
            report.differences.append(_difference(f"{name} grad", grad, theirs))
    finally:
        for m, mode in zip(dropouts, modes):
            m.training = mode
        for p, saved in saved_grads:
            p.grad = saved
        model.load_state_dict(saved_state)
    return report
