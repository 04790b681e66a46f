"""Global and adaptive pooling against torch's AdaptiveAvgPool/AdaptiveMaxPool: values and
dL/dx (including ties and overlapping windows), keepdims, central differences and errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import convlens as cl
from convlens.functional.global_pool import adaptive_windows
from convlens.layers import global_pool as gp

SHAPES = {1: (2, 3, 7), 2: (2, 3, 5, 6), 3: (2, 2, 3, 4, 5)}
TORCH_ADAPTIVE = {("avg", 1): torch.nn.AdaptiveAvgPool1d, ("avg", 2): torch.nn.AdaptiveAvgPool2d,
                  ("avg", 3): torch.nn.AdaptiveAvgPool3d, ("max", 1): torch.nn.AdaptiveMaxPool1d,
                  ("max", 2): torch.nn.AdaptiveMaxPool2d, ("max", 3): torch.nn.AdaptiveMaxPool3d}
DTYPES = [np.float64, np.float32]
TOL = {np.float64: 1e-12, np.float32: 1e-6}


def make_input(shape, dtype, ties):
    rng = np.random.default_rng(0)
    if ties:  # few distinct values: many equal maxima, the first one must win as in torch
        return rng.integers(0, 3, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def compare(layer, torch_layer, x, dtype, post=lambda t: t):
    y = layer(x)
    xt = torch.tensor(x, requires_grad=True)
    yt = post(torch_layer(xt))
    assert y.shape == tuple(yt.shape) and y.dtype == dtype
    tol = TOL[dtype]
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=tol, atol=tol)
    dy = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    yt.backward(torch.from_numpy(dy))
    dx = layer.backward(dy)
    assert dx.shape == x.shape and dx.dtype == dtype
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=tol, atol=tol)


GLOBAL_GRID = list(itertools.product(["avg", "max"], [1, 2, 3], [False, True], [False, True],
                                     DTYPES))


@pytest.mark.parametrize("kind, nd, keepdims, ties, dtype", GLOBAL_GRID)
def test_global_pool_matches_torch_adaptive_pool_to_one(kind, nd, keepdims, ties, dtype):
    cls = getattr(gp, f"Global{kind.capitalize()}Pool{nd}d")
    layer = cls(keepdims=keepdims)
    post = (lambda t: t) if keepdims else (lambda t: t.flatten(1))
    x = make_input(SHAPES[nd], dtype, ties)
    compare(layer, TORCH_ADAPTIVE[(kind, nd)](1), x, dtype, post)
    expected = SHAPES[nd][:2] + ((1,) * nd if keepdims else ())
    assert layer(x).shape == expected


# output sizes that divide the input, that do not (overlapping windows), larger than the
# input (windows repeat), and None (keep that axis)
OUTPUT_SIZES = {1: [1, 3, 7, 10], 2: [(2, 3), (4, 4), (None, 2), 1], 3: [(1, 2, 3), (2, None, 4)]}
ADAPTIVE_GRID = [(kind, nd, size, ties, dtype)
                 for kind, nd, ties, dtype in itertools.product(["avg", "max"], [1, 2, 3],
                                                                [False, True], DTYPES)
                 for size in OUTPUT_SIZES[nd] if not (ties and kind == "avg")]


@pytest.mark.parametrize("kind, nd, size, ties, dtype", ADAPTIVE_GRID)
def test_adaptive_pool_matches_torch(kind, nd, size, ties, dtype):
    cls = getattr(gp, f"Adaptive{kind.capitalize()}Pool{nd}d")
    x = make_input(SHAPES[nd], dtype, ties)
    compare(cls(size), TORCH_ADAPTIVE[(kind, nd)](size), x, dtype)


def test_adaptive_windows_formula():
    assert adaptive_windows(7, 3) == [(0, 3), (2, 5), (4, 7)]  # overlapping
    assert adaptive_windows(6, 3) == [(0, 2), (2, 4), (4, 6)]  # tiling
    assert adaptive_windows(2, 4) == [(0, 1), (0, 1), (1, 2), (1, 2)]  # repeating


CHECK_CASES = [gp.GlobalAvgPool2d(), gp.GlobalMaxPool1d(), gp.GlobalMaxPool3d(keepdims=True),
               gp.AdaptiveAvgPool2d((2, 3)), gp.AdaptiveAvgPool3d(2), gp.AdaptiveMaxPool2d(3),
               gp.AdaptiveMaxPool1d(4)]


@pytest.mark.parametrize("layer", CHECK_CASES, ids=repr)
def test_central_differences(layer):
    x = make_input(SHAPES[layer.ndim], np.float64, ties=False)  # distinct values: max is smooth
    assert cl.gradcheck(layer, x).max_error < 1e-7


def test_errors_and_repr():
    with pytest.raises(ValueError, match=r"GlobalAvgPool2d expects a 4-D input \(N, C, H, W\), "
                                         r"received shape \(3, 5, 5\) \(3-D\); for a single "
                                         r"example add a batch axis"):
        gp.GlobalAvgPool2d()(np.zeros((3, 5, 5)))
    with pytest.raises(ValueError, match=r"AdaptiveMaxPool2d: output_size must be an int or a "
                                         r"tuple of 2 ints, received \(2, 2, 2\)"):
        gp.AdaptiveMaxPool2d((2, 2, 2))
    with pytest.raises(ValueError, match=r"AdaptiveAvgPool2d: output_size along width must be "
                                         r">= 1, received 0"):
        gp.AdaptiveAvgPool2d((2, 0))
    with pytest.raises(RuntimeError, match=r"GlobalMaxPool2d\.backward\(\) was called before"):
        gp.GlobalMaxPool2d().backward(np.zeros((1, 1)))
    assert repr(gp.GlobalAvgPool2d()) == "GlobalAvgPool2d()"
    assert repr(gp.GlobalMaxPool1d(keepdims=True)) == "GlobalMaxPool1d(keepdims=True)"
    assert repr(gp.AdaptiveAvgPool2d((7, None))) == "AdaptiveAvgPool2d(output_size=(7, None))"
