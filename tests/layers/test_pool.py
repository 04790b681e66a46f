"""Max / Min / Avg pooling, 1-D to 3-D, against PyTorch (MinPool as ``-max_pool(-x)``),
central differences, ties, and the errors."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
from torch_oracle import DilatedAvgPool, assert_close, check_parity, tensor, torch_twin

import convlens as cl

POOL = {
    ("max", 1): cl.MaxPool1d, ("max", 2): cl.MaxPool2d, ("max", 3): cl.MaxPool3d,
    ("min", 1): cl.MinPool1d, ("min", 2): cl.MinPool2d, ("min", 3): cl.MinPool3d,
    ("avg", 1): cl.AvgPool1d, ("avg", 2): cl.AvgPool2d, ("avg", 3): cl.AvgPool3d,
}
INPUT = {1: (2, 3, 11), 2: (2, 3, 7, 8), 3: (2, 2, 5, 6, 7)}
# two kernels per rank, non-square where there is more than one axis
KERNEL = {2: {1: 2, 2: (2, 3), 3: (2, 2, 3)}, 3: {1: 3, 2: (3, 2), 3: (3, 2, 2)}}
DTYPES = [np.float64, np.float32]


def make_input(shape, dtype, seed=1):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# rank × kernel × stride (None = kernel, 1 = overlapping, 2) × padding × dilation × ceil × dtype
MAX_GRID = list(itertools.product(["max", "min"], [1, 2, 3], [2, 3], [None, 1, 2], [0, 1],
                                  [1, 2], [False, True], DTYPES))


@pytest.mark.parametrize("kind, nd, k, stride, padding, dilation, ceil_mode, dtype", MAX_GRID)
def test_max_and_min_pool_match_torch(kind, nd, k, stride, padding, dilation, ceil_mode, dtype):
    layer = POOL[kind, nd](KERNEL[k][nd], stride, padding, dilation, ceil_mode=ceil_mode)
    check_parity(layer, make_input(INPUT[nd], dtype))


# rank × kernel × stride × padding × count_include_pad × ceil × dtype
AVG_GRID = list(itertools.product([1, 2, 3], [2, 3], [None, 1, 2], [0, 1], [True, False],
                                  [False, True], DTYPES))


@pytest.mark.parametrize("nd, k, stride, padding, count_include_pad, ceil_mode, dtype", AVG_GRID)
def test_avg_pool_matches_torch(nd, k, stride, padding, count_include_pad, ceil_mode, dtype):
    layer = POOL["avg", nd](KERNEL[k][nd], stride, padding, ceil_mode=ceil_mode,
                            count_include_pad=count_include_pad)
    check_parity(layer, make_input(INPUT[nd], dtype))


@pytest.mark.parametrize("nd, stride, padding, count_include_pad, ceil_mode",
                         list(itertools.product([1, 2, 3], [1, 2], [0, 1], [True, False],
                                           [False, True])))
def test_dilated_avg_pool_matches_a_torch_convolution(nd, stride, padding, count_include_pad,
                                                      ceil_mode):
    """PyTorch has no dilated average pooling: the reference is a ones-kernel convolution."""
    layer = POOL["avg", nd](KERNEL[3][nd], stride, padding, dilation=2, ceil_mode=ceil_mode,
                            count_include_pad=count_include_pad)
    check_parity(layer, make_input(INPUT[nd], np.float64))


@pytest.mark.parametrize("nd, stride, padding, count_include_pad, ceil_mode",
                         list(itertools.product([1, 2, 3], [1, 2], [0, 1], [True, False],
                                           [False, True])))
def test_the_dilated_avg_reference_is_torch_avg_pool_at_dilation_1(nd, stride, padding,
                                                                   count_include_pad, ceil_mode):
    """Validates the oracle above against PyTorch's own AvgPool where both exist."""
    layer = POOL["avg", nd](KERNEL[3][nd], stride, padding, ceil_mode=ceil_mode,
                            count_include_pad=count_include_pad)
    x = tensor(make_input(INPUT[nd], np.float64))
    reference = DilatedAvgPool(layer.kernel_size, layer.stride, layer.padding, layer.dilation,
                               ceil_mode, count_include_pad)(x)
    assert_close(reference.numpy(), torch_twin(layer)(x), "oracle vs AvgPool")


