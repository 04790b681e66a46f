"""Initializers: fans and gains equal PyTorch's; samples have the theoretical mean and spread.

The statistical checks draw ~600,000 values from a seeded generator and allow 5 standard
errors: a correct initializer passes (and, being seeded, always the same way); a wrong scale
(e.g. fan_out for fan_in, or a missing gain) is off by tens or hundreds of standard errors.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

import convlens as cl
from convlens import init

# Linear, Conv1d, Conv2d, Conv3d, a grouped Conv2d and a 1×1 conv
SHAPES = [(120, 400), (16, 3, 5), (6, 1, 5, 5), (8, 4, 3, 2, 2), (32, 4, 3, 3), (64, 32, 1, 1)]
BIG = (512, 128, 3, 3)          # 589,824 values; fan_in 1152, fan_out 4608
KURTOSIS = {"normal": 3.0, "uniform": 9 / 5}


def torch_fans(shape):
    return torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))


def assert_moments(values, mean, std, family):
    """Sample mean and std within 5 standard errors of (mean, std)."""
    n = values.size
    se_mean = std / math.sqrt(n)
    se_std = std * math.sqrt((KURTOSIS[family] - 1) / (4 * n))
    assert abs(values.mean() - mean) <= 5 * se_mean, (values.mean(), mean, se_mean)
    assert abs(values.std() - std) <= 5 * se_std, (values.std(), std, se_std)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_fans_equal_torch(shape):
    assert init.calculate_fan_in_and_fan_out(shape) == torch_fans(shape)


def test_fans_need_two_axes():
    with pytest.raises(ValueError, match=re.escape(
            "fan in and fan out need a weight with at least 2 axes, received shape (3,)")):
        init.calculate_fan_in_and_fan_out((3,))


@pytest.mark.parametrize("nonlinearity, param", [
    ("linear", None), ("conv1d", None), ("conv2d", None), ("conv3d", None), ("sigmoid", None),
    ("tanh", None), ("relu", None), ("selu", None), ("leaky_relu", None), ("leaky_relu", 0),
    ("leaky_relu", 0.2), ("leaky_relu", 1), ("leaky_relu", math.sqrt(5)),
])
def test_gains_equal_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param), rel=1e-15)


def test_identity_gain_and_unknown_nonlinearity():
    assert init.calculate_gain("identity") == 1.0
    with pytest.raises(ValueError, match=re.escape("unknown nonlinearity 'swish'")):
        init.calculate_gain("swish")


# (name, call, family, mean, std) with the std from torch's fan and gain functions
FAN_IN, FAN_OUT = torch_fans(BIG)
GAIN = torch.nn.init.calculate_gain
CASES = [
    ("normal", lambda w: init.normal_(w, 0.5, 2.0), "normal", 0.5, 2.0),
    ("uniform", lambda w: init.uniform_(w, -1.0, 3.0), "uniform", 1.0, 4 / math.sqrt(12)),
    ("xavier_uniform", lambda w: init.xavier_uniform_(w), "uniform", 0.0,
     math.sqrt(6 / (FAN_IN + FAN_OUT)) / math.sqrt(3)),
    ("xavier_uniform_tanh", lambda w: init.xavier_uniform_(w, gain=GAIN("tanh")), "uniform",
     0.0, GAIN("tanh") * math.sqrt(6 / (FAN_IN + FAN_OUT)) / math.sqrt(3)),
    ("xavier_normal", lambda w: init.xavier_normal_(w), "normal", 0.0,
     math.sqrt(2 / (FAN_IN + FAN_OUT))),
    ("kaiming_uniform_relu", lambda w: init.kaiming_uniform_(w, nonlinearity="relu"),
     "uniform", 0.0, GAIN("relu") / math.sqrt(FAN_IN)),
    ("kaiming_uniform_fan_out", lambda w: init.kaiming_uniform_(w, mode="fan_out"), "uniform",
     0.0, GAIN("leaky_relu", 0) / math.sqrt(FAN_OUT)),
    ("kaiming_normal_relu", lambda w: init.kaiming_normal_(w, nonlinearity="relu"), "normal",
     0.0, GAIN("relu") / math.sqrt(FAN_IN)),
    ("kaiming_normal_leaky_fan_out",
     lambda w: init.kaiming_normal_(w, a=0.2, mode="fan_out"), "normal", 0.0,
     GAIN("leaky_relu", 0.2) / math.sqrt(FAN_OUT)),
    ("default_weight", init.default_weight_init_, "uniform", 0.0,
     1 / math.sqrt(FAN_IN) / math.sqrt(3)),
    ("default_bias", lambda w: init.default_bias_init_(w, 25), "uniform", 0.0,
     1 / 5 / math.sqrt(3)),
]


@pytest.mark.parametrize("name, fill, family, mean, std", CASES, ids=[c[0] for c in CASES])
def test_sample_moments_match_theory(name, fill, family, mean, std):
    cl.manual_seed(0)
    w = cl.Parameter(np.empty(BIG, np.float32))
    assert fill(w) is w
    values = w.data.astype(np.float64)
    assert_moments(values, mean, std, family)
    if family == "uniform":            # and the support is the stated interval
        half = std * math.sqrt(3)
        assert values.min() >= mean - half - 1e-7 and values.max() <= mean + half + 1e-7
        assert values.max() > mean + 0.999 * half and values.min() < mean - 0.999 * half


def test_moment_check_detects_a_wrong_fan():
    """kaiming with fan_out where fan_in is meant is 2× too narrow here: far outside 5 SE."""
    cl.manual_seed(0)
    w = init.kaiming_normal_(np.empty(BIG), mode="fan_out", nonlinearity="relu")
    with pytest.raises(AssertionError):
        assert_moments(w, 0.0, GAIN("relu") / math.sqrt(FAN_IN), "normal")


@pytest.mark.parametrize("make", [
    lambda: cl.Linear(400, 120), lambda: cl.Conv1d(3, 16, 5), lambda: cl.Conv2d(32, 64, 3),
    lambda: cl.Conv2d(32, 64, 3, groups=8), lambda: cl.Conv3d(4, 8, (3, 2, 2)),
], ids=["linear", "conv1d", "conv2d", "conv2d_groups", "conv3d"])
def test_layer_defaults_are_pytorchs_uniform_bound(make):
    """U(±1/√fan_in) for weight and bias, fan_in from torch for the same weight shape."""
    cl.manual_seed(0)
    layer = make()
    fan_in, _ = torch_fans(layer.weight.shape)
    bound = 1 / math.sqrt(fan_in)
    for p in (layer.weight.data, layer.bias.data):
        assert np.abs(p).max() <= bound
    weights = layer.weight.data.astype(np.float64)
    assert_moments(weights, 0.0, bound / math.sqrt(3), "uniform")


def test_constant_initializers_work_on_parameters_and_arrays():
    p = cl.Parameter(np.empty((2, 3)))
    assert init.zeros_(p) is p and not p.data.any()
    assert (init.ones_(p).data == 1).all()
    a = np.empty(4, np.float32)
    assert init.constant_(a, 0.25) is a and (a == 0.25).all() and a.dtype == np.float32


def test_reproducible_from_a_seed_or_an_rng():
    cl.manual_seed(7)
    a = init.kaiming_normal_(np.empty((4, 5)))
    cl.manual_seed(7)
    b = init.kaiming_normal_(np.empty((4, 5)))
    np.testing.assert_array_equal(a, b)
    c = init.xavier_uniform_(np.empty((4, 5)), rng=np.random.default_rng(3))
    d = init.xavier_uniform_(np.empty((4, 5)), rng=np.random.default_rng(3))
    np.testing.assert_array_equal(c, d)
    assert not np.array_equal(a, init.kaiming_normal_(np.empty((4, 5))))


def test_initializers_by_name():
    assert init.get_initializer("he_normal") is init.kaiming_normal_
    assert init.get_initializer("glorot_uniform") is init.xavier_uniform_
    assert init.get_initializer("gaussian") is init.normal_
    fn = lambda p: p  # noqa: E731
    assert init.get_initializer(fn) is fn
    with pytest.raises(ValueError, match=re.escape("unknown initializer 'lecun'; expected one of")):
        init.get_initializer("lecun")
    layer = cl.Conv2d(2, 4, 3, weight_init="he_uniform", bias_init="zeros")
    assert not layer.bias.data.any()
    assert np.abs(layer.weight.data).max() <= math.sqrt(2) * math.sqrt(3 / 18)


def test_bad_mode():
    with pytest.raises(ValueError, match=re.escape(
            "mode must be 'fan_in' or 'fan_out', received 'fan_avg'")):
        init.kaiming_uniform_(np.empty((3, 3)), mode="fan_avg")
