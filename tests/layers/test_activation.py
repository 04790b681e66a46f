"""Activation layers against ``torch.nn`` (value and dL/dx), at the kinks too, and central
differences away from them."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
from torch_oracle import check_parity

import convlens as cl

DTYPES = [np.float64, np.float32]
SHAPES = [(6,), (4, 5), (2, 3, 4, 5)]

ELEMENTWISE = {
    "relu": lambda: cl.ReLU(),
    "leaky_relu": lambda: cl.LeakyReLU(),
    "leaky_relu_0.2": lambda: cl.LeakyReLU(0.2),
    "sigmoid": lambda: cl.Sigmoid(),
    "tanh": lambda: cl.Tanh(),
    "silu": lambda: cl.SiLU(),
    "swish": lambda: cl.Swish(),
    "elu": lambda: cl.ELU(),
    "elu_0.5": lambda: cl.ELU(alpha=0.5),
    "gelu": lambda: cl.GELU(),
    "gelu_tanh": lambda: cl.GELU(approximate="tanh"),
    "identity": lambda: cl.Identity(),
}


def make_input(shape, dtype, seed=1):
    """Standard normal scaled ×3 (both tails), with exact zeros where a kink is."""
    x = 3 * np.random.default_rng(seed).standard_normal(shape)
    x.reshape(-1)[::5] = 0.0
    return x.astype(dtype)


@pytest.mark.parametrize("name, shape, dtype",
                         list(itertools.product(ELEMENTWISE, SHAPES, DTYPES)))
def test_elementwise_activation_matches_torch(name, shape, dtype):
    check_parity(ELEMENTWISE[name](), make_input(shape, dtype))


@pytest.mark.parametrize("name, dtype", list(itertools.product(ELEMENTWISE, DTYPES)))
def test_extreme_inputs_stay_finite_and_match_torch(name, dtype):
    x = np.array([[-1000.0, -80.0, -20.0, -1e-3, 0.0, 1e-3, 20.0, 80.0, 1000.0]], dtype)
    # no overflow in exp on the way (underflow to 0 is fine)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        check_parity(ELEMENTWISE[name](), x)


@pytest.mark.parametrize("cls, shape, dim, dtype", [
    (cls, shape, dim, dtype)
    for cls in (cl.Softmax, cl.LogSoftmax)
    for shape, dims in [((4, 7), (0, 1, -1)), ((2, 3, 4, 5), (0, 1, 2, 3, -1, -3))]
    for dim in dims
    for dtype in DTYPES
])
def test_softmax_over_several_dims_matches_torch(cls, shape, dim, dtype):
    check_parity(cls(dim=dim), make_input(shape, dtype))


@pytest.mark.parametrize("cls", [cl.Softmax, cl.LogSoftmax])
def test_softmax_is_stable_for_large_logits(cls):
    x = np.array([[1000.0, 0.0, -1000.0], [1e4, 1e4, 1e4]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        check_parity(cls(dim=1), x)


def test_softmax_default_dim_is_the_class_axis():
    y = cl.Softmax()(make_input((2, 3, 4, 4), np.float64))
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-14)


# -- central differences (float64), away from the kinks -------------------------------------
@pytest.mark.parametrize("layer", [
    *(factory() for factory in ELEMENTWISE.values()),
    cl.Softmax(dim=1), cl.Softmax(dim=-1), cl.LogSoftmax(dim=1), cl.LogSoftmax(dim=0),
], ids=lambda layer: repr(layer))
def test_activation_gradcheck(layer):
    z = np.random.default_rng(0).standard_normal((3, 4, 5))
    x = np.sign(z) * (0.05 + 2 * np.abs(z))       # |x| >= 0.05: no kink within the nudge
    report = cl.gradcheck(layer, x, max_checks=None)
    assert set(report.errors) == {"input"}
    assert report.ok(1e-6), str(report)


def test_no_input_gradient_returns_none():
    layer = cl.Tanh()
    layer(np.ones((2, 2)))
    assert layer.backward(np.ones((2, 2)), need_input_grad=False) is None


def test_invalid_gelu_approximation():
    with pytest.raises(ValueError, match=re.escape(
            "GELU: approximate must be 'none' or 'tanh', received 'erf'")):
        cl.GELU(approximate="erf")


@pytest.mark.parametrize("layer", [cl.ReLU(), cl.Sigmoid(), cl.Softmax(), cl.GELU()],
                         ids=lambda layer: type(layer).__name__)
def test_backward_before_forward(layer):
    with pytest.raises(RuntimeError, match=re.escape(
            f"{type(layer).__name__}.backward() was called before forward()")):
        layer.backward(np.ones((2, 2)))