@pytest.mark.parametrize("kind", ["max", "min"])
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_ties_go_to_the_first_position_as_in_torch(kind, nd):
    """Integer-valued input: many windows hold equal maxima; overlapping windows (stride 1)
    and padding make the routing of dL/dx visible."""
    x = np.random.default_rng(3).integers(-1, 2, INPUT[nd]).astype(np.float64)
    layer = POOL[kind, nd](KERNEL[3][nd], stride=1, padding=1)
    check_parity(layer, x)
    constant = np.ones(INPUT[nd])
    check_parity(POOL[kind, nd](2, stride=1), constant)


@pytest.mark.parametrize("kind", ["max", "min"])
def test_nan_wins_its_window_and_takes_the_gradient_like_torch(kind):
    """PyTorch's kernel takes a NaN as the new extreme (``val > max || isnan(val)``): the
    output is NaN and dL/dx goes to the NaN's position (the last NaN if several)."""
    x = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
    x[0, 0, 0, 0] = np.nan          # first tap of window (0, 0)
    x[0, 0, 1, 2] = np.nan          # third tap of window (0, 1)
    x[0, 0, 2, 0] = x[0, 0, 3, 1] = np.nan   # two NaNs in window (1, 0)
    y = check_parity(POOL[kind, 2](2), x)
    assert np.isnan(y).sum() == 3


@pytest.mark.parametrize("kind", ["max", "min", "avg"])
def test_windows_of_256_taps_or_more(kind):
    """The winning tap's index no longer fits a byte: 16×16 = 256 and 17×17 = 289 taps."""
    x = make_input((1, 2, 20, 19), np.float64)
    for k in (16, 17):
        check_parity(POOL[kind, 2](k, stride=1, padding=1), x)
    check_parity(POOL[kind, 3](7, stride=2), make_input((1, 1, 8, 9, 8), np.float64))


def test_stride_defaults_to_the_kernel_and_tiles_the_input():
    x = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(cl.MaxPool2d(2)(x)[0, 0], [[5, 7], [13, 15]])
    np.testing.assert_array_equal(cl.MinPool2d(2)(x)[0, 0], [[0, 2], [8, 10]])
    np.testing.assert_array_equal(cl.AvgPool2d(2)(x)[0, 0], [[2.5, 4.5], [10.5, 12.5]])


def test_integer_input_is_pooled_as_float():
    x = np.arange(16, dtype=np.uint8).reshape(1, 1, 4, 4)
    y = cl.AvgPool2d(2)(x)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y[0, 0], [[2.5, 4.5], [10.5, 12.5]])


