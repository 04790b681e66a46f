"""Output sizes, 'same' padding and padding specs: against brute force, torch and TensorFlow's
documented rule; the error message with the user's numbers."""

from __future__ import annotations

import itertools
import re

import pytest
import torch
import torch.nn.functional as F
from torch_oracle import tf_same_padding

from convlens.functional.conv_arithmetic import (
    as_tuple,
    axis_names,
    check_padding_spec,
    output_shape,
    output_size,
    resolve_padding,
    same_padding,
)


def count_windows(n, k, s, lo, hi, d):
    """Brute force: window starts i·s whose last tap i·s + d·(k − 1) is inside the padded input."""
    return sum(1 for i in range(n + lo + hi + 1) if i * s + d * (k - 1) <= n + lo + hi - 1)


def test_output_size_counts_the_windows():
    for n, k, s, lo, hi, d in itertools.product(range(1, 9), range(1, 5), range(1, 4), range(3),
                                                range(3), range(1, 3)):
        expected = count_windows(n, k, s, lo, hi, d)
        got = output_size(n, k, s, (lo, hi), d)
        if expected == 0:
            assert got < 1, (n, k, s, lo, hi, d)
        else:
            assert got == expected, (n, k, s, lo, hi, d)


def test_ceil_mode_output_size_equals_torch_pooling():
    for n, k, s, p, d in itertools.product(range(1, 10), range(1, 5), range(1, 4), range(3),
                                           range(1, 3)):
        if p > k // 2 or n + 2 * p < d * (k - 1) + 1:
            continue
        x = torch.zeros(1, 1, n)
        for ceil in (False, True):
            expected = F.max_pool1d(x, k, s, p, d, ceil_mode=ceil).shape[-1]
            assert output_size(n, k, s, (p, p), d, ceil) == expected, (n, k, s, p, d, ceil)


def test_same_padding_is_tensorflows_rule():
    for n, k, s, d in itertools.product(range(1, 12), range(1, 6), range(1, 5), range(1, 4)):
        pads = same_padding(n, k, s, d)
        assert pads == tf_same_padding(n, k, s, d), (n, k, s, d)
        assert output_size(n, k, s, pads, d) == -(-n // s)


def test_resolve_padding():
    assert resolve_padding("valid", (5, 6), (3, 3), (1, 1), (1, 1)) == ((0, 0), (0, 0))
    assert resolve_padding("same", (5, 6), (3, 2), (1, 2), (1, 1)) == ((1, 1), (0, 0))
    assert resolve_padding("same", (8,), (3,), (2,), (1,)) == ((0, 1),)
    assert resolve_padding(2, (5, 6), (3, 3), (1, 1), (1, 1)) == ((2, 2), (2, 2))
    assert resolve_padding(((1, 0), (0, 2)), (5, 6), (3, 3), (1, 1), (1, 1)) == ((1, 0), (0, 2))


@pytest.mark.parametrize("spec, ndim, canonical", [
    ("valid", 2, "valid"), ("same", 3, "same"), (1, 2, ((1, 1), (1, 1))),
    ((1, 2), 2, ((1, 1), (2, 2))), (((1, 0), 2), 2, ((1, 0), (2, 2))), ([3], 1, ((3, 3),)),
    (0, 1, ((0, 0),)),
])
def test_padding_specs_become_pairs(spec, ndim, canonical):
    assert check_padding_spec(spec, ndim) == canonical


@pytest.mark.parametrize("spec, ndim, message", [
    ("full", 2, "padding must be 'valid', 'same', an int or a tuple, received 'full'"),
    (-1, 2, "padding must be >= 0, received -1"),
    ((1, -1), 2, "padding must be >= 0, received (1, -1)"),
    (((1, 2, 3), 1), 2, "padding pairs must be (before, after), received (1, 2, 3)"),
    ((1, 1, 1), 2, "padding must have one entry per spatial axis (2), received (1, 1, 1)"),
])
def test_bad_padding_specs(spec, ndim, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        check_padding_spec(spec, ndim)


def test_as_tuple():
    assert as_tuple(3, 2, "kernel_size") == (3, 3)
    assert as_tuple((2, 3, 4), 3, "stride") == (2, 3, 4)
    assert as_tuple(0, 1, "padding", minimum=0) == (0,)
    with pytest.raises(TypeError, match=re.escape(
            "kernel_size must be an int or a tuple of 2 ints, received 2.5")):
        as_tuple(2.5, 2, "kernel_size")
    with pytest.raises(ValueError, match=re.escape(
            "stride must be an int or a tuple of 3 ints, received (1, 2) (2 values)")):
        as_tuple((1, 2), 3, "stride")
    with pytest.raises(ValueError, match=re.escape("dilation must be >= 1, received (1, 0)")):
        as_tuple((1, 0), 2, "dilation")


def test_as_tuple_takes_numpy_integers_and_refuses_fractions():
    import numpy as np

    assert as_tuple(np.int64(3), 2, "kernel_size") == (3, 3)
    assert as_tuple((np.int32(2), 3), 2, "stride") == (2, 3)
    assert check_padding_spec(np.int64(1), 2) == ((1, 1), (1, 1))
    assert check_padding_spec((np.int64(1), (np.int64(0), 2)), 2) == ((1, 1), (0, 2))
    with pytest.raises(TypeError, match=re.escape(
            "kernel_size must be an int or a tuple of 2 ints, received (2.5, 3)")):
        as_tuple((2.5, 3), 2, "kernel_size")
    with pytest.raises(TypeError, match=re.escape(
            "padding must be an int or a tuple of 1 ints, received 'same'")):
        as_tuple("same", 1, "padding", minimum=0)


def test_axis_names():
    assert axis_names(1) == ("length",)
    assert axis_names(2) == ("height", "width")
    assert axis_names(3) == ("depth", "height", "width")
    assert axis_names(4) == ("axis 0", "axis 1", "axis 2", "axis 3")


def test_output_shape_error_has_the_formula_with_numbers():
    with pytest.raises(ValueError, match=re.escape(
            "Conv2d: the window does not fit the input width: input width n=4, kernel k=7, "
            "stride s=2, padding p=1: output size ⌊(n + 2p − k)/s⌋ + 1 = ⌊(4 + 2·1 − 7)/2⌋ + 1 "
            "= 0 < 1. Use padding >= 2 (or a kernel of at most 6 along width, or a larger "
            "input).")):
        output_shape("Conv2d", (9, 4), (3, 7), (1, 2), ((1, 1), (1, 1)))


def test_output_shape_error_with_asymmetric_padding():
    with pytest.raises(ValueError, match=re.escape(
            "padding p=0+1: output size ⌊(n + p_before + p_after − k)/s⌋ + 1 = "
            "⌊(3 + 0 + 1 − 5)/1⌋ + 1 = 0 < 1. Use padding >= 1")):
        output_shape("Conv1d", (3,), (5,), (1,), ((0, 1),))


def test_output_shape():
    assert output_shape("Conv3d", (5, 6, 7), (3, 2, 1), (1, 2, 3), ((1, 1), (0, 0), (0, 1)),
                        (1, 2, 1)) == (5, 2, 3)
