"""The generic normalize-over-axes op: against PyTorch autograd for any axes and any
broadcast of γ/β (hypothesis draws them), against a plain-loop reference, and its helpers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from convlens.functional.normalization import (
    _sum_to_shape,
    check_finite,
    group_size,
    normalize_backward,
    normalize_forward,
    unbiased_var,
)


def torch_reference(x, axes, weight, bias, eps, mean=None, var=None):
    """y and the gradients by torch autograd, from the textbook formula."""
    xt = torch.tensor(x, requires_grad=True)
    wt = None if weight is None else torch.tensor(weight, requires_grad=True)
    bt = None if bias is None else torch.tensor(bias, requires_grad=True)
    if mean is None:
        mu = xt.mean(dim=axes, keepdim=True)
        sigma2 = ((xt - mu) ** 2).mean(dim=axes, keepdim=True)
    else:
        mu, sigma2 = torch.tensor(mean), torch.tensor(var)
    y = (xt - mu) / torch.sqrt(sigma2 + eps)
    if wt is not None:
        y = y * wt
    if bt is not None:
        y = y + bt
    return xt, wt, bt, y


@st.composite
def cases(draw):
    ndim = draw(st.integers(1, 4))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim)))
    axes = tuple(sorted(draw(st.sets(st.integers(0, ndim - 1), min_size=1))))
    if group_size(shape, axes) < 2:  # one value per group: x̂ ≡ 0, nothing to compare
        shape = tuple(n + 1 if a in axes else n for a, n in enumerate(shape))
    # γ and β vary along a random subset of the axes (size 1 elsewhere), possibly fewer axes
    param_axes = draw(st.sets(st.integers(0, ndim - 1)))
    lead = draw(st.integers(0, ndim - 1))
    pshape = tuple(n if a in param_axes else 1 for a, n in enumerate(shape))[lead:]
    use_weight, use_bias = draw(st.booleans()), draw(st.booleans())
    fixed = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    return shape, axes, pshape, use_weight, use_bias, fixed, seed


@settings(max_examples=120, deadline=None)
@given(cases())
def test_normalize_matches_torch_autograd_for_any_axes_and_broadcast(case):
    shape, axes, pshape, use_weight, use_bias, fixed, seed = case
    rng = np.random.default_rng(seed)
    x = 2.0 + 3.0 * rng.standard_normal(shape)
    weight = 1.0 + rng.standard_normal(pshape) if use_weight else None
    bias = rng.standard_normal(pshape) if use_bias else None
    mean = var = None
    if fixed:
        stat_shape = tuple(1 if a in axes else n for a, n in enumerate(shape))
        mean = rng.standard_normal(stat_shape)
        var = rng.uniform(0.5, 2.0, stat_shape)
    eps = 1e-3
    y, cache = normalize_forward(x, axes, weight, bias, eps, mean=mean, var=var)
    xt, wt, bt, yt = torch_reference(x, axes, weight, bias, eps, mean, var)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-10, atol=1e-10)
    dy = rng.standard_normal(y.shape)
    dx, dweight, dbias = normalize_backward(dy, cache)
    yt.backward(torch.from_numpy(dy))
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-10)
    if use_weight:
        assert dweight.shape == weight.shape
        np.testing.assert_allclose(dweight, wt.grad.numpy(), rtol=1e-10, atol=1e-10)
    else:
        assert dweight is None
    if use_bias:
        assert dbias.shape == bias.shape
        np.testing.assert_allclose(dbias, bt.grad.numpy(), rtol=1e-10, atol=1e-10)
    else:
        assert dbias is None


def batchnorm2d_loops(x, gamma, beta, eps, dy):
    """The slow reference: batch norm written with Python loops over channels and elements."""
    n, c, h, w = x.shape
    y = np.empty_like(x)
    dx = np.empty_like(x)
    dgamma, dbeta = np.zeros(c), np.zeros(c)
    m = n * h * w
    for ch in range(c):
        values = [x[i, ch, a, b] for i in range(n) for a in range(h) for b in range(w)]
        mu = sum(values) / m
        var = sum((v - mu) ** 2 for v in values) / m
        inv = 1.0 / math.sqrt(var + eps)
        xhat = (x[:, ch] - mu) * inv
        y[:, ch] = gamma[ch] * xhat + beta[ch]
        dbeta[ch] = dy[:, ch].sum()
        dgamma[ch] = (dy[:, ch] * xhat).sum()
        g = dy[:, ch] * gamma[ch]
        # dL/dx from the chain rule through x̂, μ and σ² written out term by term
        dxhat = g
        dvar = (dxhat * (x[:, ch] - mu)).sum() * -0.5 * inv**3
        dmu = -(dxhat * inv).sum() + dvar * (-2.0 * (x[:, ch] - mu)).sum() / m
        dx[:, ch] = dxhat * inv + dvar * 2.0 * (x[:, ch] - mu) / m + dmu / m
    return y, dx, dgamma, dbeta


def test_batch_norm_equals_the_plain_loop_reference():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 2, 3, 4)) * 2 + 1
    gamma, beta = rng.standard_normal(2), rng.standard_normal(2)
    dy = rng.standard_normal(x.shape)
    y, cache = normalize_forward(x, (0, 2, 3), gamma.reshape(1, 2, 1, 1), beta.reshape(1, 2, 1, 1),
                                 1e-5)
    dx, dgamma, dbeta = normalize_backward(dy, cache)
    ry, rdx, rdgamma, rdbeta = batchnorm2d_loops(x, gamma, beta, 1e-5, dy)
    np.testing.assert_allclose(y, ry, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, rdx, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dgamma.ravel(), rdgamma, rtol=1e-12)
    np.testing.assert_allclose(dbeta.ravel(), rdbeta, rtol=1e-12)


def test_cache_holds_biased_statistics_with_kept_axes():
    x = np.arange(24.0).reshape(2, 3, 4)
    _, cache = normalize_forward(x, (0, 2))
    assert cache.mean.shape == cache.var.shape == (1, 3, 1)
    np.testing.assert_allclose(cache.mean.ravel(), x.mean(axis=(0, 2)))
    np.testing.assert_allclose(cache.var.ravel(), x.var(axis=(0, 2)))  # ddof=0
    np.testing.assert_allclose(unbiased_var(cache.var, 8).ravel(), x.var(axis=(0, 2), ddof=1))
    assert group_size(x.shape, (0, 2)) == 8


def test_negative_axes_are_accepted():
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    y1, _ = normalize_forward(x, (-1,))
    y2, _ = normalize_forward(x, (2,))
    np.testing.assert_array_equal(y1, y2)


def test_float32_stays_float32():
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    w = np.ones((1, 3), np.float32)
    y, cache = normalize_forward(x, (0,), w, np.zeros((1, 3), np.float32))
    dx, dw, db = normalize_backward(np.ones_like(y), cache)
    assert y.dtype == dx.dtype == dw.dtype == db.dtype == np.float32


def test_need_input_grad_false_skips_dx():
    x = np.random.default_rng(0).standard_normal((4, 3))
    y, cache = normalize_forward(x, (0,), np.ones(3), np.zeros(3))
    dx, dw, db = normalize_backward(np.ones_like(y), cache, need_input_grad=False)
    assert dx is None and dw.shape == db.shape == (3,)


def test_sum_to_shape_sums_over_broadcast_axes():
    g = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(_sum_to_shape(g, (1, 3, 1)), g.sum(axis=(0, 2), keepdims=True))
    np.testing.assert_array_equal(_sum_to_shape(g, (4,)), g.sum(axis=(0, 1)))
    np.testing.assert_array_equal(_sum_to_shape(g, (3, 4)), g.sum(axis=0))


def test_check_finite_passes_finite_input_and_names_the_first_nan():
    check_finite("X", np.zeros((2, 3)))
    check_finite("X", np.zeros((0, 3)))
    x = np.zeros((2, 3, 4))
    x[1, 0, 3] = np.nan
    x[1, 2, 0] = np.nan
    x[0, 1, 1] = -np.inf
    with pytest.raises(FloatingPointError,
                       match=r"^Norm: the input holds 2 NaN and 1 infinite value\(s\) out of 24 "
                             r"\(first NaN at batch 1, channel 0, position \(3,\), input shape "
                             r"\(2, 3, 4\)\)"):
        check_finite("Norm", x)
    with pytest.raises(FloatingPointError, match=r"first NaN at index \(1, 0, 3\)"):
        check_finite("Norm", x, channel_axis=None)
