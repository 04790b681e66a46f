"""Initializers chosen per layer with weight_init= / bias_init=."""

import math

import numpy as np
import pytest

import convlens as cl


def test_he_normal_conv_weights_have_the_he_standard_deviation():
    cl.manual_seed(0)
    conv = cl.Conv2d(64, 128, 3, weight_init="he_normal", bias_init="zeros")
    fan_in = 64 * 9
    w = conv.weight.data
    # std of 73,728 samples: standard error of the std is about std/√(2n) = 0.26 %
    assert w.std() == pytest.approx(math.sqrt(2 / fan_in), rel=0.02)
    assert abs(w.mean()) < 5 * math.sqrt(2 / fan_in) / math.sqrt(w.size)
    np.testing.assert_array_equal(conv.bias.data, 0)


def test_xavier_uniform_linear_weights_stay_in_the_glorot_bound():
    cl.manual_seed(1)
    layer = cl.Linear(300, 100, weight_init="glorot_uniform", bias_init="ones")
    bound = math.sqrt(6 / (300 + 100))
    w = layer.weight.data
    assert w.max() <= bound and w.min() >= -bound
    assert w.max() > 0.99 * bound and w.min() < -0.99 * bound  # fills the interval
    assert w.var() == pytest.approx(bound**2 / 3, rel=0.03)
    np.testing.assert_array_equal(layer.bias.data, 1)


def test_callable_initializer_and_default():
    layer = cl.Conv1d(2, 3, 5, weight_init=lambda p: cl.init.constant_(p, 0.5))
    np.testing.assert_array_equal(layer.weight.data, 0.5)
    default = cl.Conv1d(2, 3, 5)
    bound = 1 / math.sqrt(2 * 5)  # PyTorch's default: U(±1/√fan_in)
    assert np.abs(default.weight.data).max() <= bound


def test_unknown_initializer_is_named():
    with pytest.raises(ValueError, match=r"unknown initializer 'he'; expected one of \["):
        cl.Linear(3, 2, weight_init="he")
