"""``cl.Reduce`` (mean / max over chosen axes) against ``torch.mean`` / ``torch.amax``: values
and dL/dx, ties included; central differences; the errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_oracle import assert_close, tensor

import convlens as cl
from convlens.layers.spec import from_spec, to_spec

TORCH = {"mean": torch.mean, "max": torch.amax}


@pytest.mark.parametrize("kind", ["mean", "max"])
@pytest.mark.parametrize(("shape", "dims", "keepdims"), [
    ((2, 3, 4, 5), (1,), True), ((2, 3, 4, 5), (1, 3), False), ((2, 3, 4), (-1,), True),
    ((2, 3, 4), (1, 2), False), ((3, 5), 1, False),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reduce_matches_torch(kind, shape, dims, keepdims, dtype):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    layer = cl.Reduce(kind, dims, keepdims)
    xt = tensor(x, requires_grad=True)
    yt = TORCH[kind](xt, dim=dims, keepdim=keepdims)
    y = layer(x)
    assert y.dtype == dtype
    assert_close(y, yt, "forward", dtype)
    dy = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    dx = layer.backward(dy)
    yt.backward(tensor(dy))
    assert dx.dtype == dtype
    assert_close(dx, xt.grad, "dL/dx", dtype)


def test_reduce_max_shares_the_gradient_between_ties_as_torch_amax():
    x = np.array([[[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]])
    layer = cl.Reduce("max", 2, keepdims=False)
    layer(x)
    dx = layer.backward(np.array([[6.0, 3.0]]))
    xt = tensor(x, requires_grad=True)
    torch.amax(xt, dim=2).backward(torch.tensor([[6.0, 3.0]], dtype=torch.float64))
    np.testing.assert_array_equal(dx, xt.grad.numpy())
    np.testing.assert_array_equal(dx, [[[0, 3, 3], [1, 1, 1]]])


@pytest.mark.parametrize("kind", ["mean", "max"])
def test_reduce_gradcheck(kind):
    x = np.random.default_rng(2).standard_normal((2, 3, 4))
    report = cl.gradcheck(cl.Reduce(kind, (1, -1), keepdims=False), x, max_checks=40)
    assert report.ok, report


def test_reduce_config_round_trip_and_errors():
    layer = from_spec(to_spec(cl.Reduce("max", [1, -1], keepdims=False)))
    assert (layer.kind, layer.dims, layer.keepdims) == ("max", (1, -1), False)
    with pytest.raises(ValueError, match="kind must be one of"):
        cl.Reduce("sum", 1)
    with pytest.raises(ValueError, match="other than the batch axis 0, received"):
        cl.Reduce("mean", (0, 1))
    with pytest.raises(ValueError, match=r"must name axes 1 to 2 of the input .* received shape \(2, 3, 4\)"):
        cl.Reduce("mean", 3)(np.ones((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match=r"must name axes 1 to 2"):
        cl.Reduce("mean", -3)(np.ones((2, 3, 4), np.float32))


def test_max_of_booleans_is_their_or_and_stays_boolean():
    x = np.array([[[True, False], [False, False]], [[False, False], [False, True]]])
    y = cl.Reduce("max", [2])(x)
    assert y.dtype == bool
    np.testing.assert_array_equal(y, [[[True], [False]], [[False], [True]]])
    empty = cl.Reduce("max", [2], keepdims=False)
    empty.takes_empty = True
    np.testing.assert_array_equal(empty(np.zeros((1, 2, 0), bool)), [[False, False]])
    assert cl.Reduce("mean", [1])(x).dtype == np.float32   # a mean of booleans is a number
