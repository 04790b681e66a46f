"""PyTorch twins of convlens layers: the reference every parity test compares with.

``torch_twin(layer)`` builds the ``torch.nn`` module that computes what ``layer`` should compute
and copies the weights into it through ``load_state_dict``, so a twin only loads when the
convlens ``state_dict`` keys and shapes are PyTorch's. ``check_parity(layer, x)`` then runs both
forward and backward with the same upstream gradient and compares the output, dL/dx and the
gradient of every parameter.

Where PyTorch has no such layer the twin is written from torch primitives, independently of the
convlens code:

* ``padding='same'`` with stride > 1 (PyTorch refuses it) and asymmetric ``(before, after)``
  padding: ``F.pad`` with TensorFlow's documented rule, then a convolution without padding.
* ``MinPool``: ``-max_pool(-x)``.
* dilated ``AvgPool``: a depthwise convolution with a kernel of ones, divided by the same
  convolution of an indicator of the positions that count.
* ``Reshape`` and ``Residual``: a few lines of torch.

Also here: ``LossModule`` (a loss seen as a layer, for ``cl.gradcheck``) and the optimizer
problem (``quadratic_grad``, ``torch_trajectory``, ``run_steps``) that convlens and
``torch.optim`` both solve step by step.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import convlens as cl
from convlens.layers.conv import _ConvNd
from convlens.layers.pool import _PoolNd

# Relative tolerance per dtype; the absolute tolerance is the same times max(1, max|reference|),
# so a gradient summed over many positions is judged against its own size.
TOL = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-5}

TORCH_DTYPE = {np.dtype(np.float64): torch.float64, np.dtype(np.float32): torch.float32}

_CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
_MAXPOOL = {1: nn.MaxPool1d, 2: nn.MaxPool2d, 3: nn.MaxPool3d}
_AVGPOOL = {1: nn.AvgPool1d, 2: nn.AvgPool2d, 3: nn.AvgPool3d}
_TORCH_PAD_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate",
                   "circular": "circular"}


# -- helpers -------------------------------------------------------------------------------
def tensor(a: np.ndarray, requires_grad: bool = False) -> torch.Tensor:
    return torch.from_numpy(np.array(a, copy=True)).requires_grad_(requires_grad)


def numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy()


def assert_close(actual: np.ndarray, expected: torch.Tensor | np.ndarray, what: str,
                 dtype: np.dtype | None = None) -> None:
    """``|actual − expected| <= tol·|expected| + tol·max(1, max|expected|)``, shapes equal."""
    expected = numpy(expected) if isinstance(expected, torch.Tensor) else np.asarray(expected)
    actual = np.asarray(actual)
    assert actual.shape == expected.shape, (
        f"{what}: shape {actual.shape}, PyTorch {expected.shape}")
    tol = TOL[np.dtype(dtype or expected.dtype)]
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * scale, err_msg=what)


def tf_same_padding(n: int, k: int, s: int, d: int) -> tuple[int, int]:
    """TensorFlow's documented 'SAME' rule (``tf.nn`` convolution docs), written out here
    independently of convlens: ``pad = max(k_eff − s, 0)`` if ``n % s == 0`` else
    ``max(k_eff − n % s, 0)``; the odd pixel goes after."""
    k_eff = d * (k - 1) + 1
    total = max(k_eff - s, 0) if n % s == 0 else max(k_eff - n % s, 0)
    return total // 2, total - total // 2


def torch_pad_arg(pairs: Sequence[tuple[int, int]]) -> list[int]:
    """((lo_1, hi_1), …, (lo_n, hi_n)) -> F.pad's last-axis-first list."""
    out: list[int] = []
    for lo, hi in reversed(list(pairs)):
        out += [lo, hi]
    return out