# -- central differences (float64) ---------------------------------------------------------
@pytest.mark.parametrize("kind, nd, kwargs", [
    ("max", 1, dict(kernel_size=3, stride=1, padding=1)),
    ("max", 2, dict(kernel_size=(3, 2), stride=2, dilation=2, ceil_mode=True)),
    ("min", 2, dict(kernel_size=3, stride=1, padding=1)),
    ("min", 3, dict(kernel_size=2, ceil_mode=True)),
    ("avg", 1, dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    ("avg", 2, dict(kernel_size=3, stride=1, padding=1, dilation=(1, 2), ceil_mode=True)),
    ("avg", 3, dict(kernel_size=(2, 3, 2), stride=1, padding=1)),
])
def test_pool_gradcheck(kind, nd, kwargs):
    layer = POOL[kind, nd](**kwargs)
    # distinct values far apart (no ties, no winner change under a 1e-6 nudge)
    x = np.random.default_rng(0).permutation(np.prod(INPUT[nd])).reshape(INPUT[nd]) * 0.1
    report = cl.gradcheck(layer, x, max_checks=80)
    assert set(report.errors) == {"input"}
    assert report.ok(1e-6), str(report)


# -- errors --------------------------------------------------------------------------------
def test_wrong_rank():
    with pytest.raises(ValueError, match=re.escape(
            "MaxPool2d expects a 4-D input (N, C, H, W), received shape (3, 8, 8) (3-D)")):
        cl.MaxPool2d(2)(np.zeros((3, 8, 8)))
    with pytest.raises(ValueError, match=re.escape(
            "AvgPool1d expects a 3-D input (N, C, L), received shape (1, 1, 8, 8) (4-D)")):
        cl.AvgPool1d(2)(np.zeros((1, 1, 8, 8)))


def test_window_larger_than_the_input_shows_the_formula():
    with pytest.raises(ValueError, match=re.escape(
            "MaxPool2d: the window does not fit the input width: input width n=3, kernel k=5, "
            "stride s=5, padding p=0: output size ⌊(n + 2p − k)/s⌋ + 1 = ⌊(3 + 2·0 − 5)/5⌋ + 1 "
            "= 0 < 1. Use padding >= 1")):
        cl.MaxPool2d((2, 5))(np.zeros((1, 1, 8, 3)))


@pytest.mark.parametrize("cls, kwargs, message", [
    (cl.MaxPool2d, dict(kernel_size=3, padding=2),
     "MaxPool2d: padding 2 along height must be at most half the kernel size 3 "
     "(padding > k/2 would create windows that hold only padding)"),
    (cl.AvgPool1d, dict(kernel_size=2, padding=2),
     "AvgPool1d: padding 2 along length must be at most half the kernel size 2"),
    (cl.MinPool3d, dict(kernel_size=(4, 4, 1), padding=(2, 2, 1)),
     "MinPool3d: padding 1 along width must be at most half the kernel size 1"),
    (cl.MaxPool2d, dict(kernel_size=2, stride=-1), "stride must be >= 1, received -1"),
    (cl.MaxPool2d, dict(kernel_size=0), "kernel_size must be >= 1, received 0"),
    (cl.MaxPool2d, dict(kernel_size=2, padding=-1), "padding must be >= 0, received -1"),
    (cl.MaxPool1d, dict(kernel_size=2, dilation=0), "dilation must be >= 1, received 0"),
])
def test_invalid_hyperparameters_fail_at_construction(cls, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        cls(**kwargs)


def test_numpy_integer_hyperparameters_are_accepted_as_in_torch():
    layer = cl.MaxPool2d(np.int64(3), stride=np.int64(2), padding=np.int64(1))
    assert layer.kernel_size == (3, 3) and layer.stride == (2, 2) and layer.padding == (1, 1)
    check_parity(layer, make_input(INPUT[2], np.float64))


def test_string_padding_gets_a_readable_error():
    """Pooling takes no 'same'/'valid' padding; say so in the usual words, not int('s')."""
    with pytest.raises(TypeError, match=re.escape(
            "padding must be an int or a tuple of 2 ints, received 'same'")):
        cl.MaxPool2d(2, padding="same")


def test_backward_before_forward():
    with pytest.raises(RuntimeError, match=re.escape("MaxPool2d.backward() was called before")):
        cl.MaxPool2d(2).backward(np.zeros((1, 1, 2, 2)))


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32, np.uint32])
def test_max_pooling_of_integers_keeps_their_dtype_and_values(dtype):
    """ONNX's uint8 MaxPool: integers pool exactly, at their full range, in their dtype."""
    import torch

    info = np.iinfo(dtype)
    x = np.random.default_rng(1).integers(info.min, info.max, size=(2, 3, 6, 7), dtype=dtype, endpoint=True)
    y = cl.MaxPool2d(3, stride=2, padding=1)(x)
    assert y.dtype == dtype
    expected = torch.nn.functional.max_pool2d(torch.from_numpy(x.astype(np.float64)), 3, 2, 1).numpy()
    np.testing.assert_array_equal(y, expected.astype(dtype))
