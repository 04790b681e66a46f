"""Linear (Dense) against ``torch.nn.Linear``, central differences, init bounds, errors."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
from torch_oracle import check_parity, fan_in_bound

import convlens as cl

DTYPES = [np.float64, np.float32]
# (input shape, in_features, out_features): a batch, extra leading axes, a single feature,
# one feature vector without a batch axis (torch: (in,) -> (out,))
SHAPES = [((5, 7), 7, 3), ((4, 2, 6), 6, 9), ((2, 3, 2, 5), 5, 1), ((1, 1), 1, 4),
          ((64, 120), 120, 84), ((7,), 7, 3), ((1,), 1, 4)]


@pytest.mark.parametrize("shape, bias, dtype", list(itertools.product(SHAPES, [True, False], DTYPES)))
def test_linear_matches_torch(shape, bias, dtype):
    x_shape, fin, fout = shape
    cl.manual_seed(0)
    layer = cl.Linear(fin, fout, bias=bias, dtype=dtype)
    check_parity(layer, np.random.default_rng(1).standard_normal(x_shape).astype(dtype))


def test_dense_is_linear():
    assert cl.Dense is cl.Linear


@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradcheck(bias):
    cl.manual_seed(0)
    layer = cl.Linear(6, 4, bias=bias).double()
    report = cl.gradcheck(layer, np.random.default_rng(1).standard_normal((3, 2, 6)))
    assert set(report.errors) == {"input", "weight"} | ({"bias"} if bias else set())
    assert report.ok(1e-6), str(report)
    one = cl.gradcheck(layer, np.random.default_rng(2).standard_normal(6))  # one feature vector
    assert set(one.errors) == set(report.errors) and one.ok(1e-6), str(one)


def test_gradcheck_with_a_weight_ported_from_keras():
    """Keras stores a Dense kernel as (in, out): ``weight.data = kernel.T`` is a transposed
    (non-C-contiguous) array; the check must still nudge the weight itself."""
    layer = cl.Linear(6, 4, dtype=np.float64)
    kernel = np.random.default_rng(0).standard_normal((6, 4))
    layer.weight.data = kernel.T
    report = cl.gradcheck(layer, np.random.default_rng(1).standard_normal((3, 6)))
    assert report.ok(1e-6), str(report)


def test_no_input_gradient_keeps_parameter_gradients():
    cl.manual_seed(0)
    layer = cl.Linear(6, 4, dtype=np.float64)
    x = np.random.default_rng(1).standard_normal((3, 6))
    dy = np.random.default_rng(2).standard_normal((3, 4))
    layer(x)
    assert layer.backward(dy, need_input_grad=False) is None
    np.testing.assert_allclose(layer.weight.grad, dy.T @ x, rtol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, dy.sum(0), rtol=1e-12)


def test_default_init_matches_pytorch_bounds():
    cl.manual_seed(0)
    layer = cl.Linear(400, 120)
    bound = fan_in_bound(layer.weight.shape)           # 1/√400 = 0.05
    assert bound == pytest.approx(0.05)
    for p in (layer.weight.data, layer.bias.data):
        assert p.dtype == np.float32
        assert np.abs(p).max() <= bound
        assert np.abs(p).max() > 0.95 * bound


def test_named_initializers_are_used():
    layer = cl.Linear(3, 2, weight_init="ones", bias_init="zeros")
    np.testing.assert_array_equal(layer.weight.data, np.ones((2, 3)))
    np.testing.assert_array_equal(layer.bias.data, np.zeros(2))


def test_wrong_input_names_the_expected_shape_and_suggests_flatten():
    with pytest.raises(ValueError, match=re.escape(
            "Linear expects input (N, 320) or one feature vector (320,), received shape (8, 20, 4, 4) "
            "(put a Flatten() before it)")):
        cl.Linear(320, 10)(np.zeros((8, 20, 4, 4), np.float32))
    with pytest.raises(ValueError, match=re.escape(
            "Linear expects input (N, 5) or one feature vector (5,), received shape (8, 4)")):
        cl.Linear(5, 10)(np.zeros((8, 4), np.float32))
    with pytest.raises(ValueError, match=re.escape(
            "Linear expects input (N, 5) or one feature vector (5,), received shape (4,)")):
        cl.Linear(5, 10)(np.zeros(4, np.float32))


@pytest.mark.parametrize("args, message", [
    ((0, 3), "Linear: in_features must be a positive int, received 0"),
    ((3, -2), "Linear: out_features must be a positive int, received -2"),
    ((2.5, 3), "Linear: in_features must be a positive int, received 2.5"),
])
def test_invalid_sizes_fail_at_construction(args, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        cl.Linear(*args)


def test_backward_before_forward():
    with pytest.raises(RuntimeError, match=re.escape("Linear.backward() was called before")):
        cl.Linear(2, 2).backward(np.zeros((1, 2), np.float32))