# -- twins -----------------------------------------------------------------------------------
class ExplicitPadConv(nn.Module):
    """Pad with ``F.pad`` (pairs, or TensorFlow 'same' computed from the input), then convolve
    without padding. Holds ``weight`` and ``bias`` directly so the state_dict keys match."""

    def __init__(self, conv: nn.Module, padding: str | tuple, mode: str) -> None:
        super().__init__()
        self.weight, self.bias = conv.weight, conv.bias
        self.nd = conv.weight.ndim - 2
        self.stride, self.dilation, self.groups = conv.stride, conv.dilation, conv.groups
        self.padding, self.mode = padding, _TORCH_PAD_MODE[mode]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.padding == "same":
            pairs = [tf_same_padding(n, k, s, d) for n, k, s, d in zip(
                x.shape[2:], self.weight.shape[2:], self.stride, self.dilation)]
        else:
            pairs = list(self.padding)
        x = F.pad(x, torch_pad_arg(pairs), mode=self.mode)
        conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[self.nd]
        return conv(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class MinPool(nn.Module):
    def __init__(self, maxpool: nn.Module) -> None:
        super().__init__()
        self.maxpool = maxpool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -self.maxpool(-x)


class DilatedAvgPool(nn.Module):
    """Average pooling with dilation (PyTorch has none), from torch convolutions: the window
    sum is a depthwise convolution with a kernel of ones, the divisor the same convolution of
    an indicator of the positions that count. Output sizes (incl. ``ceil_mode``) come from
    torch's max pooling, which has dilation."""

    def __init__(self, kernel, stride, padding, dilation, ceil_mode, count_include_pad):
        super().__init__()
        self.kernel, self.stride, self.padding = kernel, stride, padding
        self.dilation, self.ceil_mode = dilation, ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nd = len(self.kernel)
        maxpool = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[nd]
        out = maxpool(x.detach(), self.kernel, self.stride, self.padding, self.dilation,
                      ceil_mode=self.ceil_mode).shape[2:]
        pairs = []
        for n, k, s, p, d, o in zip(x.shape[2:], self.kernel, self.stride, self.padding,
                                    self.dilation, out):
            extra = max((o - 1) * s + d * (k - 1) + 1 - (n + 2 * p), 0)
            pairs.append((p, p + extra))
        channels = x.shape[1]
        ones = torch.ones(channels, 1, *self.kernel, dtype=x.dtype)
        conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[nd]
        total = conv(F.pad(x, torch_pad_arg(pairs)), ones, None, self.stride, 0, self.dilation,
                     channels)
        if self.count_include_pad:   # the padded input counts, the ceil_mode overhang not
            inside = F.pad(torch.ones_like(x[:1]), torch_pad_arg([(p, p) for p in self.padding]),
                           value=1.0)
            inside = F.pad(inside, torch_pad_arg([(0, hi - lo) for lo, hi in pairs]))
        else:
            inside = F.pad(torch.ones_like(x[:1]), torch_pad_arg(pairs))
        count = conv(inside, ones, None, self.stride, 0, self.dilation, channels)
        return total / count


class Reshape(nn.Module):
    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)


class Concat(nn.Module):
    def __init__(self, branches: list[nn.Module], dim: int) -> None:
        super().__init__()
        self.branches = nn.ModuleList(branches)
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([b(x) for b in self.branches], self.dim)


class Permute(nn.Module):
    def __init__(self, dims: tuple[int, ...]) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(*self.dims)


class Residual(nn.Module):
    def __init__(self, body: nn.Module, shortcut: nn.Module | None) -> None:
        super().__init__()
        self.body = body
        self.shortcut = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + (x if self.shortcut is None else self.shortcut(x))


def _conv_twin(layer: _ConvNd) -> nn.Module:
    nd = layer.ndim
    dtype = TORCH_DTYPE[layer.weight.dtype]
    stride = layer.stride
    padding = layer.padding
    explicit = False
    if padding == "same" and any(s != 1 for s in stride):
        explicit = True                      # PyTorch refuses 'same' with stride > 1
    elif isinstance(padding, tuple):
        if all(lo == hi for lo, hi in padding):
            padding = tuple(lo for lo, _ in padding)
        else:
            explicit = True                  # asymmetric (before, after) pairs
    common = dict(kernel_size=layer.kernel_size, stride=stride, dilation=layer.dilation,
                  groups=layer.groups, bias=layer.bias is not None, dtype=dtype)
    if explicit:
        conv = _CONV[nd](layer.in_channels, layer.out_channels, padding=0, **common)
        return ExplicitPadConv(conv, padding, layer.padding_mode)
    return _CONV[nd](layer.in_channels, layer.out_channels, padding=padding,
                     padding_mode=layer.padding_mode, **common)


