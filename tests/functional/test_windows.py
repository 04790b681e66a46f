"""``sliding_windows`` (im2col as a view) and ``window_offsets`` (one strided slice per kernel
tap, the col2im and pooling loop) against plain loops."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from convlens.functional.windows import sliding_windows, window_offsets

CASES = [  # padded shape, kernel, stride, dilation
    ((2, 3, 9), (3,), (1,), (1,)),
    ((2, 3, 10), (2,), (3,), (2,)),
    ((1, 2, 7, 6), (3, 2), (2, 1), (1, 2)),
    ((1, 2, 8, 8), (2, 2), (2, 2), (1, 1)),
    ((1, 1, 5, 6, 4), (2, 3, 2), (1, 2, 2), (2, 1, 1)),
]


def out_size(n, k, s, d):
    return (n - d * (k - 1) - 1) // s + 1


def naive_windows(xp, kernel, stride, dilation):
    nd = len(kernel)
    out = tuple(out_size(n, k, s, d) for n, k, s, d in zip(xp.shape[2:], kernel, stride,
                                                           dilation))
    result = np.zeros(xp.shape[:2] + out + tuple(kernel))
    for o in itertools.product(*map(range, out)):
        for k in itertools.product(*map(range, kernel)):
            src = tuple(o[i] * stride[i] + k[i] * dilation[i] for i in range(nd))
            result[(Ellipsis, *o, *k)] = xp[(Ellipsis, *src)]
    return result


def naive_scatter(dwin, shape, kernel, stride, dilation):
    nd = len(kernel)
    out = dwin.shape[2:2 + nd]
    dx = np.zeros(shape)
    for o in itertools.product(*map(range, out)):
        for k in itertools.product(*map(range, kernel)):
            dst = tuple(o[i] * stride[i] + k[i] * dilation[i] for i in range(nd))
            dx[(Ellipsis, *dst)] += dwin[(Ellipsis, *o, *k)]
    return dx


@pytest.mark.parametrize("shape, kernel, stride, dilation", CASES)
def test_sliding_windows_is_a_view_of_every_window(shape, kernel, stride, dilation):
    xp = np.random.default_rng(0).standard_normal(shape)
    view = sliding_windows(xp, kernel, stride, dilation)
    np.testing.assert_array_equal(view, naive_windows(xp, kernel, stride, dilation))
    assert np.shares_memory(view, xp)          # no copy


def scatter_by_taps(dwin, shape, kernel, stride, dilation):
    """col2im as the engine does it: one strided slice per tap."""
    nd = len(kernel)
    dx = np.zeros(shape)
    for _, tap, slices in window_offsets(kernel, stride, dilation, dwin.shape[2:2 + nd]):
        dx[(Ellipsis, *slices)] += dwin[(Ellipsis, *tap)]
    return dx


@pytest.mark.parametrize("shape, kernel, stride, dilation", CASES)
def test_each_tap_slice_is_that_tap_of_every_window(shape, kernel, stride, dilation):
    xp = np.random.default_rng(0).standard_normal(shape)
    view = sliding_windows(xp, kernel, stride, dilation)
    nd = len(kernel)
    taps = list(window_offsets(kernel, stride, dilation, view.shape[2:2 + nd]))
    assert [index for index, _, _ in taps] == list(range(int(np.prod(kernel))))
    assert [tap for _, tap, _ in taps] == list(itertools.product(*map(range, kernel)))
    for _, tap, slices in taps:            # row-major tap order: PyTorch's tie-break order
        np.testing.assert_array_equal(xp[(Ellipsis, *slices)], view[(Ellipsis, *tap)])


@pytest.mark.parametrize("shape, kernel, stride, dilation", CASES)
def test_col2im_by_taps_sums_overlaps_like_a_loop_and_is_the_adjoint(shape, kernel, stride,
                                                                    dilation):
    rng = np.random.default_rng(1)
    xp = rng.standard_normal(shape)
    windows = sliding_windows(xp, kernel, stride, dilation)
    g = rng.standard_normal(windows.shape)
    scattered = scatter_by_taps(g, shape, kernel, stride, dilation)
    np.testing.assert_allclose(scattered, naive_scatter(g, shape, kernel, stride, dilation),
                               rtol=1e-13, atol=1e-13)
    assert np.sum(windows * g) == pytest.approx(np.sum(xp * scattered), rel=1e-12)


def test_positions_no_window_reaches_get_zero_gradient():
    # length 7, kernel 2, stride 3: windows cover 0-1 and 3-4; 2, 5, 6 are never read
    g = np.ones((1, 1, 2, 2))
    np.testing.assert_array_equal(scatter_by_taps(g, (1, 1, 7), (2,), (3,), (1,))[0, 0],
                                  [1, 1, 0, 1, 1, 0, 0])
