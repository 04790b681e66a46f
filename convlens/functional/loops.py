"""Plain-loop convolution and pooling: the seeds' nested loops, for any number of axes.

This is the slow, obviously-correct version, written the way the seed notes write it: loop over
the examples, the output channels and every output position, take the window, multiply and add.
It exists to teach and to check the fast im2col version against (the test suite compares them),
and ``convlens.functional.use_loops()`` switches the layers to it so a learner can feel the
difference. Same signatures and caches as :mod:`~convlens.functional.conv` and
:mod:`~convlens.functional.pool`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from convlens.functional.conv import check_conv_input
from convlens.functional.conv_arithmetic import (
    PaddingSpec,
    Pairs,
    as_tuple,
    output_shape,
    resolve_padding,
)
from convlens.functional.padding import pad, pad_backward
from convlens.functional.pool import pool_geometry


def _window(out_index, kernel, stride, dilation) -> tuple[slice, ...]:
    """Slices of the padded input seen by output position ``out_index``."""
    return tuple(slice(i * s, i * s + d * (k - 1) + 1, d)
                 for i, k, s, d in zip(out_index, kernel, stride, dilation))


@dataclass
class LoopConvCache:
    xp: np.ndarray
    weight: np.ndarray
    has_bias: bool
    pads: Pairs
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    groups: int
    padding_mode: str
    out_spatial: tuple[int, ...]


def conv_forward_loops(x, weight, bias=None, stride=1, padding: PaddingSpec = 0, dilation=1,
                       groups=1, padding_mode="zeros", name=None):
    nd = weight.ndim - 2
    name = name or f"Conv{nd}d"
    check_conv_input(name, x, weight, groups)
    kernel = weight.shape[2:]
    stride, dilation = as_tuple(stride, nd, "stride"), as_tuple(dilation, nd, "dilation")
    pads = resolve_padding(padding, x.shape[2:], kernel, stride, dilation)
    out = output_shape(name, x.shape[2:], kernel, stride, pads, dilation)
    xp = pad(x, pads, padding_mode)
    n_batch, c_out, c_group = x.shape[0], weight.shape[0], weight.shape[1]
    per_group = c_out // groups
    y = np.zeros((n_batch, c_out, *out), dtype=np.result_type(x, weight))
    for n in range(n_batch):
        for o in range(c_out):
            g = o // per_group
            channels = slice(g * c_group, (g + 1) * c_group)
            for pos in itertools.product(*(range(s) for s in out)):
                region = xp[(n, channels, *_window(pos, kernel, stride, dilation))]
                y[(n, o, *pos)] = np.sum(region * weight[o]) + (bias[o] if bias is not None else 0)
    return y, LoopConvCache(xp, weight, bias is not None, pads, stride, dilation, groups,
                            padding_mode, out)


def conv_backward_loops(dy, cache: LoopConvCache, need_input_grad=True):
    xp, weight = cache.xp, cache.weight
    kernel = weight.shape[2:]
    c_out, c_group = weight.shape[:2]
    per_group = c_out // cache.groups
    dweight = np.zeros_like(weight)
    dxp = np.zeros_like(xp)
    for n in range(dy.shape[0]):
        for o in range(c_out):
            g = o // per_group
            channels = slice(g * c_group, (g + 1) * c_group)
            for pos in itertools.product(*(range(s) for s in cache.out_spatial)):
                where = (n, channels, *_window(pos, kernel, cache.stride, cache.dilation))
                grad = dy[(n, o, *pos)]
                dweight[o] += grad * xp[where]          # weight gradient: input × output gradient
                dxp[where] += grad * weight[o]          # input gradient: kernel × output gradient
    dbias = dy.sum(axis=(0, *range(2, dy.ndim))) if cache.has_bias else None
    dx = pad_backward(dxp, cache.pads, cache.padding_mode) if need_input_grad else None
    return dx, dweight, dbias


@dataclass
class LoopPoolCache:
    kind: str
    xp: np.ndarray
    pads: Pairs
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    out_spatial: tuple[int, ...]
    divisor: np.ndarray | None


def pool_forward_loops(x, kind, kernel_size, stride=None, padding=0, dilation=1,
                       ceil_mode=False, count_include_pad=True, nd=2, name=None):
    name = name or f"{kind.capitalize()}Pool{nd}d"
    kernel, stride, dilation, pads, full, out = pool_geometry(
        name, x, kernel_size, stride, padding, dilation, ceil_mode, nd)
    fill = {"max": -np.inf, "min": np.inf, "avg": 0.0}[kind]
    xp = pad(x, full, "zeros", value=fill)
    # which padded positions count for average pooling: inside the input (or its padding)
    inside = np.zeros(xp.shape[2:], dtype=bool)
    inner = tuple(slice(lo - (p if count_include_pad else 0), lo + n + (p if count_include_pad else 0))
                  for (lo, _), n, p in zip(full, x.shape[2:], (lo for lo, _ in pads)))
    inside[inner] = True
    y = np.zeros((*x.shape[:2], *out), dtype=x.dtype)
    divisor = np.zeros(out) if kind == "avg" else None
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for pos in itertools.product(*(range(s) for s in out)):
                window = _window(pos, kernel, stride, dilation)
                region = xp[(n, c, *window)]
                if kind == "max":
                    y[(n, c, *pos)] = region.max()
                elif kind == "min":
                    y[(n, c, *pos)] = region.min()
                else:
                    count = inside[window].sum()
                    divisor[pos] = count
                    y[(n, c, *pos)] = region.sum() / count
    return y, LoopPoolCache(kind, xp, full, kernel, stride, dilation, out, divisor)


def pool_backward_loops(dy, cache: LoopPoolCache):
    dxp = np.zeros_like(cache.xp)
    for n in range(dy.shape[0]):
        for c in range(dy.shape[1]):
            for pos in itertools.product(*(range(s) for s in cache.out_spatial)):
                window = (n, c, *_window(pos, cache.kernel, cache.stride, cache.dilation))
                grad = dy[(n, c, *pos)]
                if cache.kind == "avg":
                    dxp[window] += grad / cache.divisor[pos]
                else:
                    region = cache.xp[window]
                    winner = np.unravel_index(
                        region.argmax() if cache.kind == "max" else region.argmin(), region.shape)
                    view = dxp[window]                  # a view: writing routes the gradient
                    view[winner] += grad
    return pad_backward(dxp, cache.pads, "zeros")
