"""N-dimensional convolution (1-D, 2-D, 3-D) as one matrix product: forward and backward.

Shapes (``G`` groups, ``P = ∏ O`` output positions, ``K = ∏ kernel``):

    x      (N, C_in, *S)            weight (C_out, C_in/G, *kernel)      bias (C_out,)
    y      (N, C_out, *O)           O_i = ⌊(S_i + p_lo + p_hi − d_i·(k_i − 1) − 1)/s_i⌋ + 1

    y[n, o, i…] = b[o] + Σ_{c, k…} w[o, c, k…] · x_pad[n, g·C_in/G + c, i·s + k·d …]

As in deep-learning libraries, "convolution" is the cross-correlation the seeds describe: the
kernel slides over the input without being flipped, and each output is a dot product of the
kernel with one window (weight sharing: every window uses the same kernel).

How: im2col. The windows of the padded input are a strided *view* (``sliding_windows``),
copied once into ``cols`` of shape (G, C_in/G·K, N·P). This layout is chosen for speed: the
copy writes each (channel, tap) row contiguously (rows of output positions; 3–5× faster than
one row per window), and one GEMM per group yields the output channels as rows:

    y_mat (G, C_out/G, N·P) = w_mat @ cols        w_mat = weight viewed as (G, C_out/G, C_in/G·K)

then a cheap transpose of the output (not of the K-times larger ``cols``) gives (N, C_out, *O).
Backward, with ``dy`` laid out like ``y_mat``:

    dw    = dy_mat @ colsᵀ        the correlation of the input with the output gradient
    db    = Σ_{n, positions} dy
    dcols = w_matᵀ @ dy_mat       then col2im: a loop over the kernel taps adds each tap's
                                  row back onto the input positions it came from.

The input gradient is skipped when not needed (the first layer of a network).

Memory. ``cols`` is K times the input (9× for 3×3, 27× for 3³) and is not kept for the
backward pass: the cache keeps the input itself — not a padded copy: the layer before (a
ReLU keeps its output) or the caller holds that same array — and the backward pass pads it
and copies the columns again for ``dw`` and lets them go (one layer's columns alive at a
time). As every cache, the input must not be changed in place before the backward pass. For the ResNet-18
training step (batch 128) the kept column matrices were 640 MB of a 2.2 GB peak; the copy
costs the backward pass 2–5 % (CPU time, one thread: Conv2d 256→256 at 8², batch 128, ``dw``
84.7 → 87.0 ms). The forward pass never makes ``cols`` whole: :func:`column_blocks` copies
it a block of columns at a time (about 2 MiB) into one buffer that stays in cache, and the
product is taken block by block (Conv3d 16→32 at 8³, batch 16: 3.6 → 2.9 ms). For ``dw``
blocks did not pay (products with a short inner dimension, or narrow ones when split by
channels: 85–115 ms against 87 for the whole matrix on the layer above).

Batch-last columns. NumPy pays per contiguous run when it copies, and the columns above are
gathered in runs of the output's last axis: 8 values for an 8³ volume, 7 for a 7×7 map, so
the im2col copy and col2im's additions cost more in loop overhead than in data. When that
axis is short (≤ :data:`BATCH_LAST_MAX_RUN`) and the batch has several examples, the columns
are ordered (*O, N) instead of (N, *O): the padded input is first moved to (C, *S, N), then
every run is ``O_last·N`` values long (128 for 8 values × 16 examples). Three small
transposes (input, output, dy) pay for it. Measured on the Conv3d workload's 16→32 layer at
8³, batch 16: forward 5.2 → 4.3 ms, backward 10.2 → 7.6 ms; on maps of 14 and more it does
not pay, so they keep the batch-first order.

Shifted products. With stride 1, one group and enough input channels, the convolution is
computed without ``cols`` at all, one product per kernel tap on shifted views of the padded
input (:mod:`~convlens.functional.conv_shifted`): the copy and the K-times larger cache go.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from convlens.functional import parallel
from convlens.functional.conv_arithmetic import (
    PaddingSpec,
    Pairs,
    as_tuple,
    axis_names,
    check_rank,
    layout,
    output_shape,
    resolve_padding,
)
from convlens.functional.conv_shifted import (
    ShiftedConvCache,
    shifted_backward,
    shifted_forward,
    use_shifted,
)
from convlens.functional.padding import pad, pad_backward
from convlens.functional.windows import sliding_windows, window_offsets
from convlens.validate import user_stacklevel


@dataclass
class ConvCache:
    """What the backward pass needs: the input itself (not a copy: the layer before usually
    keeps the same array; the backward pass pads it and copies its columns again), the
    weights and the geometry."""

    x: np.ndarray
    weight: np.ndarray
    has_bias: bool
    x_shape: tuple[int, ...]
    out_spatial: tuple[int, ...]
    pads: Pairs
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    groups: int
    padding_mode: str
    batch_last: bool = False  # columns ordered (*O, N) rather than (N, *O): module docstring

    @property
    def padded_shape(self) -> tuple[int, ...]:
        """(N, C, *S) of the padded input."""
        return (*self.x_shape[:2], *(n + lo + hi for n, (lo, hi) in zip(self.x_shape[2:], self.pads)))

    def padded_input(self) -> np.ndarray:
        """The padded input as the forward pass read it (:func:`padded_input`)."""
        return padded_input(self.x, self.pads, self.padding_mode, self.batch_last)


def padded_input(x: np.ndarray, pads: Pairs, padding_mode: str, batch_last: bool) -> np.ndarray:
    """``x`` (N, C, *S) padded; with ``batch_last`` a (C, *S, N) copy seen as (N, C, *S), so
    that N is the innermost axis of the columns (module docstring)."""
    xp = pad(x, pads, padding_mode)
    if not batch_last:
        return xp
    moved = np.empty((*xp.shape[1:], xp.shape[0]), dtype=xp.dtype)
    parallel.copyto(moved, np.moveaxis(xp, 0, -1), axis=0)
    return np.moveaxis(moved, -1, 0)


def hashable(value: Any) -> Any:
    """The value itself if hashable, else lists made tuples (to key the geometry cache)."""
    try:
        hash(value)
        return value
    except TypeError:
        if isinstance(value, (list, tuple)):
            return tuple(hashable(v) for v in value)
        raise TypeError(f"expected an int, a string or a tuple, received {value!r}") from None


@functools.lru_cache(maxsize=512)
def conv_geometry(
    name: str,
    spatial: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: Any,
    padding: Any,
    dilation: Any,
) -> tuple[tuple[int, ...], tuple[int, ...], Pairs, tuple[int, ...], str | None]:
    """(stride, dilation, padding pairs, output size, note): validated once per input shape.

    ``note`` explains an uneven 'same' padding (the caller warns with it).

    A pure function of its arguments, so it is memoized: a layer called again on a batch of
    the same shape skips the checks (the Python overhead matters at batch size 1).
    """
    nd = len(kernel)
    stride_t = as_tuple(stride, nd, "stride")
    dilation_t = as_tuple(dilation, nd, "dilation")
    pads = resolve_padding(padding, spatial, kernel, stride_t, dilation_t)
    out = output_shape(name, spatial, kernel, stride_t, pads, dilation_t)
    note = _uneven_same_note(name, spatial, kernel, stride_t, dilation_t, pads) if padding == "same" else None
    return stride_t, dilation_t, pads, out, note


def _uneven_same_note(name, spatial, kernel, stride, dilation, pads) -> str | None:
    """What 'same' does when it cannot pad both sides equally (None when it can)."""
    notes = []
    for axis, n, k, s, d, (lo, hi) in zip(axis_names(len(spatial)), spatial, kernel, stride,
                                          dilation, pads):
        if lo != hi:
            span = d * (k - 1) + 1
            notes.append(f"along {axis} (input {n}, kernel {span}, stride {s}) the total padding "
                         f"(⌈{n}/{s}⌉ − 1)·{s} + {span} − {n} = {lo + hi} goes {lo} before and "
                         f"{hi} after")
    if not notes:
        return None
    torch_note = ("PyTorch refuses padding='same' with stride > 1" if max(stride) > 1
                  else "PyTorch pads the same way")
    return (f"{name}: padding='same' keeps the output at ⌈n/s⌉ but cannot pad both sides equally: "
            f"{'; '.join(notes)} (TensorFlow's rule: the extra goes after; {torch_note}). Pass "
            f"padding={tuple(pads)} to make this explicit.")


def check_conv_input(name: str, x: np.ndarray, weight: np.ndarray, groups: int) -> None:
    """Rank and channel checks with messages that name the layout the layer expects."""
    nd = weight.ndim - 2
    in_channels = weight.shape[1] * groups
    check_rank(name, x.shape, nd, f" with C={in_channels}")
    if x.shape[1] != in_channels:
        hint = ""
        if x.shape[-1] == in_channels and nd >= 2:
            order = ", ".join(str(i) for i in range(1, nd + 1))
            hint = (" (the last axis has the expected channel count: convlens is channels-first, "
                    f"move it with x.transpose(0, {nd + 1}, {order}))")
        raise ValueError(
            f"{name} expects {in_channels} input channels in the layout {layout(nd)}, "
            f"received shape {x.shape} with C={x.shape[1]}{hint}"
        )


def conv_forward(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: int | tuple[int, ...] = 1,
    padding: PaddingSpec = 0,
    dilation: int | tuple[int, ...] = 1,
    groups: int = 1,
    padding_mode: str = "zeros",
    name: str | None = None,
) -> tuple[np.ndarray, ConvCache | ShiftedConvCache]:
    """Convolve ``x`` with ``weight``; returns ``(y, cache)`` (see the module docstring)."""
    nd = weight.ndim - 2
    name = name or f"Conv{nd}d"
    check_conv_input(name, x, weight, groups)
    if x.dtype.kind != "f":  # (np.issubdtype is slow at batch size 1)
        x = x.astype(weight.dtype)
    kernel = weight.shape[2:]
    stride_t, dilation_t, pads, out, note = conv_geometry(
        name, x.shape[2:], kernel, hashable(stride), hashable(padding), hashable(dilation))
    if note:
        warnings.warn(note, UserWarning, stacklevel=user_stacklevel())

    if use_shifted(x.shape, weight.shape, groups, stride_t, pads, out):
        return shifted_forward(x, weight, bias, pads, dilation_t, out, padding_mode)
    n = x.shape[0]
    c_out, c_group = weight.shape[:2]
    positions, k_size = math.prod(out), math.prod(kernel)
    batch_last = n > 1 and out[-1] <= BATCH_LAST_MAX_RUN  # the same windows, N innermost
    xp = padded_input(x, pads, padding_mode, batch_last)
    w_mat = weight.reshape(groups, c_out // groups, c_group * k_size)
    dtype = np.result_type(xp, weight)
    blocks = column_blocks(xp, kernel, stride_t, dilation_t, groups, batch_last)
    if n > 1 and not batch_last and positions >= DIRECT_OUTPUT_MIN_POSITIONS:
        # one product per example, written in the output's own layout: no transposing copy
        # (G, C_out/G, C_g·K) @ (n_b, G, C_g·K, P) -> (n_b, G, C_out/G, P), n_b examples a block
        y = np.empty((n, groups, c_out // groups, positions), dtype=dtype)
        for start, stop, cols in blocks:  # (blocks of whole examples: N is the grid's first axis)
            first, last = start // positions, stop // positions
            examples = cols.reshape(groups, -1, last - first, positions).transpose(2, 0, 1, 3)
            parallel.matmul(w_mat, examples, out=y[first:last])
        if bias is not None:
            b = bias.reshape(1, groups, c_out // groups, 1)
            parallel.run(lambda i, j: np.add(y[i:j], b, out=y[i:j]), n, y.size)
    else:
        y_mat = np.empty((groups, c_out // groups, n * positions), dtype=dtype)
        for start, stop, cols in blocks:
            parallel.matmul(w_mat, cols, out=y_mat[:, :, start:stop])  # (G, C_out/G, N·P)
        y = _output_from_product(y_mat, bias, n, groups, positions, batch_last)
    y = y.reshape(n, c_out, *out)
    cache = ConvCache(x, weight, bias is not None, x.shape, out, pads,
                      stride_t, dilation_t, groups, padding_mode, batch_last)
    return y, cache


def column_view(xp: np.ndarray, kernel: tuple[int, ...], stride: tuple[int, ...],
                dilation: tuple[int, ...], groups: int, batch_last: bool) -> np.ndarray:
    """The columns of the padded input ``xp`` (N, C_in, *S) as a strided view (no copy) of
    shape (G, C_in/G, *K, *grid): one row per (channel, tap) once reshaped, the grid (N, *O),
    or (*O, N) when ``batch_last`` (then ``xp`` must be a (C, *S, N) array seen as
    (N, C, *S), so that N is the innermost axis)."""
    nd = len(kernel)
    n, channels = xp.shape[:2]
    windows = sliding_windows(xp, kernel, stride, dilation)            # (N, C, *O, *K) view
    out = windows.shape[2:2 + nd]
    windows = windows.reshape(n, groups, channels // groups, *out, *kernel)  # split C = G·C_g
    # (N, G, C_g, *O, *K) -> (G, C_g, *K, N, *O), or (G, C_g, *K, *O, N)
    o_axes, k_axes = range(3, 3 + nd), range(3 + nd, 3 + 2 * nd)
    order = (1, 2, *k_axes, *o_axes, 0) if batch_last else (1, 2, *k_axes, 0, *o_axes)
    return windows.transpose(order)


def im2col(xp: np.ndarray, kernel: tuple[int, ...], stride: tuple[int, ...],
           dilation: tuple[int, ...], groups: int, batch_last: bool) -> np.ndarray:
    """The whole column matrix (G, C_in/G·K, N·P) of :func:`column_view`, copied."""
    view = column_view(xp, kernel, stride, dilation, groups, batch_last)
    cols = np.empty(view.shape, dtype=view.dtype)
    parallel.copyto(cols, view)
    return cols.reshape(groups, -1, math.prod(view.shape[2 + len(kernel):]))


def column_blocks(xp: np.ndarray, kernel: tuple[int, ...], stride: tuple[int, ...],
                  dilation: tuple[int, ...], groups: int, batch_last: bool
                  ) -> Iterator[tuple[int, int, np.ndarray]]:
    """``(start, stop, cols[:, :, start:stop])`` for consecutive blocks of the columns of
    :func:`im2col`, each copied into one reused buffer of about :data:`COLUMN_BLOCK_VALUES`
    values (module docstring: column blocks). Blocks split the first grid axis longer than
    one, so each is a range of columns and one slice of :func:`column_view`."""
    nd = len(kernel)
    view = column_view(xp, kernel, stride, dilation, groups, batch_last)
    lead = 2 + nd                                                      # the grid's first axis
    while lead < view.ndim - 1 and view.shape[lead] == 1:
        lead += 1
    rows = math.prod(view.shape[1:2 + nd])                             # C_g·K
    per = math.prod(view.shape[lead + 1:])                             # columns per index
    step = max(-(-MIN_BLOCK_COLUMNS // per), COLUMN_BLOCK_VALUES // (groups * rows * per))
    length = view.shape[lead]
    before = (slice(None),) * lead
    width = min(step, length) * per
    buffer = np.empty(groups * rows * width, dtype=view.dtype)
    for first in range(0, length, step):
        last = min(first + step, length)
        block = view[(*before, slice(first, last))]
        cols = buffer[:groups * rows * (last - first) * per].reshape(block.shape)
        parallel.copyto(cols, block)
        yield first * per, last * per, cols.reshape(groups, rows, -1)


#: Values per block of :func:`column_blocks` (2 MiB of float32). Measured (one thread, CPU
#: time, forward product and dw with their copies, 2026-11-30): Conv3d 16→32 at 8³, batch
#: 16: 9.5 ms with the whole column matrix, 5.0 with blocks of 2¹⁹ values (5.0 with 2¹⁷,
#: 5.3 with 2²¹); Conv2d 128→128 at 8², batch 128: 49.6 → 45.6; 256→256 at 4²: 44.2 → 44.0.
COLUMN_BLOCK_VALUES = 1 << 19
#: …but at least this many columns per block: narrower products run slower than the cache
#: saves (Conv2d 512→512 at 4², batch 32, 4,608 rows: blocks of 128 columns made the forward
#: pass 21.7 → 23.8 ms).
MIN_BLOCK_COLUMNS = 1024


#: Output rows this short (or shorter) get batch-last columns (module docstring).
BATCH_LAST_MAX_RUN = 10
#: From this many output positions per example, the forward product is taken one example at a
#: time straight into the output. CPU time of product + layout + bias, one thread, batch 128
#: (2026-11-30): 32×9 @ 784 positions 4.89 → 1.25 ms, 64×288 @ 196 9.73 → 9.51, 128×576 @ 49
#: 8.57 → 9.75 (narrow products lose more than the copy costs).
DIRECT_OUTPUT_MIN_POSITIONS = 256


def _output_from_product(y_mat: np.ndarray, bias: np.ndarray | None, n: int, groups: int,
                         positions: int, batch_last: bool) -> np.ndarray:
    """(N, G, C_out/G, P) from the product y_mat (G, C_out/G, N·P), or (G, C_out/G, P·N) with
    batch-last columns: a transposing copy that also adds the bias."""
    c_per_group = y_mat.shape[1]
    if batch_last:  # (G, C_out/G, P, N) -> (N, G, C_out/G, P)
        y_view = y_mat.reshape(groups, c_per_group, positions, n).transpose(3, 0, 1, 2)
    else:
        y_view = y_mat.reshape(groups, c_per_group, n, positions).transpose(2, 0, 1, 3)
    if n == 1:  # one example: y_mat already has the output's memory order
        if bias is not None:
            y_view += bias.reshape(1, groups, c_per_group, 1)
        return y_view
    y = np.empty((n, groups, c_per_group, positions), dtype=y_mat.dtype)
    if bias is None:
        parallel.copyto(y, y_view, axis=0)
    else:
        b = bias.reshape(1, groups, c_per_group, 1)
        parallel.run(lambda i, j: np.add(y_view[i:j], b, out=y[i:j]), n, y.size)
    return y


def conv_backward(
    dy: np.ndarray, cache: ConvCache | ShiftedConvCache, need_input_grad: bool = True
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """Gradients ``(dx, dweight, dbias)`` from ``dy = dL/dy`` of shape (N, C_out, *O).

    ``dx`` is ``None`` when ``need_input_grad`` is False; ``dbias`` is ``None`` without bias.
    """
    if isinstance(cache, ShiftedConvCache):
        return shifted_backward(dy, cache, need_input_grad)
    weight, groups = cache.weight, cache.groups
    nd = weight.ndim - 2
    kernel = weight.shape[2:]
    n = dy.shape[0]
    c_out, c_group = weight.shape[:2]
    out, padded = cache.out_spatial, cache.padded_shape[2:]
    positions = math.prod(out)
    # dy laid out like y_mat: (G, C_out/G, N·P), or (G, C_out/G, P·N) for batch-last columns
    dy_groups = dy.reshape(n, groups, c_out // groups, positions)
    dy_view = dy_groups.transpose(1, 2, 3, 0) if cache.batch_last else dy_groups.transpose(1, 2, 0, 3)
    dy_mat = np.empty(dy_view.shape, dtype=dy.dtype)                   # (a copy, in blocks)
    parallel.copyto(dy_mat.reshape(groups * (c_out // groups), *dy_view.shape[2:]),
                    dy_view.reshape(groups * (c_out // groups), *dy_view.shape[2:]), axis=0)
    dy_mat = dy_mat.reshape(groups, c_out // groups, n * positions)
    dbias = dy.sum(axis=(0, *range(2, 2 + nd))) if cache.has_bias else None
    cols = im2col(cache.padded_input(), kernel, cache.stride, cache.dilation, groups, cache.batch_last)
    dweight = parallel.matmul(dy_mat, cols.transpose(0, 2, 1)).reshape(weight.shape)
    del cols  # (one layer's columns at a time)
    if not need_input_grad:
        return None, dweight, dbias
    w_mat = weight.reshape(groups, c_out // groups, -1)
    dcols = parallel.matmul(w_mat.transpose(0, 2, 1), dy_mat)          # (G, C_g·K, N·P)
    # col2im: each tap's row goes back to the input positions that tap met. Accumulating in
    # channel-major order (C, N, *S), or (C, *S, N), keeps every addition contiguous on both
    # sides; one transpose at the end restores (N, C, *S). Channels are independent: blocks
    # of channels run on the threads of `parallel`.
    channels = groups * c_group
    if cache.batch_last:  # rows (*O, N), gradient (C, *S, N): N follows the spatial axes
        grid, dxp_shape, skip, batch_axis = (*out, n), (*padded, n), (), -1
    else:                 # rows (N, *O), gradient (C, N, *S)
        grid, dxp_shape, skip, batch_axis = (n, *out), (n, *padded), (slice(None),), 1
    dcols = dcols.reshape(channels, *kernel, *grid)
    dxp = np.zeros((channels, *dxp_shape), dtype=dcols.dtype)
    taps = window_offsets(kernel, cache.stride, cache.dilation, out)

    def col2im(start: int, stop: int) -> None:
        block = slice(start, stop)
        for _, tap, slices in taps:
            dxp[(block, *skip, *slices)] += dcols[(block, *tap)]

    parallel.run(col2im, channels, dcols.size)
    dx_padded = np.empty(cache.padded_shape, dtype=dxp.dtype)          # (N, C, *S)
    parallel.copyto(dx_padded, np.moveaxis(dxp, batch_axis, 0), axis=1)
    return pad_backward(dx_padded, cache.pads, cache.padding_mode), dweight, dbias


def conv(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None, **kwargs: Any) -> np.ndarray:
    """Forward only, like ``torch.nn.functional.conv{1,2,3}d``."""
    return conv_forward(x, weight, bias, **kwargs)[0]