def _pool_twin(layer: _PoolNd) -> nn.Module:
    nd = layer.ndim
    if layer.kind == "avg":
        if layer.dilation != (1,) * nd:
            return DilatedAvgPool(layer.kernel_size, layer.stride, layer.padding,
                                  layer.dilation, layer.ceil_mode, layer.count_include_pad)
        return _AVGPOOL[nd](layer.kernel_size, layer.stride, layer.padding,
                            ceil_mode=layer.ceil_mode, count_include_pad=layer.count_include_pad)
    maxpool = _MAXPOOL[nd](layer.kernel_size, layer.stride, layer.padding, layer.dilation,
                           ceil_mode=layer.ceil_mode, return_indices=layer.return_indices)
    return maxpool if layer.kind == "max" else MinPool(maxpool)


def _build(layer: cl.Module) -> nn.Module:
    if isinstance(layer, (cl.Graph, cl.Constant)) or layer.num_inputs != 1:
        return _graph_twin(layer)
    if isinstance(layer, _ConvNd):
        return _conv_twin(layer)
    if isinstance(layer, _PoolNd):
        return _pool_twin(layer)
    if isinstance(layer, cl.Linear):
        return nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None,
                         dtype=TORCH_DTYPE[layer.weight.dtype])
    if isinstance(layer, cl.Sequential):
        return nn.Sequential(*(_build(child) for child in layer))
    if isinstance(layer, cl.Residual):
        return Residual(_build(layer.body),
                        None if layer.shortcut is None else _build(layer.shortcut))
    if isinstance(layer, cl.Concat):
        return Concat([_build(b) for b in layer.branches], layer.dim)
    if isinstance(layer, cl.LayerNorm):
        return LayerNorm(layer)
    if isinstance(layer, cl.Permute):
        return Permute(tuple(layer.dims))
    if isinstance(layer, (cl.BatchNorm1d, cl.BatchNorm2d, cl.BatchNorm3d)):
        cls = {cl.BatchNorm1d: nn.BatchNorm1d, cl.BatchNorm2d: nn.BatchNorm2d,
               cl.BatchNorm3d: nn.BatchNorm3d}[type(layer)]
        if layer.return_stats:
            cls = type("BatchNormStats", (BatchNormStats, cls), {})
        return cls(layer.num_features, layer.eps, layer.momentum, affine=layer.weight is not None,
                   track_running_stats=layer.track_running_stats,
                   dtype=TORCH_DTYPE[(layer.weight if layer.weight is not None else layer.running_mean).dtype])
    if isinstance(layer, (cl.GlobalAvgPool1d, cl.GlobalAvgPool2d, cl.GlobalAvgPool3d,
                          cl.GlobalMaxPool1d, cl.GlobalMaxPool2d, cl.GlobalMaxPool3d)):
        nd = int(type(layer).__name__[-2])
        kind = "Avg" if "Avg" in type(layer).__name__ else "Max"
        return nn.Sequential(getattr(nn, f"Adaptive{kind}Pool{nd}d")(1), nn.Flatten())
    if isinstance(layer, cl.Dropout):
        return nn.Dropout(layer.p)
    if isinstance(layer, cl.Embedding):
        return nn.Embedding(layer.num_embeddings, layer.embedding_dim, layer.padding_idx,
                            dtype=TORCH_DTYPE[layer.weight.dtype])
    if isinstance(layer, cl.Flatten):
        return nn.Flatten(layer.start_dim, layer.end_dim)
    if isinstance(layer, cl.Reshape):
        return Reshape(layer.shape)
    if isinstance(layer, cl.LogSoftmax):      # before Softmax: LogSoftmax subclasses it
        return nn.LogSoftmax(dim=layer.dim)
    if isinstance(layer, cl.Softmax):
        return nn.Softmax(dim=layer.dim)
    if isinstance(layer, cl.LeakyReLU):
        return nn.LeakyReLU(layer.negative_slope)
    if isinstance(layer, cl.ELU):
        return nn.ELU(layer.alpha)
    if isinstance(layer, cl.GELU):
        return nn.GELU(approximate=layer.approximate)
    simple = {cl.ReLU: nn.ReLU, cl.Sigmoid: nn.Sigmoid, cl.Tanh: nn.Tanh, cl.SiLU: nn.SiLU,
              cl.Identity: nn.Identity}
    for cls, twin in simple.items():
        if type(layer) is cls:
            return twin()
    raise NotImplementedError(f"no PyTorch twin for {type(layer).__name__}")


