"""``linear_forward`` / ``linear_backward``: y = x Wᵀ + b over any leading axes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from convlens.functional.linear import linear_backward, linear_forward


def loop_reference(x, w, b, dy):
    """Every output is a dot product; every gradient a sum over the leading positions."""
    lead = x.shape[:-1]
    y = np.zeros((*lead, w.shape[0]))
    dx, dw = np.zeros_like(x), np.zeros_like(w)
    for i in itertools.product(*map(range, lead)):
        for o in range(w.shape[0]):
            y[(*i, o)] = np.dot(x[i], w[o]) + (0.0 if b is None else b[o])
            dx[i] += dy[(*i, o)] * w[o]
            dw[o] += dy[(*i, o)] * x[i]
    db = None if b is None else dy.reshape(-1, w.shape[0]).sum(0)
    return y, dx, dw, db


@pytest.mark.parametrize("shape, bias", list(itertools.product([(4, 5), (2, 3, 5), (2, 1, 2, 5)],
                                                          [True, False])))
def test_linear_equals_the_loop(shape, bias):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(shape), rng.standard_normal((3, 5))
    b = rng.standard_normal(3) if bias else None
    y, cache = linear_forward(x, w, b)
    dy = rng.standard_normal(y.shape)
    dx, dw, db = linear_backward(dy, cache)
    y_ref, dx_ref, dw_ref, db_ref = loop_reference(x, w, b, dy)
    for got, ref in ((y, y_ref), (dx, dx_ref), (dw, dw_ref)):
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
    if bias:
        np.testing.assert_allclose(db, db_ref, rtol=1e-12)
    else:
        assert db is None


def test_input_gradient_skipped_on_request():
    x, w = np.ones((2, 3)), np.ones((4, 3))
    y, cache = linear_forward(x, w)
    dx, dw, _ = linear_backward(np.ones_like(y), cache, need_input_grad=False)
    assert dx is None
    np.testing.assert_array_equal(dw, np.full((4, 3), 2.0))
