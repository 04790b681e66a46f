"""Flatten and Reshape against torch (``nn.Flatten``, ``Tensor.reshape``)."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
from torch_oracle import check_parity

import convlens as cl

DTYPES = [np.float64, np.float32]


@pytest.mark.parametrize("dims, dtype", list(itertools.product(
    [(1, -1), (0, -1), (1, 2), (2, 3), (-3, -2), (0, 0)], DTYPES)))
def test_flatten_matches_torch(dims, dtype):
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype(dtype)
    check_parity(cl.Flatten(*dims), x)


def test_flatten_default_gives_one_vector_per_example():
    assert cl.Flatten()(np.zeros((8, 20, 4, 4))).shape == (8, 320)


@pytest.mark.parametrize("shape, target, dtype", [
    ((2, 12), (3, 4), np.float64), ((2, 3, 4), (-1,), np.float32), ((2, 24), (2, -1, 3),
                                                                    np.float64),
    ((3, 2, 2, 2), (8, 1), np.float32),
])
def test_reshape_matches_torch(shape, target, dtype):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    y = check_parity(cl.Reshape(*target), x)
    assert y.shape[0] == shape[0]


def test_reshape_accepts_a_tuple():
    assert cl.Reshape((3, 4)).shape == cl.Reshape(3, 4).shape == (3, 4)


@pytest.mark.parametrize("layer", [cl.Flatten(), cl.Reshape(6, 2)], ids=repr)
def test_shape_gradcheck(layer):
    x = np.random.default_rng(0).standard_normal((2, 3, 2, 2))
    report = cl.gradcheck(layer, x, max_checks=None)
    assert report.ok(1e-8), str(report)


def test_reshape_error_names_the_sizes():
    with pytest.raises(ValueError, match=re.escape(
            "Reshape(5, 5): expected an input with 25 values per example to reshape to (N, 5, 5), "
            "received shape (2, 3, 4) (12 values per example)")):
        cl.Reshape(5, 5)(np.zeros((2, 3, 4)))


@pytest.mark.parametrize("layer", [cl.Flatten(), cl.Reshape(4)], ids=repr)
def test_backward_before_forward(layer):
    with pytest.raises(RuntimeError, match=re.escape(
            f"{type(layer).__name__}.backward() was called before forward()")):
        layer.backward(np.zeros((1, 4)))