def torch_twin(layer: cl.Module) -> nn.Module:
    """The PyTorch module equivalent to ``layer``, holding a copy of its weights.

    The copy goes through ``load_state_dict(strict=True)``: a key or shape that differs from
    PyTorch's fails here.
    """
    twin = _build(layer)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in layer.state_dict().items()},
                         strict=True)
    twin.train(layer.training)
    return twin


# -- parity ------------------------------------------------------------------------------------
def check_parity(layer: cl.Module, x: np.ndarray, seed: int = 0,
                 dy: np.ndarray | None = None) -> np.ndarray:
    """Forward value, dL/dx and every parameter gradient of ``layer`` equal PyTorch's.

    Returns the convlens output. The upstream gradient is standard normal unless given.
    """
    if isinstance(x, tuple) or isinstance(layer, cl.Graph):
        return _check_graph_parity(layer, x if isinstance(x, tuple) else (x,), seed)
    dtype = x.dtype
    twin = torch_twin(layer)
    xt = tensor(x, requires_grad=True)
    yt = twin(xt)
    y = layer(x)
    assert y.dtype == dtype, f"output dtype {y.dtype} for a {dtype} input"
    assert_close(y, yt, "forward", dtype)

    if dy is None:
        dy = np.random.default_rng(seed).standard_normal(y.shape).astype(dtype)
    layer.zero_grad()
    dx = layer.backward(dy)
    yt.backward(tensor(dy))
    assert dx is not None and dx.dtype == dtype, f"dL/dx dtype {getattr(dx, 'dtype', None)}"
    assert_close(dx, xt.grad, "dL/dx", dtype)
    _check_parameter_grads(layer, twin, dtype)
    return y


def _check_parameter_grads(layer: cl.Module, twin: nn.Module, dtype: np.dtype) -> None:

    torch_params = dict(twin.named_parameters())
    ours = dict(layer.named_parameters())
    assert sorted(ours) == sorted(torch_params), (sorted(ours), sorted(torch_params))
    for name, p in ours.items():
        assert p.grad is not None, f"{name}.grad was not set by backward"
        assert p.grad.dtype == dtype, f"{name}.grad dtype {p.grad.dtype}"
        assert_close(p.grad, torch_params[name].grad, f"dL/d{name}", dtype)


def fan_in_bound(shape: Sequence[int]) -> float:
    """PyTorch's default Conv/Linear bound 1/√fan_in, from torch's own fan computation."""
    fan_in, _ = nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    return 1 / math.sqrt(fan_in)


class LossModule(cl.Module):
    """A loss with its target fixed, seen as a layer ``prediction -> loss`` so that
    ``cl.gradcheck`` can check ``loss.backward`` by central differences (mean/sum losses come
    out as a 1-element array)."""

    def __init__(self, loss: cl.Loss, target: np.ndarray) -> None:
        super().__init__()
        self.loss, self.target = loss, target

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.atleast_1d(np.asarray(self.loss(x, self.target), dtype=np.float64))

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray:
        upstream = dy if self.loss.reduction == "none" else float(dy[0])
        return self.loss.backward(upstream)


