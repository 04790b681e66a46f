"""Small ``torch.nn`` modules for convlens layers that PyTorch has no single module for.

Each holds its parameters under the names the convlens layer uses (``weight``, ``bias``,
``body``, ``branches``), so state dicts keep the same keys in both libraries.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

_PAD_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate",
             "circular": "circular"}
_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's 'same' rule (convlens's too): output ⌈n/s⌉, the odd pixel after."""
    span = dilation * (kernel - 1) + 1
    total = max(span - stride, 0) if size % stride == 0 else max(span - size % stride, 0)
    return total // 2, total - total // 2


def pad_argument(pairs: Sequence[tuple[int, int]]) -> list[int]:
    """((before_1, after_1), …) per spatial axis -> ``F.pad``'s last-axis-first list."""
    flat: list[int] = []
    for before, after in reversed(list(pairs)):
        flat += [before, after]
    return flat


class PaddedConv(nn.Module):
    """A convolution whose padding PyTorch's Conv modules cannot express: 'same' with
    stride > 1, or different padding before and after. Pads with ``F.pad``, then convolves
    without padding."""

    def __init__(self, weight: nn.Parameter, bias: nn.Parameter | None, stride: tuple[int, ...],
                 padding: str | tuple[tuple[int, int], ...], dilation: tuple[int, ...],
                 groups: int, padding_mode: str) -> None:
        super().__init__()
        self.weight = weight
        self.bias = bias
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.groups, self.mode = groups, _PAD_MODE[padding_mode]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.padding == "same":
            pairs = [same_padding(n, k, s, d) for n, k, s, d in
                     zip(x.shape[2:], self.weight.shape[2:], self.stride, self.dilation)]
        else:
            pairs = list(self.padding)
        x = F.pad(x, pad_argument(pairs), mode=self.mode)
        conv = _CONV[self.weight.ndim - 2]
        return conv(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class MinPool(nn.Module):
    """Min pooling as ``−maxpool(−x)``."""

    def __init__(self, maxpool: nn.Module) -> None:
        super().__init__()
        self.maxpool = maxpool

    def forward(self, x: torch.Tensor):
        if self.maxpool.return_indices:
            y, indices = self.maxpool(-x)
            return -y, indices
        return -self.maxpool(-x)


class Reshape(nn.Module):
    """(N, *) -> (N, *shape), as ``convlens.Reshape``."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)


class Permute(nn.Module):
    """``x.permute(*dims)``, as ``convlens.Permute``."""

    def __init__(self, dims: tuple[int, ...]) -> None:
        super().__init__()
        self.dims = tuple(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(*self.dims)


class Residual(nn.Module):
    """``body(x) + shortcut(x)`` (identity shortcut when None), as ``convlens.Residual``."""

    def __init__(self, body: nn.Module, shortcut: nn.Module | None) -> None:
        super().__init__()
        self.body = body
        self.shortcut = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + (x if self.shortcut is None else self.shortcut(x))


class Concat(nn.Module):
    """Branches on the same input, concatenated along ``dim``, as ``convlens.Concat``."""

    def __init__(self, branches: list[nn.Module], dim: int) -> None:
        super().__init__()
        self.branches = nn.ModuleList(branches)
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches], self.dim)


class Constant(nn.Module):
    """A graph's constant: returns ``value`` (a parameter when trainable, else a buffer),
    as ``convlens.Constant``."""

    def forward(self) -> torch.Tensor:
        return self.value


class Slice(nn.Module):
    """``x[:, index…]``, as ``convlens.Slice``."""

    def __init__(self, index: tuple[slice, ...]) -> None:
        super().__init__()
        self.index = tuple(index)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[(slice(None), *self.index)]


class Pad(nn.Module):
    """``F.pad`` of the trailing axes, as ``convlens.Pad`` (pairs counted from the end)."""

    def __init__(self, pads: tuple[tuple[int, int], ...], mode: str, value: float) -> None:
        super().__init__()
        self.pads, self.mode, self.value = tuple(pads), mode, value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pairs = self.pads[-(x.ndim - 1):]
        mode = {"edge": "replicate", "wrap": "circular"}.get(self.mode, self.mode)
        return F.pad(x, pad_argument(pairs), mode=mode, value=self.value if mode == "constant" else None)


class LayerNormWithStats(nn.LayerNorm):
    """``nn.LayerNorm`` that also returns the mean and 1/√(σ² + ε) over the normalized axes
    (shape of the input with those axes 1), differentiable like convlens's
    ``LayerNorm(return_stats=True)`` (``torch.native_layer_norm`` returns them without a
    gradient)."""

    def forward(self, x: torch.Tensor):  # type: ignore[override]
        dims = tuple(range(x.ndim - len(self.normalized_shape), x.ndim))
        mean = x.mean(dims, keepdim=True)
        inv_std = torch.rsqrt(x.var(dims, unbiased=False, keepdim=True) + self.eps)
        y = (x - mean) * inv_std
        if self.weight is not None:
            y = y * self.weight
        if self.bias is not None:
            y = y + self.bias
        return y, mean, inv_std


class MaskedDropout(nn.Module):
    """Dropout that may drop in eval mode too (``always``) and may return its keep-mask
    (``return_mask``), as convlens's ``Dropout(always=…, return_mask=…)``; masks come from
    torch's generator."""

    def __init__(self, p: float, always: bool, return_mask: bool) -> None:
        super().__init__()
        self.p, self.always, self.return_mask = p, always, return_mask

    def forward(self, x: torch.Tensor):
        if (self.training or self.always) and self.p > 0:
            mask = torch.rand_like(x) >= self.p
            y = torch.where(mask, x / (1 - self.p), torch.zeros_like(x)) if self.p < 1 else x * 0
        else:
            mask, y = torch.ones_like(x, dtype=torch.bool), x
        return (y, mask) if self.return_mask else y


class BatchNormStats:
    """Mixin for ``nn.BatchNormNd``: also return the statistics it normalized with, (C,) each
    (the batch's μ and biased σ² when it uses the batch, else the running ones), as
    convlens's ``BatchNorm2d(return_stats=True)``."""

    def forward(self, x: torch.Tensor):
        y = super().forward(x)  # type: ignore[misc]
        if self.training or not self.track_running_stats:  # type: ignore[attr-defined]
            axes = [0, *range(2, x.ndim)]
            return y, x.mean(axes), x.var(axes, unbiased=False)
        return y, self.running_mean, self.running_var  # type: ignore[attr-defined]


BATCH_NORM_STATS = {n: type(f"BatchNorm{n}dStats", (BatchNormStats, getattr(nn, f"BatchNorm{n}d")), {})
                    for n in (1, 2, 3)}


class Rescale(nn.Module):
    """y = x·scale + offset over the channel axis (convlens's ``Rescale``), as buffers."""

    def __init__(self, scale: torch.Tensor, offset: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("scale", scale)
        self.register_buffer("offset", offset)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (-1,) + (1,) * (x.dim() - 2)
        scale = self.scale if self.scale.dim() == 0 else self.scale.reshape(shape)
        offset = self.offset if self.offset.dim() == 0 else self.offset.reshape(shape)
        return x * scale.to(x.dtype) + offset.to(x.dtype)
