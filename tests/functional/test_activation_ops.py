"""The activation forward/backward pairs: each documented derivative against central differences
(element by element, all at once), plus the numerically delicate spots."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
import torch

from convlens.functional import activation as F
from convlens.functional import more_activation as M

PAIRS = {
    "relu": (F.relu_forward, F.relu_backward),
    "leaky_relu": (lambda x: F.leaky_relu_forward(x, 0.1), F.leaky_relu_backward),
    "sigmoid": (F.sigmoid_forward, F.sigmoid_backward),
    "tanh": (F.tanh_forward, F.tanh_backward),
    "silu": (F.silu_forward, F.silu_backward),
    "elu": (lambda x: F.elu_forward(x, 1.3), F.elu_backward),
    "gelu": (F.gelu_forward, F.gelu_backward),
    "gelu_tanh": (lambda x: F.gelu_forward(x, "tanh"), F.gelu_backward),
}


def away_from_zero(shape, seed=0):
    z = np.random.default_rng(seed).standard_normal(shape)
    return np.sign(z) * (0.01 + 3 * np.abs(z))


@pytest.mark.parametrize("name", PAIRS)
def test_elementwise_derivative_equals_central_difference(name):
    forward, backward = PAIRS[name]
    x = away_from_zero((200,))
    eps = 1e-6
    numeric = (forward(x + eps)[0] - forward(x - eps)[0]) / (2 * eps)
    _, cache = forward(x)
    analytic = backward(np.ones_like(x), cache)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-7, atol=1e-8)
    dy = np.random.default_rng(1).standard_normal(x.shape)     # the chain rule: dy ⊙ f'(x)
    np.testing.assert_allclose(backward(dy, cache), dy * analytic, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("fn, axis", [(F.softmax_forward, 0), (F.softmax_forward, -1),
                                      (F.log_softmax_forward, 1), (F.log_softmax_forward, 0)])
def test_softmax_jacobian_vector_product_equals_central_difference(fn, axis):
    x = away_from_zero((3, 4, 5))
    dy = np.random.default_rng(2).standard_normal(x.shape)
    _, cache = fn(x, axis)
    backward = F.softmax_backward if fn is F.softmax_forward else F.log_softmax_backward
    analytic = backward(dy, cache)
    eps = 1e-6
    numeric = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[i] += eps
        minus[i] -= eps
        numeric[i] = np.sum(dy * (fn(plus, axis)[0] - fn(minus, axis)[0])) / (2 * eps)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-7, atol=1e-8)


def test_sigmoid_has_no_overflow_and_saturates_exactly():
    x = np.array([-1000.0, -745.0, 0.0, 745.0, 1000.0])
    with np.errstate(over="raise", invalid="raise"):
        y = F.sigmoid(x)
    # convlens keeps the subnormal e^(−745) = 5e-324 that torch flushes to 0
    np.testing.assert_allclose(y, torch.sigmoid(torch.from_numpy(x)).numpy(), rtol=1e-15,
                               atol=1e-300)
    assert y[-1] == 1.0 and y[0] == 0.0 and y[2] == 0.5
    assert F.sigmoid(x.astype(np.float32)).dtype == np.float32


def test_log_softmax_keeps_precision_where_softmax_underflows():
    x = np.array([[0.0, -800.0]])
    np.testing.assert_allclose(F.log_softmax(x, axis=1), [[0.0, -800.0]], rtol=1e-15)
    np.testing.assert_allclose(F.softmax(x, axis=1), [[1.0, 0.0]])


def test_gelu_without_scipy_uses_math_erf(monkeypatch):
    x = away_from_zero((50,)).astype(np.float32)
    with_scipy, _ = F.gelu_forward(x)
    monkeypatch.setitem(sys.modules, "scipy.special", None)     # import now fails
    without, _ = F.gelu_forward(x)
    assert without.dtype == np.float32
    np.testing.assert_allclose(without, with_scipy, rtol=1e-6)
    expected = np.array([v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x.astype(float)])
    np.testing.assert_allclose(without, expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", PAIRS)
def test_float32_stays_float32(name):
    forward, backward = PAIRS[name]
    x = away_from_zero((10,)).astype(np.float32)
    y, cache = forward(x)
    assert y.dtype == np.float32
    assert backward(np.ones_like(x), cache).dtype == np.float32


def _infinite_upstream(x_row, rows=3, repeat=1):
    """x repeated, and a dy of +inf, -inf and NaN rows (then ones): what a blown-up loss sends."""
    x = np.tile(np.asarray(x_row, dtype=np.float64), (rows + 1, repeat))
    dy = np.ones_like(x)
    dy[0], dy[1], dy[2] = np.inf, -np.inf, np.nan
    return x, dy


@pytest.mark.parametrize("name, ours, theirs", [
    ("relu", (F.relu_forward, F.relu_backward), torch.relu),
    ("leaky_relu", (lambda x: F.leaky_relu_forward(x, 0.1), F.leaky_relu_backward),
     lambda t: torch.nn.functional.leaky_relu(t, 0.1)),
    ("leaky_relu_0", (lambda x: F.leaky_relu_forward(x, 0.0), F.leaky_relu_backward),
     lambda t: torch.nn.functional.leaky_relu(t, 0.0)),  # torch: inf · 0 = NaN here too
    ("hardtanh", (M.hardtanh_forward, M.hardtanh_backward), torch.nn.functional.hardtanh),
    ("relu6", (lambda x: M.hardtanh_forward(x, 0.0, 6.0), M.hardtanh_backward), torch.nn.functional.relu6),
    ("hardsigmoid", (M.hardsigmoid_forward, M.hardsigmoid_backward), torch.nn.functional.hardsigmoid),
    ("hardswish", (M.hardswish_forward, M.hardswish_backward), torch.nn.functional.hardswish),
])
@pytest.mark.parametrize("dtype, repeat", [(np.float64, 1), (np.float32, 1), (np.float32, 6000)])
def test_an_infinite_or_nan_upstream_gradient_is_masked_as_torch_masks_it(name, ours, theirs, dtype, repeat):
    # repeat 6000: 72,000 values per row, past parallel.MIN_ELEMENTS (ReLU's block path)
    x, dy = _infinite_upstream([-7.0, -3.5, -1.0, -0.5, 0.0, 0.5, 1.0, 2.5, 3.5, 7.0, -2.0, 5.0], repeat=repeat)
    x, dy = x.astype(dtype), dy.astype(dtype)
    forward, backward = ours
    _, cache = forward(x)
    dx = backward(dy, cache)
    tx = torch.tensor(x, requires_grad=True)
    theirs(tx).backward(torch.tensor(dy))
    assert dx.dtype == dtype
    # NaN and ±inf exactly where torch has them (torch's hardsigmoid scales by 1/6 in float32)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-7, atol=0)
    if name in ("relu", "hardtanh", "relu6", "hardsigmoid", "hardswish"):
        assert not np.isnan(dx[:2]).any()  # ±inf upstream: never NaN (inf · 0 before)