# -- graph models ------------------------------------------------------------------------------
# The twin of a cl.Graph is an interpreter written with torch: a dict of tensors filled node by
# node; torch's autograd (not convlens's graph code) adds the gradients of shared tensors.
_MERGE_OPS = {
    "Add": lambda xs: functools.reduce(torch.add, xs),
    "Subtract": lambda xs: xs[0] - xs[1],
    "Multiply": lambda xs: functools.reduce(torch.mul, xs),
    "Divide": lambda xs: xs[0] / xs[1],
    "Maximum": lambda xs: functools.reduce(torch.maximum, xs),
    "Minimum": lambda xs: functools.reduce(torch.minimum, xs),
    "Mean": lambda xs: functools.reduce(torch.add, xs) / len(xs),
    "MatMul": lambda xs: torch.matmul(xs[0], xs[1]),
}


class Merge(nn.Module):
    def __init__(self, layer: cl.Module) -> None:
        super().__init__()
        self.kind, self.dim = type(layer).__name__, getattr(layer, "dim", None)

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        if self.kind == "Concatenate":
            return torch.cat(xs, self.dim)
        return _MERGE_OPS[self.kind](xs)


class LayerNorm(nn.LayerNorm):
    """``nn.LayerNorm``, or with ``return_stats`` the formula written out so that autograd
    also differentiates the mean and 1/√(σ² + ε) it returns."""

    def __init__(self, layer: cl.LayerNorm) -> None:
        dtype = TORCH_DTYPE[layer.weight.dtype] if layer.weight is not None else torch.float32
        super().__init__(layer.normalized_shape, layer.eps, layer.elementwise_affine,
                         bias=layer.bias is not None, dtype=dtype)
        self.return_stats = layer.return_stats

    def forward(self, x: torch.Tensor):
        if not self.return_stats:
            return super().forward(x)
        dims = tuple(range(x.ndim - len(self.normalized_shape), x.ndim))
        mean = x.mean(dims, keepdim=True)   # the statistics by their definition
        inv_std = 1 / torch.sqrt(((x - mean) ** 2).mean(dims, keepdim=True) + self.eps)
        return super().forward(x), mean, inv_std


class BatchNormStats:
    """Mixin for ``nn.BatchNormNd``: also return μ and the biased σ² it normalized with."""

    def forward(self, x: torch.Tensor):
        y = super().forward(x)
        if self.training or not self.track_running_stats:
            dims = [0, *range(2, x.ndim)]
            mean = x.mean(dims)
            return y, mean, ((x - mean.reshape(1, -1, *[1] * (x.ndim - 2))) ** 2).mean(dims)
        return y, self.running_mean, self.running_var


class Constant(nn.Module):
    def __init__(self, layer: cl.Constant) -> None:
        super().__init__()
        value = torch.from_numpy(np.array(layer.array, copy=True))
        if layer.trainable:
            self.value = nn.Parameter(value)
        else:
            self.register_buffer("value", value)

    def forward(self) -> torch.Tensor:
        return self.value


class Graph(nn.Module):
    """Runs the nodes of a ``cl.Graph`` in order with torch twins of their layers; a shared
    layer is one torch module, registered under its first node's name."""

    def __init__(self, graph: cl.Graph) -> None:
        super().__init__()
        self.plan = [(node.name, list(node.inputs), node.outputs if node.returns_tuple else None)
                     for node in graph.nodes]
        self.input_names, self.output_names = graph.input_names, graph.output_names
        twins: dict[int, nn.Module] = {}
        self.by_node: dict[str, nn.Module] = {}
        for node in graph.nodes:
            if id(node.layer) not in twins:
                twins[id(node.layer)] = _build(node.layer)
                self.add_module(node.name, twins[id(node.layer)])
            self.by_node[node.name] = twins[id(node.layer)]

    def forward(self, *xs: torch.Tensor):
        values = dict(zip(self.input_names, xs))
        for name, inputs, outputs in self.plan:
            y = self.by_node[name](*(values[t] for t in inputs))
            values.update(zip(outputs, y) if outputs else [(name, y)])
        outputs = tuple(values[name] for name in self.output_names)
        return outputs[0] if len(outputs) == 1 else outputs


