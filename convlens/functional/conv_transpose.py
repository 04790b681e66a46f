"""Transposed convolution ("deconvolution"), as ``torch.nn.functional.conv_transpose{1,2,3}d``.

The transposed convolution is the input gradient of a convolution, and is computed as an
ordinary convolution (:mod:`convlens.functional.conv`, so its backward pass too):

1. stride s: put the input's values s apart, zeros between ((n − 1)·s + 1 per axis);
2. convolve with stride 1, dilation d, the kernel flipped along every spatial axis with its
   in/out roles swapped per group (weight (C_in, C_out/G, *K) -> (C_out, C_in/G, *K)), and
   padding d·(k − 1) − p_before before, d·(k − 1) − p_after + output_padding after.

Shape: (N, C_in, *S) -> (N, C_out, *O), O_i = (S_i − 1)·s_i − p_before − p_after
+ d_i·(k_i − 1) + output_padding_i + 1 (PyTorch's formula with p_before = p_after = p).
Backward: the convolution's gradients, read back through steps 1 and 2.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convlens.functional.conv import conv_backward, conv_forward

Pairs = tuple[tuple[int, int], ...]


def as_conv_weight(weight: np.ndarray, groups: int) -> np.ndarray:
    """(C_in, C_out/G, *K) -> the equivalent convolution's (C_out, C_in/G, *K), flipped."""
    c_in, c_out_group, *kernel = weight.shape
    w = weight.reshape(groups, c_in // groups, c_out_group, *kernel).swapaxes(1, 2)
    w = w.reshape(groups * c_out_group, c_in // groups, *kernel)
    return np.ascontiguousarray(np.flip(w, axis=tuple(range(2, w.ndim))))


def from_conv_weight(grad: np.ndarray, groups: int) -> np.ndarray:
    """The inverse of :func:`as_conv_weight` (for the weight gradient)."""
    c_out, c_in_group, *kernel = grad.shape
    g = np.flip(grad, axis=tuple(range(2, grad.ndim)))
    g = g.reshape(groups, c_out // groups, c_in_group, *kernel).swapaxes(1, 2)
    return np.ascontiguousarray(g.reshape(groups * c_in_group, c_out // groups, *kernel))


def conv_padding(kernel: tuple[int, ...], dilation: tuple[int, ...], padding: Pairs,
                 output_padding: tuple[int, ...], name: str) -> Pairs:
    """Step 2's padding; refused where the transposed padding exceeds d·(k − 1)."""
    pairs = []
    for k, d, (before, after), extra in zip(kernel, dilation, padding, output_padding):
        reach = d * (k - 1)
        if before > reach or after - extra > reach:
            raise ValueError(f"{name}: padding {padding} larger than dilation·(kernel − 1) = {reach} "
                             "is not supported")
        pairs.append((reach - before, reach - after + extra))
    return tuple(pairs)


def conv_transpose_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
                           stride: tuple[int, ...], padding: Pairs, output_padding: tuple[int, ...],
                           dilation: tuple[int, ...], groups: int,
                           name: str = "ConvTranspose") -> tuple[np.ndarray, tuple[Any, ...]]:
    """``(y, cache)``; ``padding`` as (before, after) pairs, one per spatial axis."""
    nd = weight.ndim - 2
    if x.ndim != nd + 2 or x.shape[1] != weight.shape[0]:
        raise ValueError(f"{name} expects an input (N, {weight.shape[0]}, {nd} spatial axes), "
                         f"received shape {x.shape}")
    spatial = x.shape[2:]
    stuffed = np.zeros((*x.shape[:2], *((n - 1) * s + 1 for n, s in zip(spatial, stride))),
                       dtype=np.result_type(x.dtype, weight.dtype))
    spread = (slice(None), slice(None), *(slice(None, None, s) for s in stride))
    stuffed[spread] = x
    pads = conv_padding(weight.shape[2:], dilation, padding, output_padding, name)
    y, cache = conv_forward(stuffed, as_conv_weight(weight, groups), bias, 1, pads, dilation, groups,
                            name=name)
    return y, (cache, spread, groups)


def conv_transpose_backward(dy: np.ndarray, cache: tuple[Any, ...], need_input_grad: bool = True
                            ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """``(dx, dweight, dbias)`` from dL/dy."""
    conv_cache, spread, groups = cache
    dstuffed, dweight, dbias = conv_backward(dy, conv_cache, need_input_grad)
    dx = None if dstuffed is None else np.ascontiguousarray(dstuffed[spread])
    return dx, from_conv_weight(dweight, groups), dbias
