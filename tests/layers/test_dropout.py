"""Dropout and Dropout1d/2d/3d: mask statistics, scaling, eval identity, seeding,
channel-wise zeroing, the backward pass against PyTorch with a fixed mask, and p checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import convlens as cl
from convlens.functional.dropout import dropout_backward, dropout_forward
from convlens.layers.dropout import Dropout, Dropout1d, Dropout2d, Dropout3d
from convlens.layers.module import Module
from convlens.random import manual_seed


def within_binomial(kept: int, n: int, p_keep: float, sigmas: float = 5.0) -> bool:
    return abs(kept - n * p_keep) <= sigmas * math.sqrt(n * p_keep * (1 - p_keep))


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_fraction_kept_is_one_minus_p_and_survivors_are_scaled(p):
    x = np.random.default_rng(0).uniform(1.0, 2.0, (50, 40, 20))  # never 0: zeros mean dropped
    y = Dropout(p, seed=1)(x)
    kept = y != 0
    assert within_binomial(int(kept.sum()), x.size, 1 - p), kept.mean()
    np.testing.assert_allclose(y[kept], x[kept] / (1 - p), rtol=1e-15)
    # the expectation is preserved, E[y] = x: Σy − Σx has standard deviation √(Σx²·p/(1 − p))
    assert abs(y.sum() - x.sum()) <= 5 * math.sqrt((x**2).sum() * p / (1 - p))


@pytest.mark.parametrize("cls, shape", [(Dropout1d, (60, 50, 7)), (Dropout2d, (40, 50, 3, 4)),
                                        (Dropout3d, (30, 40, 2, 3, 2))])
@pytest.mark.parametrize("p", [0.25, 0.6])
def test_channel_dropout_zeroes_whole_channels(cls, shape, p):
    x = np.random.default_rng(0).uniform(1.0, 2.0, shape)
    y = cls(p, seed=2)(x)
    per_channel = (y != 0).reshape(*shape[:2], -1)
    channel_kept = per_channel.all(axis=-1)
    # every channel is either kept entirely or zeroed entirely
    assert np.array_equal(channel_kept, per_channel.any(axis=-1))
    assert within_binomial(int(channel_kept.sum()), shape[0] * shape[1], 1 - p)
    np.testing.assert_allclose(y[y != 0], x[y != 0] / (1 - p), rtol=1e-15)


@pytest.mark.parametrize("cls, shape", [(Dropout, (4, 5, 6)), (Dropout2d, (4, 5, 3, 3))])
def test_eval_mode_is_the_identity(cls, shape):
    layer = cls(0.5).eval()
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    y = layer(x)
    np.testing.assert_array_equal(y, x)
    dy = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    np.testing.assert_array_equal(layer.backward(dy), dy)
    assert layer.mask is None


def test_p_zero_keeps_everything_and_p_one_drops_everything():
    x = np.random.default_rng(0).standard_normal((8, 6))
    np.testing.assert_array_equal(Dropout(0.0)(x), x)
    layer = Dropout(1.0)
    np.testing.assert_array_equal(layer(x), np.zeros_like(x))
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), np.zeros_like(x))


def test_seeded_layers_reproduce_and_differ_from_other_seeds():
    x = np.ones((20, 30))
    a, b, c = Dropout(0.5, seed=7), Dropout(0.5, seed=7), Dropout(0.5, seed=8)
    first = [a(x), a(x)]
    np.testing.assert_array_equal(first[0], b(x))
    np.testing.assert_array_equal(first[1], b(x))
    assert not np.array_equal(first[0], first[1])  # a new mask at every forward pass
    assert not np.array_equal(first[0], c(x))


def test_global_seed_drives_unseeded_layers():
    x = np.ones((20, 30))
    manual_seed(123)
    y1 = Dropout(0.3)(x)
    manual_seed(123)
    y2 = Dropout(0.3)(x)
    np.testing.assert_array_equal(y1, y2)
    manual_seed(124)
    assert not np.array_equal(y1, Dropout(0.3)(x))
    # a seeded layer ignores the global generator (and leaves it alone)
    manual_seed(5)
    state = cl.get_rng().bit_generator.state
    Dropout(0.3, seed=1)(x)
    assert cl.get_rng().bit_generator.state == state


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("p", [0.2, 0.5])
@pytest.mark.parametrize("channelwise", [False, True])
def test_backward_matches_torch_with_the_same_mask(dtype, p, channelwise):
    shape = (4, 3, 5, 2)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    layer = (Dropout2d if channelwise else Dropout)(p, seed=3)
    y = layer(x)
    mask = layer.mask
    assert mask.shape == ((4, 3, 1, 1) if channelwise else shape)
    assert y.dtype == dtype
    # torch's dropout is x * mask / (1 − p): feed it our mask, compare y and dL/dx
    xt = torch.tensor(x, requires_grad=True)
    yt = xt * torch.from_numpy(mask.astype(dtype)) / (1 - p)
    tol = 1e-15 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=tol, atol=tol)
    dy = rng.standard_normal(shape).astype(dtype)
    yt.backward(torch.from_numpy(dy))
    dx = layer.backward(dy)
    assert dx.dtype == dtype
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=tol, atol=tol)
    assert layer.backward(dy, need_input_grad=False) is None


class FixedMaskDropout(Module):
    """The dropout op with a frozen mask, so central differences see one function."""

    def __init__(self, mask, p):
        super().__init__()
        self.mask, self.p, self._cache = mask, p, None

    def forward(self, x):
        y, self._cache = dropout_forward(x, self.mask, self.p)
        return y

    def backward(self, dy, need_input_grad=True):
        return dropout_backward(dy, self._cached())


def test_central_differences_with_a_fixed_mask_and_in_eval():
    mask = np.random.default_rng(0).random((3, 4, 5)) >= 0.4
    x = np.random.default_rng(1).standard_normal((3, 4, 5))
    report = cl.gradcheck(FixedMaskDropout(mask, 0.4), x, max_checks=None)
    assert report.max_error < 1e-8, str(report)
    assert cl.gradcheck(Dropout2d(0.5).eval(), x[..., None], max_checks=None).max_error < 1e-8


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan"), "half", None, True])
@pytest.mark.parametrize("cls", [Dropout, Dropout1d, Dropout2d, Dropout3d])
def test_invalid_p_is_refused(cls, p):
    with pytest.raises(ValueError, match=rf"^{cls.__name__}: p \(the probability of zeroing an "
                                         rf"element\) must be a number in \[0, 1\], received "):
        cls(p)


def test_invalid_p_message_names_the_value():
    with pytest.raises(ValueError, match=r"^Dropout: p \(the probability of zeroing an element\) "
                                         r"must be a number in \[0, 1\], received 1\.5$"):
        Dropout(1.5)


@pytest.mark.parametrize("cls, shape, message", [
    (Dropout2d, (3, 8, 8), r"Dropout2d expects a 4-D input \(N, C, H, W\), received shape "
                           r"\(3, 8, 8\) \(3-D\); for a single example add a batch axis"),
    (Dropout1d, (2, 3, 4, 5), r"Dropout1d expects a 3-D input \(N, C, L\)"),
    (Dropout3d, (2, 3), r"Dropout3d expects a 5-D input \(N, C, D, H, W\)"),
])
def test_channel_dropout_checks_the_rank(cls, shape, message):
    with pytest.raises(ValueError, match=message):
        cls(0.5)(np.ones(shape))
    with pytest.raises(ValueError, match=message):  # in eval too: the model is wrong either way
        cls(0.5).eval()(np.ones(shape))


def test_backward_before_forward_and_repr():
    with pytest.raises(RuntimeError, match=r"Dropout\.backward\(\) was called before forward"):
        Dropout(0.5).backward(np.ones(3))
    assert repr(Dropout(0.25)) == "Dropout(p=0.25)"
    assert repr(Dropout2d(0.1, seed=4)) == "Dropout2d(p=0.1, seed=4)"
    assert Dropout(0.2).parameters() == []


def test_integer_input_is_scaled_in_floating_point_not_truncated():
    y = Dropout(0.5, seed=0)(np.full((10, 10), 3))
    assert y.dtype == np.float32
    assert set(np.unique(y)) <= {0.0, 6.0} and (y == 6.0).any()