def _graph_twin(layer: cl.Module) -> nn.Module:
    if isinstance(layer, cl.Graph):
        return Graph(layer)
    if isinstance(layer, cl.Constant):
        return Constant(layer)
    return Merge(layer)


def _check_graph_parity(layer: cl.Module, xs: tuple[np.ndarray, ...], seed: int) -> Any:
    """:func:`check_parity` for several inputs and/or outputs (a graph model)."""
    dtype = xs[0].dtype
    twin = torch_twin(layer)
    xts = [tensor(x, requires_grad=True) for x in xs]
    yts = twin(*xts)
    ys = layer(*xs)
    several = isinstance(ys, tuple)
    ys, yts = (ys, yts) if several else ((ys,), (yts,))
    rng = np.random.default_rng(seed)
    dys = []
    for i, (y, yt) in enumerate(zip(ys, yts)):
        assert y.dtype == dtype, f"output {i} dtype {y.dtype} for a {dtype} input"
        assert_close(y, yt, f"forward (output {i})", dtype)
        dys.append(rng.standard_normal(y.shape).astype(dtype))
    layer.zero_grad()
    dx = layer.backward(tuple(dys) if several else dys[0])
    torch.autograd.backward(list(yts), [tensor(d) for d in dys])
    dxs = dx if isinstance(dx, tuple) else (dx,)   # a merge layer answers a tuple always
    assert len(dxs) == len(xs)
    for i, (d, xt) in enumerate(zip(dxs, xts)):
        assert d is not None and d.dtype == dtype, f"dL/dx{i} dtype {getattr(d, 'dtype', None)}"
        expected = xt.grad if xt.grad is not None else torch.zeros_like(xt)
        assert_close(d, expected, f"dL/dx{i}", dtype)
    _check_parameter_grads(layer, twin, dtype)
    return ys if several else ys[0]


# -- optimizers ---------------------------------------------------------------------------------
SHAPES = [(3, 4), (5,), (2, 1, 3, 3)]


def quadratic_grad(data: np.ndarray, step: int, index: int) -> np.ndarray:
    """A gradient that depends on the current weights (a pull towards 1 with curvature) plus
    a per-step disturbance, so a trajectory that drifts off drifts further."""
    noise = np.random.default_rng(1000 * step + index).standard_normal(data.shape)
    return (data - 1.0) * (1.0 + 0.5 * data**2) + noise


def torch_trajectory(torch_cls: type, steps: int, kwargs: dict, seed: int = 0,
                     skip: tuple[int, int] | None = None) -> list[list[np.ndarray]]:
    """Weights after every step of ``torch_cls`` on the ``quadratic_grad`` problem.

    ``skip=(i, period)``: parameter ``i`` has no gradient (``None``) on steps divisible by
    ``period`` (it must be left untouched, state included)."""
    params = initial_weights(seed)
    tparams = [torch.nn.Parameter(torch.from_numpy(p.copy())) for p in params]
    opt = torch_cls(tparams, **kwargs)
    history = []
    for t in range(steps):
        for i, p in enumerate(tparams):
            if skip and i == skip[0] and t % skip[1] == 0:
                p.grad = None
            else:
                p.grad = torch.from_numpy(quadratic_grad(p.detach().numpy(), t, i))
        opt.step()
        history.append([p.detach().numpy().copy() for p in tparams])
    return history


def initial_weights(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for shape in SHAPES]


def run_steps(opt: cl.optim.Optimizer, steps: range,
              skip: tuple[int, int] | None = None) -> list[list[np.ndarray]]:
    """Drive a convlens optimizer through ``steps`` of the same problem (same gradients as
    :func:`torch_trajectory` for the same weights)."""
    history = []
    for t in steps:
        for i, p in enumerate(opt.params):
            if skip and i == skip[0] and t % skip[1] == 0:
                p.grad = None
            else:
                p.grad = quadratic_grad(p.data, t, i)
        opt.step()
        history.append([p.data.copy() for p in opt.params])
    return history
