"""Conv1d / Conv2d / Conv3d against PyTorch (forward, dL/dx, dL/dW, dL/db), central differences,
and the errors a user meets first."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
from torch_oracle import check_parity, fan_in_bound, tf_same_padding

import convlens as cl

# PyTorch notes that its own 'same' with an even kernel copies the input; not our concern here.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")

CONV = {1: cl.Conv1d, 2: cl.Conv2d, 3: cl.Conv3d}
# Non-square inputs and kernels (an even kernel axis in 2-D and 3-D makes 'same' asymmetric).
INPUT = {1: (2, 4, 10), 2: (2, 4, 8, 6), 3: (2, 4, 5, 6, 4)}
KERNEL = {1: 3, 2: (3, 2), 3: (2, 3, 2)}
PADDINGS = {
    "int": 1,
    "tuple": {1: (2,), 2: (1, 0), 3: (0, 1, 1)},
    "valid": "valid",
    "same": "same",
    "pairs": {1: ((2, 0),), 2: ((0, 1), (2, 1)), 3: ((1, 0), (0, 2), (1, 1))},
}
# groups: 1 (dense), 2 (grouped), 4 = in_channels (depthwise, channel multiplier 2)
C_IN, C_OUT = 4, 8
DTYPES = [np.float64, np.float32]


def padding_for(kind: str, nd: int):
    value = PADDINGS[kind]
    return value[nd] if isinstance(value, dict) else value


def make_conv(nd, dtype, seed=0, **kwargs):
    cl.manual_seed(seed)
    kwargs.setdefault("kernel_size", KERNEL[nd])
    return CONV[nd](kwargs.pop("in_channels", C_IN), kwargs.pop("out_channels", C_OUT),
                    dtype=dtype, **kwargs)


def make_input(shape, dtype, seed=1):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# The product grid: rank × stride × padding × dilation × groups × dtype (360 cases).
GRID = list(itertools.product([1, 2, 3], [1, 2], list(PADDINGS), [1, 2], [1, 2, 4], DTYPES))


@pytest.mark.parametrize("nd, stride, padding, dilation, groups, dtype", GRID)
def test_conv_matches_torch(nd, stride, padding, dilation, groups, dtype):
    # bias alternates over the grid so both code paths see every other axis
    bias = (stride + dilation + groups) % 2 == 0
    layer = make_conv(nd, dtype, stride=stride, padding=padding_for(padding, nd),
                      dilation=dilation, groups=groups, bias=bias)
    check_parity(layer, make_input(INPUT[nd], dtype))


# Padding modes: rank × mode × padding × stride × bias × dtype (288 cases).
MODE_GRID = list(itertools.product([1, 2, 3], ["zeros", "reflect", "replicate", "circular"],
                                   ["int", "same", "pairs"], [1, 2], [True, False], DTYPES))


@pytest.mark.parametrize("nd, mode, padding, stride, bias, dtype", MODE_GRID)
def test_conv_padding_modes_match_torch(nd, mode, padding, stride, bias, dtype):
    layer = make_conv(nd, dtype, stride=stride, padding=padding_for(padding, nd),
                      padding_mode=mode, bias=bias, groups=2)
    check_parity(layer, make_input(INPUT[nd], dtype))


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("dilation", [1, 2])
def test_same_padding_gives_ceil_n_over_s_and_tensorflow_split(nd, stride, dilation):
    shape = INPUT[nd]
    layer = make_conv(nd, np.float64, stride=stride, padding="same", dilation=dilation)
    y = layer(make_input(shape, np.float64))
    assert y.shape[2:] == tuple(-(-n // stride) for n in shape[2:])
    expected = tuple(tf_same_padding(n, k, s, d) for n, k, s, d in zip(
        shape[2:], layer.kernel_size, layer.stride, layer.dilation))
    assert layer._cache.pads == expected


def test_1x1_kernel_and_single_pixel_output():
    layer = make_conv(2, np.float64, kernel_size=1, stride=3)
    check_parity(layer, make_input((3, 4, 7, 7), np.float64))
    layer = make_conv(2, np.float64, kernel_size=(7, 6))          # window covers the input
    y = check_parity(layer, make_input((3, 4, 7, 6), np.float64))
    assert y.shape == (3, C_OUT, 1, 1)


def test_no_input_gradient_for_the_first_layer_keeps_parameter_gradients():
    x = make_input(INPUT[2], np.float64)
    full = make_conv(2, np.float64, stride=2, padding=1, groups=2)
    first = make_conv(2, np.float64, stride=2, padding=1, groups=2)
    dy = make_input(full(x).shape, np.float64, seed=5)
    full.backward(dy)
    first(x)
    assert first.backward(dy, need_input_grad=False) is None
    np.testing.assert_array_equal(first.weight.grad, full.weight.grad)
    np.testing.assert_array_equal(first.bias.grad, full.bias.grad)


def test_integer_input_is_converted_to_the_weight_dtype():
    layer = make_conv(2, np.float32)
    x = np.random.default_rng(0).integers(0, 255, INPUT[2]).astype(np.uint8)
    y = layer(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, layer(x.astype(np.float32)), rtol=0, atol=0)


def test_default_init_matches_pytorch_bounds():
    cl.manual_seed(0)
    layer = cl.Conv2d(16, 32, 5, groups=4)
    bound = fan_in_bound(layer.weight.shape)          # 1/√(16/4·25) = 0.1
    assert bound == pytest.approx(0.1)
    for p in (layer.weight.data, layer.bias.data):
        assert np.abs(p).max() <= bound
        assert np.abs(p).max() > 0.9 * bound            # fills the range, not a narrower one


# -- central differences (float64) ---------------------------------------------------------
GRADCHECK_GRID = [
    # nd, kwargs
    (1, dict(stride=2, padding=1, dilation=2)),
    (1, dict(padding="same", padding_mode="reflect", groups=4)),
    (2, dict(stride=(2, 1), padding="same", groups=2)),
    (2, dict(padding=((0, 1), (2, 1)), padding_mode="circular", bias=False)),
    (2, dict(stride=2, dilation=(2, 1), padding=1, padding_mode="replicate")),
    (3, dict(stride=2, padding="same", dilation=(1, 2, 1), groups=4)),
    (3, dict(padding=1, padding_mode="reflect")),
]


@pytest.mark.parametrize("nd, kwargs", GRADCHECK_GRID)
def test_conv_gradcheck(nd, kwargs):
    layer = make_conv(nd, np.float64, **kwargs)
    report = cl.gradcheck(layer, make_input(INPUT[nd], np.float64), max_checks=60)
    assert set(report.errors) == {"input", "weight"} | ({"bias"} if layer.bias else set())
    assert report.ok(1e-6), str(report)


def test_gradcheck_catches_a_wrong_backward():
    """The check itself can fail: a layer whose weight gradient is off by a factor fails."""

    class Broken(cl.Conv2d):
        def backward(self, dy, need_input_grad=True):
            dx = super().backward(dy, need_input_grad)
            self.weight.grad *= 1.01
            return dx

    cl.manual_seed(0)
    layer = Broken(2, 3, 3, dtype=np.float64)
    report = cl.gradcheck(layer, make_input((1, 2, 5, 5), np.float64))
    assert report.errors["weight"] > 1e-3
    assert report.errors["input"] < 1e-6


def test_gradcheck_accepts_channels_last_data_transposed_to_channels_first():
    """A transposed (non-C-contiguous) input is an ordinary input: the check must nudge it."""
    layer = make_conv(2, np.float64)
    x_nhwc = make_input((2, 7, 6, C_IN), np.float64)
    report = cl.gradcheck(layer, x_nhwc.transpose(0, 3, 1, 2), max_checks=60)
    assert report.ok(1e-6), str(report)


def test_numpy_integer_hyperparameters_are_accepted_as_in_torch():
    k, s, p, d = np.int64(3), np.int64(2), np.int64(1), np.int32(1)
    layer = cl.Conv2d(np.int64(C_IN), np.int64(C_OUT), k, stride=s, padding=p, dilation=d,
                      dtype=np.float64)
    assert layer.kernel_size == (3, 3) and layer.stride == (2, 2) and layer.dilation == (1, 1)
    assert layer.padding == ((1, 1), (1, 1))
    check_parity(layer, make_input(INPUT[2], np.float64))
    assert cl.Conv1d(2, 2, (np.int64(3),), padding=(np.int64(1),)).kernel_size == (3,)


@pytest.mark.parametrize("kwargs, message", [
    (dict(kernel_size=(2.7, 3)),
     "kernel_size must be an int or a tuple of 2 ints, received (2.7, 3)"),
    (dict(kernel_size=3, stride=(1.5, 1)),
     "stride must be an int or a tuple of 2 ints, received (1.5, 1)"),
    (dict(kernel_size=3, dilation=2.0),
     "dilation must be an int or a tuple of 2 ints, received 2.0"),
])
def test_non_integer_sizes_are_refused_not_truncated(kwargs, message):
    with pytest.raises(TypeError, match=re.escape(message)):
        cl.Conv2d(1, 1, **kwargs)


# -- errors ------------------------------------------------------------------------------
def test_wrong_rank_names_the_layout_and_suggests_a_batch_axis():
    with pytest.raises(ValueError, match=re.escape(
            "Conv2d expects a 4-D input (N, C, H, W) with C=3, received shape (3, 28, 28) "
            "(3-D); for a single example add a batch axis: x[None] has shape (1, 3, 28, 28)")):
        cl.Conv2d(3, 8, 3)(np.zeros((3, 28, 28), np.float32))
    with pytest.raises(ValueError, match=re.escape(
            "Conv1d expects a 3-D input (N, C, L) with C=2, received shape (1, 2, 8, 8) (4-D)")):
        cl.Conv1d(2, 4, 3)(np.zeros((1, 2, 8, 8), np.float32))
    with pytest.raises(ValueError, match=re.escape("Conv3d expects a 5-D input (N, C, D, H, W)")):
        cl.Conv3d(1, 1, 1)(np.zeros((1, 1, 4, 4), np.float32))


def test_wrong_channel_count_names_both_and_spots_channels_last():
    with pytest.raises(ValueError, match=re.escape(
            "Conv2d expects 3 input channels in the layout (N, C, H, W), received shape "
            "(2, 1, 8, 8) with C=1")):
        cl.Conv2d(3, 8, 3)(np.zeros((2, 1, 8, 8), np.float32))
    with pytest.raises(ValueError, match=re.escape(
            "convlens is channels-first, move it with x.transpose(0, 3, 1, 2)")):
        cl.Conv2d(3, 8, 3)(np.zeros((2, 8, 8, 3), np.float32))
    with pytest.raises(ValueError, match=re.escape(
            "Conv2d expects 4 input channels in the layout (N, C, H, W), received shape "
            "(1, 2, 8, 8) with C=2")):
        cl.Conv2d(4, 4, 3, groups=2)(np.zeros((1, 2, 8, 8), np.float32))


def test_kernel_larger_than_padded_input_shows_the_formula_and_a_padding():
    # ⌊(3 + 2·0 − 5)/1⌋ + 1 = −1; padding 1 makes it 1
    with pytest.raises(ValueError, match=re.escape(
            "Conv2d: the window does not fit the input height: input height n=3, kernel k=5, "
            "stride s=1, padding p=0: output size ⌊(n + 2p − k)/s⌋ + 1 = ⌊(3 + 2·0 − 5)/1⌋ + 1 "
            "= -1 < 1. Use padding >= 1")):
        cl.Conv2d(1, 1, 5)(np.zeros((1, 1, 3, 8), np.float32))
    # width axis, stride 2, existing padding 1, kernel 9: ⌊(4 + 2 − 9)/2⌋ + 1 = −1; needs 3
    with pytest.raises(ValueError, match=re.escape(
            "input width n=4, kernel k=9, stride s=2, padding p=1: output size "
            "⌊(n + 2p − k)/s⌋ + 1 = ⌊(4 + 2·1 − 9)/2⌋ + 1 = -1 < 1. Use padding >= 3")):
        cl.Conv2d(1, 1, (1, 9), stride=2, padding=1)(np.zeros((1, 1, 4, 4), np.float32))
    # dilation: kernel 3 with dilation 3 spans 7
    with pytest.raises(ValueError, match=re.escape(
            "input length n=5, kernel k=7 (kernel 3 with dilation 3 spans 7)")):
        cl.Conv1d(1, 1, 3, dilation=3)(np.zeros((1, 1, 5), np.float32))


def test_the_suggested_padding_works_and_one_less_does_not():
    for n, k in [(3, 5), (4, 9), (2, 7), (5, 6)]:
        with pytest.raises(ValueError) as info:
            cl.Conv1d(1, 1, k)(np.zeros((1, 1, n), np.float32))
        need = int(re.search(r"Use padding >= (\d+)", str(info.value)).group(1))
        assert cl.Conv1d(1, 1, k, padding=need)(np.zeros((1, 1, n), np.float32)).shape[2] >= 1
        if need > 0:
            with pytest.raises(ValueError):
                cl.Conv1d(1, 1, k, padding=need - 1)(np.zeros((1, 1, n), np.float32))


@pytest.mark.parametrize("kwargs, message", [
    (dict(in_channels=3, out_channels=4, kernel_size=3, groups=2),
     "Conv2d: in_channels must be divisible by groups, received in_channels=3, groups=2 "
     "(3 % 2 = 1)"),
    (dict(in_channels=4, out_channels=6, kernel_size=3, groups=4),
     "Conv2d: out_channels must be divisible by groups, received out_channels=6, groups=4 "
     "(6 % 4 = 2)"),
    (dict(in_channels=0, out_channels=4, kernel_size=3),
     "Conv2d: in_channels must be a positive int, received 0"),
    (dict(in_channels=3, out_channels=-1, kernel_size=3),
     "Conv2d: out_channels must be a positive int, received -1"),
    (dict(in_channels=3, out_channels=4, kernel_size=3, groups=0),
     "Conv2d: groups must be a positive int, received 0"),
    (dict(in_channels=3, out_channels=4, kernel_size=3, stride=-1),
     "stride must be >= 1, received -1"),
    (dict(in_channels=3, out_channels=4, kernel_size=3, stride=(1, 0)),
     "stride must be >= 1, received (1, 0)"),
    (dict(in_channels=3, out_channels=4, kernel_size=0),
     "kernel_size must be >= 1, received 0"),
    (dict(in_channels=3, out_channels=4, kernel_size=(3, 3, 3)),
     "kernel_size must be an int or a tuple of 2 ints, received (3, 3, 3) (3 values)"),
    (dict(in_channels=3, out_channels=4, kernel_size=3, dilation=0),
     "dilation must be >= 1, received 0"),
    (dict(in_channels=3, out_channels=4, kernel_size=3, padding="full"),
     "padding must be 'valid', 'same', an int or a tuple, received 'full'"),
    (dict(in_channels=3, out_channels=4, kernel_size=3, padding=-1),
     "padding must be >= 0, received -1"),
    (dict(in_channels=3, out_channels=4, kernel_size=3, padding=(1, 1, 1)),
     "padding must have one entry per spatial axis (2), received (1, 1, 1)"),
    (dict(in_channels=3, out_channels=4, kernel_size=3, padding_mode="mirror"),
     "padding_mode must be one of ['circular', 'reflect', 'replicate', 'zeros'], "
     "received 'mirror'"),
])
def test_invalid_hyperparameters_fail_at_construction(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        cl.Conv2d(**kwargs)


def test_reflect_padding_as_large_as_the_input_is_refused():
    with pytest.raises(ValueError, match=re.escape(
            "reflect padding 3 must be smaller than the input size 3")):
        cl.Conv1d(1, 1, 3, padding=3, padding_mode="reflect")(np.zeros((1, 1, 3), np.float32))


def test_backward_before_forward():
    with pytest.raises(RuntimeError, match=re.escape(
            "Conv2d.backward() was called before forward(): run a forward pass first")):
        cl.Conv2d(1, 1, 3).backward(np.zeros((1, 1, 2, 2), np.float32))
