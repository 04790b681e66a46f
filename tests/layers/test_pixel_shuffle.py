"""PixelShuffle / PixelUnshuffle against torch (values, gradients, channel ordering),
central differences, the round trip, and the shape errors."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import convlens as cl
from convlens.layers.pixel_shuffle import PixelShuffle, PixelUnshuffle

# leading axes of any number (torch accepts (*, C, H, W)), rectangular maps
LEAD = [(), (2,), (2, 3)]
GRID = list(itertools.product(LEAD, [1, 2, 3], [np.float64, np.float32]))


@pytest.mark.parametrize("lead, r, dtype", GRID)
def test_pixel_shuffle_matches_torch(lead, r, dtype):
    x = np.random.default_rng(0).standard_normal((*lead, 2 * r * r, 3, 4)).astype(dtype)
    layer = PixelShuffle(r)
    y = layer(x)
    xt = torch.tensor(x, requires_grad=True)
    yt = F.pixel_shuffle(xt, r)
    assert y.shape == (*lead, 2, 3 * r, 4 * r) and y.dtype == dtype
    np.testing.assert_array_equal(y, yt.detach().numpy())  # a pure permutation: exact
    dy = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    yt.backward(torch.from_numpy(dy))
    np.testing.assert_array_equal(layer.backward(dy), xt.grad.numpy())


@pytest.mark.parametrize("lead, r, dtype", GRID)
def test_pixel_unshuffle_matches_torch(lead, r, dtype):
    x = np.random.default_rng(0).standard_normal((*lead, 2, 3 * r, 2 * r)).astype(dtype)
    layer = PixelUnshuffle(r)
    y = layer(x)
    xt = torch.tensor(x, requires_grad=True)
    yt = F.pixel_unshuffle(xt, r)
    assert y.shape == (*lead, 2 * r * r, 3, 2) and y.dtype == dtype
    np.testing.assert_array_equal(y, yt.detach().numpy())
    dy = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    yt.backward(torch.from_numpy(dy))
    np.testing.assert_array_equal(layer.backward(dy), xt.grad.numpy())


def test_channel_ordering_formula():
    r, c, h, w = 2, 3, 2, 3
    x = np.arange(c * r * r * h * w).reshape(1, c * r * r, h, w)
    y = PixelShuffle(r)(x)
    for ch, i, j, hh, ww in itertools.product(range(c), range(r), range(r), range(h), range(w)):
        assert y[0, ch, hh * r + i, ww * r + j] == x[0, ch * r * r + i * r + j, hh, ww]


def test_round_trip_and_central_differences():
    x = np.random.default_rng(0).standard_normal((2, 8, 3, 2))
    np.testing.assert_array_equal(PixelUnshuffle(2)(PixelShuffle(2)(x)), x)
    for layer in (PixelShuffle(2), PixelUnshuffle(1)):
        assert cl.gradcheck(layer, x, max_checks=None).max_error < 1e-7
    z = np.random.default_rng(1).standard_normal((2, 2, 6, 3))
    assert cl.gradcheck(PixelUnshuffle(3), z, max_checks=None).max_error < 1e-7


def test_errors_name_the_shapes():
    with pytest.raises(ValueError, match=re.escape(
            "PixelShuffle(upscale_factor=2) needs a channel count divisible by upscale_factor² "
            "= 4, received shape (1, 6, 3, 3) with C=6 (6 % 4 = 2)")):
        PixelShuffle(2)(np.zeros((1, 6, 3, 3)))
    with pytest.raises(ValueError, match=re.escape(
            "PixelUnshuffle(downscale_factor=3) needs height and width divisible by 3, "
            "received shape (1, 2, 6, 4) with H=6, W=4")):
        PixelUnshuffle(3)(np.zeros((1, 2, 6, 4)))
    with pytest.raises(ValueError, match=r"PixelShuffle expects an input \(\*, C, H, W\) with at "
                                         r"least 3 axes, received shape \(4, 4\) \(2-D\)"):
        PixelShuffle(2)(np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"PixelShuffle: upscale_factor must be a positive int, "
                                         r"received 0"):
        PixelShuffle(0)
    with pytest.raises(RuntimeError, match=r"PixelUnshuffle\.backward\(\) was called before"):
        PixelUnshuffle(2).backward(np.zeros((1, 4, 2, 2)))
    assert repr(PixelShuffle(3)) == "PixelShuffle(upscale_factor=3)"
