"""Normalization layers: batch, instance, group and layer normalization.

Each standardizes its input over a group of elements, ``x̂ = (x − μ)/√(σ² + ε)``, then applies
a learned per-feature scale and shift ``y = γ·x̂ + β``. They differ in the group (which
elements share μ and σ²); all four call the one op of :mod:`convlens.functional.normalization`.

    BatchNorm{1,2,3}d    per channel, over the batch and the positions     (N, C, *S)
    InstanceNorm{1,2,3}d per example and channel, over the positions       (N, C, *S)
    GroupNorm            per example and group of channels                 (N, C, *S)
    LayerNorm            per example, over the trailing normalized_shape   (…, *D)

Arguments, parameter and buffer names follow ``torch.nn``, so ``state_dict``s move between
the two libraries. A NaN or infinite value in the input raises ``FloatingPointError`` naming
the layer, the count and the first position, instead of silently turning outputs into NaN.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convlens.functional.normalization import (
    NormCache,
    check_finite,
    group_size,
    normalize_backward,
    normalize_forward,
    statistics_backward,
    unbiased_var,
)
from convlens.layers.module import Module
from convlens.parameter import Parameter

_LAYOUTS = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}


def _positive_int(name: str, arg: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}: {arg} must be a positive int, received {value!r}")
    return int(value)


def _check_eps(name: str, eps: float) -> float:
    if not eps > 0:
        raise ValueError(f"{name}: eps must be > 0 (it keeps 1/√(σ² + ε) finite), received {eps!r}")
    return float(eps)


def _as_float(x: np.ndarray, dtype: Any) -> np.ndarray:
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(dtype)


def _reset_affine(weight: Parameter | None, bias: Parameter | None) -> None:
    """γ = 1, β = 0: the affine part of a normalization starts as the identity."""
    if weight is not None:
        weight.data[...] = 1
    if bias is not None:
        bias.data[...] = 0


def _normalize_finite(name: str, x: np.ndarray, view: np.ndarray, axes: tuple[int, ...],
                      weight: np.ndarray | None, bias: np.ndarray | None, eps: float,
                      channel_axis: int | None = 1) -> tuple[np.ndarray, NormCache]:
    """``normalize_forward(view, …)`` with statistics computed from the input, which must be
    finite: the check reads the computed variance (``check_finite``), and reports positions in
    ``x`` (``view`` is ``x`` itself or a reshaped view of it, e.g. GroupNorm's groups)."""
    with np.errstate(invalid="ignore"):  # inf − inf: check_finite explains it
        y, cache = normalize_forward(view, axes, weight, bias, eps)
    check_finite(name, x, channel_axis, statistics=cache.var)
    return y, cache


def _affine_backward(layer: Any, dy: np.ndarray, cache: Any, need_input_grad: bool
                     ) -> np.ndarray | None:
    """:func:`normalize_backward`, with dγ and dβ accumulated into ``layer.weight`` and
    ``layer.bias`` (when the layer has them); returns dx."""
    dx, dweight, dbias = normalize_backward(dy, cache, need_input_grad)
    for param, grad in ((layer.weight, dweight), (layer.bias, dbias)):
        if param is not None and grad is not None:
            param.accumulate_grad(grad.reshape(param.shape))
    return dx


class _ChannelNorm(Module):
    """Shared by batch and instance norm: per-channel γ, β and optional running statistics.

    Buffers (when ``track_running_stats``): ``running_mean`` (C,) starts at 0,
    ``running_var`` (C,) at 1, ``num_batches_tracked`` counts batch norm's training batches
    (instance norm leaves it at 0, as PyTorch). Each training forward pass updates them with
    ``factor = momentum`` (batch norm with ``momentum=None``: ``1/num_batches_tracked``, a
    cumulative average)::

        running_mean ← (1 − factor)·running_mean + factor·μ
        running_var  ← (1 − factor)·running_var  + factor·σ²·m/(m − 1)

    Normalization uses the biased variance σ²; the running variance tracks the unbiased one
    (m values per statistic), exactly as PyTorch.
    """

    ndim = 2

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype: Any = np.float32,
        return_stats: bool = False,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.num_features = _positive_int(name, "num_features", num_features)
        #: batch norm only: also return the statistics it normalized with (see _BatchNorm)
        self.return_stats = bool(return_stats)
        self.eps = _check_eps(name, eps)
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(
                f"{name}: momentum must be in [0, 1] (the weight of the new batch in the running "
                f"averages) or None (cumulative average), received {momentum!r}"
            )
        self.momentum = None if momentum is None else float(momentum)
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        c = self.num_features
        self.weight = Parameter(np.ones(c, dtype=dtype)) if affine else None
        self.bias = Parameter(np.zeros(c, dtype=dtype)) if affine else None
        self.running_mean: np.ndarray | None = None
        self.running_var: np.ndarray | None = None
        self.num_batches_tracked: np.ndarray | None = None
        if self.track_running_stats:
            self.register_buffer("running_mean", np.zeros(c, dtype=dtype))
            self.register_buffer("running_var", np.ones(c, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        self._cache: NormCache | None = None

    def reset_running_stats(self) -> None:
        for buffer, value in ((self.running_mean, 0), (self.running_var, 1),
                              (self.num_batches_tracked, 0)):
            if buffer is not None:
                buffer[...] = value

    def reset_parameters(self) -> None:
        """γ = 1, β = 0 (the identity transform) and fresh running statistics."""
        self.reset_running_stats()
        _reset_affine(self.weight, self.bias)

    # -- input checks --------------------------------------------------------------------
    def _accepted_ranks(self) -> tuple[int, ...]:
        return (self.ndim + 2,)

    @property
    def input_layout(self) -> str:  # type: ignore[override]
        layouts = " or ".join("(N, C)" if r == 2 else _LAYOUTS.get(r - 2, f"(N, C, …{r - 2} axes)")
                              for r in self._accepted_ranks())
        return f"{layouts} with C={self.num_features}"

    def _check_input(self, x: np.ndarray) -> np.ndarray:
        name = type(self).__name__
        c = self.num_features
        ranks = self._accepted_ranks()
        layouts = " or ".join(
            "(N, C)" if r == 2 else _LAYOUTS.get(r - 2, f"(N, C, …{r - 2} axes)") for r in ranks)
        if x.ndim not in ranks:
            hints = []
            if x.ndim == ranks[-1] - 1 and x.ndim >= 2:
                hints.append(f"for a single example add a batch axis: x[None] has shape "
                             f"{(1, *x.shape)}")
            if x.ndim >= 3 and x.ndim - 2 in _LAYOUTS:
                hints.append(f"for a batch {_LAYOUTS[x.ndim - 2]} use {name[:-2]}{x.ndim - 2}d")
            hint = "".join(f"; {h}" for h in hints)
            raise ValueError(
                f"{name} expects a {' or '.join(f'{r}-D' for r in ranks)} input {layouts} with "
                f"C={c}, received shape {x.shape} ({x.ndim}-D){hint}"
            )
        if x.shape[1] != c:
            raise ValueError(
                f"{name}({c}) expects {c} channels (num_features) in the layout {layouts}, "
                f"received shape {x.shape} with C={x.shape[1]}"
            )
        return _as_float(x, np.float32 if self.weight is None else self.weight.dtype)

    # -- computation ---------------------------------------------------------------------
    def _stat_axes(self, ndim: int) -> tuple[int, ...]:
        raise NotImplementedError

    def _check_spread(self, x: np.ndarray, m: int) -> None:
        """Refuse groups of one value when a variance has to be estimated from them."""

    def _factor(self) -> float:
        """The weight of this batch in the running averages (batch norm counts batches)."""
        return 0.0 if self.momentum is None else self.momentum

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = self._check_input(x)
        axes = self._stat_axes(x.ndim)
        view = (1, -1) + (1,) * (x.ndim - 2)
        weight = None if self.weight is None else self.weight.data.reshape(view)
        bias = None if self.bias is None else self.bias.data.reshape(view)
        running_mean, running_var = self.running_mean, self.running_var
        if running_mean is None or running_var is None or self.training:
            m = group_size(x.shape, axes)
            self._check_spread(x, m)
            # checked before the running statistics are updated
            y, cache = _normalize_finite(type(self).__name__, x, x, axes, weight, bias, self.eps)
            if running_mean is not None and running_var is not None and self.training:
                # per channel: batch norm has one statistic, instance norm one per example,
                # whose batch average is tracked (as PyTorch)
                c = self.num_features
                mean = cache.mean.reshape(-1, c).mean(axis=0)
                var = unbiased_var(cache.var.reshape(-1, c), m).mean(axis=0)
                factor = self._factor()
                running_mean[...] = (1 - factor) * running_mean + factor * mean
                running_var[...] = (1 - factor) * running_var + factor * var
        else:
            check_finite(type(self).__name__, x)
            y, cache = normalize_forward(
                x, axes, weight, bias, self.eps,
                mean=running_mean.reshape(view).astype(x.dtype, copy=False),
                var=running_var.reshape(view).astype(x.dtype, copy=False))
        self._cache = cache
        if self.return_stats:
            c = self.num_features
            return (y, cache.mean.reshape(c).astype(y.dtype),
                    cache.var.reshape(c).astype(y.dtype))
        return y

    @property
    def unbatched_outputs(self) -> tuple[int, ...]:
        """In a graph, the statistics outputs (C,) have no batch axis."""
        return (1, 2) if self.return_stats else ()

    def backward(self, dy: Any, need_input_grad: bool = True) -> np.ndarray | None:
        d_mean = d_var = None
        if self.return_stats:
            dy, d_mean, d_var = dy
        cache = self._cached()
        dx = _affine_backward(self, dy, cache, need_input_grad)
        if dx is not None and cache.batch_stats and (d_mean is not None or d_var is not None):
            dx = (dx + statistics_backward(cache, d_mean, d_var)).astype(dx.dtype, copy=False)
        return dx

    def get_config(self) -> dict[str, Any]:
        config = {"num_features": self.num_features, "eps": self.eps, "momentum": self.momentum,
                  "affine": self.affine, "track_running_stats": self.track_running_stats}
        if self.return_stats:
            config["return_stats"] = True
        return config


class _BatchNorm(_ChannelNorm):
    """Batch normalization: each channel standardized over the batch and all positions.

    Args:
        num_features: C, the number of channels.
        eps: ε added to the variance.
        momentum: weight of each new batch in the running averages; ``None`` for a
            cumulative (equal-weight) average of all batches so far.
        affine: learn γ (``weight``, init 1) and β (``bias``, init 0) per channel.
        track_running_stats: keep running averages of μ and σ² and normalize with them in
            eval mode; when False batch statistics are used in both modes.
        dtype: dtype of the parameters and running statistics.

    Shape: input (N, C, *S), output the same. Per channel c, over the m = N·∏S values:

        training:  y = γ_c·(x − μ_B)/√(σ²_B + ε) + β_c    (σ²_B biased; buffers updated)
        eval:      y = γ_c·(x − running_mean_c)/√(running_var_c + ε) + β_c

    In training the output of one example depends on the whole batch, so the backward
    pass includes the gradient through μ_B and σ²_B (see the functional module).

    ``return_stats=True``: ``y, mean, var = bn(x)`` also returns the statistics it normalized
    with, (C,) each: μ_B and the biased σ²_B when it uses the batch (training, or
    ``track_running_stats=False``; their gradients join dL/dx), the running averages in eval.
    In a graph they have no batch axis.
    """

    def _stat_axes(self, ndim: int) -> tuple[int, ...]:
        return (0, *range(2, ndim))

    def _check_spread(self, x: np.ndarray, m: int) -> None:
        if self.training and m <= 1:
            raise ValueError(
                f"{type(self).__name__}: in training each channel needs more than 1 value "
                f"to estimate a variance, received shape {x.shape} (1 value per channel); "
                "use a batch of 2 or more examples, or call .eval() to use the running "
                "statistics"
            )

    def _factor(self) -> float:
        tracked = self.num_batches_tracked
        if tracked is None:
            return 0.0
        tracked[...] += 1  # in place: the buffer itself
        return 1.0 / float(tracked) if self.momentum is None else self.momentum


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) feature vectors (after a Linear) or (N, C, L) sequences.

    >>> import numpy as np, convlens as cl
    >>> cl.BatchNorm1d(4)(np.random.default_rng(0).normal(3, 2, (16, 4))).std(axis=0).round(2)
    array([1., 1., 1., 1.])
    """

    ndim = 1

    def _accepted_ranks(self) -> tuple[int, ...]:
        return (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over images (N, C, H, W): one μ, σ², γ, β per channel."""

    ndim = 2


class BatchNorm3d(_BatchNorm):
    """Batch norm over volumes and clips (N, C, D, H, W)."""

    ndim = 3


class _InstanceNorm(_ChannelNorm):
    """Instance normalization: each example's channel standardized over its own positions.

    Args as batch norm, with PyTorch's defaults ``affine=False``, ``track_running_stats=False``
    (statistics come from the example itself, in training and in eval). ``momentum`` must be a
    number here (PyTorch silently stops updating the running averages with ``None``).

    Shape: input (N, C, *S), output the same. Per example n and channel c, over the m = ∏S
    positions: y = γ_c·(x − μ_nc)/√(σ²_nc + ε) + β_c.

    With ``track_running_stats=True`` training updates the running averages with the mean
    over the batch of the per-instance μ_nc and unbiased σ²_nc·m/(m − 1), and eval mode
    normalizes with them, as PyTorch does.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = False, track_running_stats: bool = False,
                 dtype: Any = np.float32) -> None:
        if momentum is None:
            raise ValueError(
                f"{type(self).__name__}: momentum must be a number in [0, 1], received None "
                "(the cumulative average is available for batch norm only)"
            )
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype)

    def _stat_axes(self, ndim: int) -> tuple[int, ...]:
        return tuple(range(2, ndim))

    def _check_spread(self, x: np.ndarray, m: int) -> None:
        if m <= 1:
            raise ValueError(
                f"{type(self).__name__}: each instance needs more than 1 position to "
                f"estimate a variance, received shape {x.shape}"
            )


class InstanceNorm1d(_InstanceNorm):
    """Instance norm over sequences (N, C, L)."""

    ndim = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance norm over images (N, C, H, W) (style transfer's "contrast normalization")."""

    ndim = 2


class InstanceNorm3d(_InstanceNorm):
    """Instance norm over volumes (N, C, D, H, W)."""

    ndim = 3


class GroupNorm(Module):
    """Group normalization: channels split into groups, each standardized per example.

    Args:
        num_groups: G; ``num_channels`` must be divisible by it. G = 1 normalizes all
            channels together (layer norm over (C, *S)); G = C is instance norm.
        num_channels: C.
        eps: ε added to the variance.
        affine: learn a per-channel γ (``weight``, init 1) and β (``bias``, init 0).

    Shape: input (N, C, *S), output the same. For example n and group g, over the
    m = (C/G)·∏S values of channels g·C/G … (g + 1)·C/G − 1:
    y = γ_c·(x − μ_ng)/√(σ²_ng + ε) + β_c. Independent of the batch: same in train and eval.
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, dtype: Any = np.float32) -> None:
        super().__init__()
        name = type(self).__name__
        self.num_groups = _positive_int(name, "num_groups", num_groups)
        self.num_channels = _positive_int(name, "num_channels", num_channels)
        if num_channels % num_groups:
            raise ValueError(
                f"{name}: num_channels must be divisible by num_groups, received "
                f"num_channels={num_channels}, num_groups={num_groups} ({num_channels} % "
                f"{num_groups} = {num_channels % num_groups})"
            )
        self.eps = _check_eps(name, eps)
        self.affine = bool(affine)
        self.weight = Parameter(np.ones(num_channels, dtype=dtype)) if affine else None
        self.bias = Parameter(np.zeros(num_channels, dtype=dtype)) if affine else None
        self._cache: tuple[NormCache, tuple[int, ...]] | None = None

    def reset_parameters(self) -> None:
        _reset_affine(self.weight, self.bias)

    @property
    def input_layout(self) -> str:  # type: ignore[override]
        return f"(N, C, *) with C={self.num_channels}"

    def forward(self, x: np.ndarray) -> np.ndarray:
        name = type(self).__name__
        c, g = self.num_channels, self.num_groups
        if x.ndim < 2 or x.shape[1] != c:
            raise ValueError(
                f"{name}({g}, {c}) expects an input (N, C, *) with C={c} (num_channels), "
                f"received shape {x.shape}"
            )
        x = _as_float(x, np.float32 if self.weight is None else self.weight.dtype)
        grouped = x.reshape(x.shape[0], g, c // g, *x.shape[2:])  # (N, G, C/G, *S)
        param_shape = (1, g, c // g) + (1,) * (x.ndim - 2)
        weight = None if self.weight is None else self.weight.data.reshape(param_shape)
        bias = None if self.bias is None else self.bias.data.reshape(param_shape)
        y, cache = _normalize_finite(name, x, grouped, tuple(range(2, grouped.ndim)), weight, bias,
                                     self.eps)
        self._cache = (cache, x.shape)
        return y.reshape(x.shape)

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        cache, shape = self._cached()
        dy = dy.reshape(cache.xhat.shape)
        dx = _affine_backward(self, dy, cache, need_input_grad)
        return None if dx is None else dx.reshape(shape)

    def get_config(self) -> dict[str, Any]:
        return {"num_groups": self.num_groups, "num_channels": self.num_channels,
                "eps": self.eps, "affine": self.affine}


class LayerNorm(Module):
    """Layer normalization: each example standardized over its trailing ``normalized_shape``.

    Args:
        normalized_shape: D, an int or a tuple: the last len(D) axes of the input.
        eps: ε added to the variance.
        elementwise_affine: learn γ (``weight``, shape D, init 1) and β (``bias``, init 0).
        bias: with ``elementwise_affine``, also learn β.
        return_stats: also return the statistics, ``y, mean, inv_std = layer(x)`` (as ONNX's
            LayerNormalization and ``torch.native_layer_norm`` do).

    Shape: input (…, *D), output the same. Over the m = ∏D values of each leading index:
    y = γ ⊙ (x − μ)/√(σ² + ε) + β. Independent of the batch: same in train and eval.
    With ``return_stats``, ``mean`` = μ and ``inv_std`` = r = 1/√(σ² + ε) have the input's
    shape with the axes of D set to 1, and their gradients join the input's:
    ∂μ/∂x = 1/m, ∂r/∂x = −r³(x − μ)/m = −r²·x̂/m.
    """

    def __init__(self, normalized_shape: int | tuple[int, ...], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True,
                 dtype: Any = np.float32, return_stats: bool = False) -> None:
        super().__init__()
        name = type(self).__name__
        self.return_stats = bool(return_stats)
        if isinstance(normalized_shape, (int, np.integer)):
            normalized_shape = (normalized_shape,)
        shape = tuple(normalized_shape)
        if not shape:
            raise ValueError(f"{name}: normalized_shape must hold at least one axis, received ()")
        for n in shape:
            _positive_int(name, "every size in normalized_shape", n)
        self.normalized_shape = tuple(int(n) for n in shape)
        self.eps = _check_eps(name, eps)
        self.elementwise_affine = bool(elementwise_affine)
        affine = self.elementwise_affine
        self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype)) if affine else None
        self.bias = (Parameter(np.zeros(self.normalized_shape, dtype=dtype))
                     if affine and bias else None)
        self._cache: NormCache | None = None

    def reset_parameters(self) -> None:
        _reset_affine(self.weight, self.bias)

    @property
    def input_layout(self) -> str:  # type: ignore[override]
        return f"(N, …, {', '.join(map(str, self.normalized_shape))})"

    def forward(self, x: np.ndarray) -> np.ndarray:
        name = type(self).__name__
        d = self.normalized_shape
        k = len(d)
        if x.ndim < k or tuple(x.shape[x.ndim - k:]) != d:
            raise ValueError(
                f"{name} expects the last {k} axes of its input to be {d} (normalized_shape), "
                f"received shape {x.shape}"
            )
        x = _as_float(x, self.weight.dtype if self.weight is not None else np.float32)
        axes = tuple(range(x.ndim - k, x.ndim))
        y, cache = _normalize_finite(
            name, x, x, axes, None if self.weight is None else self.weight.data,
            None if self.bias is None else self.bias.data, self.eps, channel_axis=None)
        self._cache = cache
        if self.return_stats:
            return y, cache.mean.astype(y.dtype, copy=False), cache.inv_std.astype(y.dtype, copy=False)
        return y

    def backward(self, dy: Any, need_input_grad: bool = True) -> np.ndarray | None:
        d_mean = d_inv_std = None
        if self.return_stats:
            dy, d_mean, d_inv_std = dy
        cache = self._cached()
        dx = _affine_backward(self, dy, cache, need_input_grad)
        if dx is not None and (d_mean is not None or d_inv_std is not None):
            extra = statistics_backward(cache, d_mean, d_inv_std=d_inv_std)
            dx = (dx + extra).astype(dx.dtype, copy=False)
        return dx

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"normalized_shape": self.normalized_shape, "eps": self.eps,
                                  "elementwise_affine": self.elementwise_affine}
        if self.elementwise_affine and self.bias is None:
            config["bias"] = False
        if self.return_stats:
            config["return_stats"] = True
        return config

