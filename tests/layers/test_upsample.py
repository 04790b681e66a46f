"""Upsample against torch.nn.functional.interpolate (values and input gradients, every mode,
sizes and non-integer factors, rectangular maps), central differences, config round trip,
and the errors."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import convlens as cl

CASES = [
    # mode, spatial shape, size, scale_factor, align_corners
    ("nearest", (3,), None, 2, None),
    ("nearest", (3, 4), None, (2, 3), None),
    ("nearest", (3, 5), (7, 9), None, None),
    ("nearest", (5, 4), None, 1.5, None),
    ("nearest", (2, 3, 4), None, 2, None),
    ("linear", (5,), None, 2, False),
    ("linear", (5,), (11,), None, True),
    ("bilinear", (3, 4), None, 2, False),
    ("bilinear", (3, 4), None, (2, 3), True),
    ("bilinear", (4, 5), (7, 3), None, False),
    ("bilinear", (5, 4), None, 2.5, False),
    ("bilinear", (3, 2), (1, 4), None, True),
    ("trilinear", (2, 3, 4), None, 2, False),
]


@pytest.mark.parametrize("mode, spatial, size, factor, corners", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_upsample_matches_torch(mode, spatial, size, factor, corners, dtype):
    x = np.random.default_rng(0).standard_normal((2, 3, *spatial)).astype(dtype)
    layer = cl.Upsample(size=size, scale_factor=factor, mode=mode, align_corners=corners)
    y = layer(x)
    xt = torch.tensor(x, requires_grad=True)
    yt = F.interpolate(xt, size=size, scale_factor=factor, mode=mode, align_corners=corners)
    assert y.shape == tuple(yt.shape) and y.dtype == dtype
    tol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=tol, atol=tol)
    dy = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    yt.backward(torch.from_numpy(dy))
    np.testing.assert_allclose(layer.backward(dy), xt.grad.numpy(), rtol=10 * tol, atol=10 * tol)


@pytest.mark.parametrize("layer", [cl.Upsample(scale_factor=2),
                                   cl.Upsample(size=(5, 3), mode="bilinear"),
                                   cl.Upsample(scale_factor=(1.5, 2), mode="bilinear", align_corners=True)])
def test_central_differences(layer):
    x = np.random.default_rng(0).standard_normal((2, 2, 3, 4))
    assert cl.gradcheck(layer, x, max_checks=None).max_error < 1e-7


def test_config_round_trip_and_nearest_repeats():
    layer = cl.Upsample(scale_factor=(2, 3), mode="bilinear", align_corners=False)
    again = cl.Upsample.from_config(layer.get_config())
    x = np.random.default_rng(0).standard_normal((1, 2, 3, 4))
    np.testing.assert_array_equal(again(x), layer(x))
    y = cl.Upsample(scale_factor=(2, 3))(x)
    np.testing.assert_array_equal(y, x.repeat(2, axis=2).repeat(3, axis=3))


def test_errors_name_what_was_expected():
    with pytest.raises(ValueError, match="Upsample: give exactly one of size and scale_factor, "
                                         "received size=None, scale_factor=None"):
        cl.Upsample()
    with pytest.raises(ValueError, match="Upsample: mode must be one of nearest, linear, bilinear, "
                                         "trilinear, received 'bicubic'"):
        cl.Upsample(scale_factor=2, mode="bicubic")
    with pytest.raises(ValueError, match=re.escape(
            "Upsample(mode='bilinear') expects an input (N, C, *spatial) with 2 spatial axes, "
            "received shape (1, 2, 3)")):
        cl.Upsample(scale_factor=2, mode="bilinear")(np.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match=re.escape(
            "Upsample: scale_factor must be a positive number or one per spatial axis (2), "
            "received (2, 2, 2)")):
        cl.Upsample(scale_factor=(2, 2, 2))(np.zeros((1, 2, 3, 3)))
