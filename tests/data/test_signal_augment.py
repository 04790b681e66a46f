"""Signal augmentations: time shift, amplitude scale, noise; shapes kept, seeds reproduce."""

import numpy as np
import pytest

from convlens.data import Compose, GaussianNoise, RandomScale, RandomTimeShift


def _signals(n=32, c=2, length=40):
    return np.random.default_rng(0).normal(size=(n, c, length)).astype(np.float32)


ALL = [lambda: RandomTimeShift(5, seed=0), lambda: RandomScale(seed=0), lambda: GaussianNoise(0.1, seed=0)]


@pytest.mark.parametrize("make", ALL)
def test_shape_dtype_kept_input_untouched_and_seeded(make):
    x = _signals()
    before = x.copy()
    a, b = make(), make()
    out = a(x)
    assert out.shape == x.shape and out.dtype == np.float32
    np.testing.assert_array_equal(x, before)
    np.testing.assert_array_equal(out, b(x))
    assert not np.array_equal(out, a(x))


def test_time_shift_moves_every_channel_together():
    x = _signals(n=64)
    out = RandomTimeShift(max_shift=3, fill=0.0, seed=1)(x)
    seen = set()
    for o, xi in zip(out, x):
        shift = next(s for s in range(-3, 4) if np.array_equal(o, _shifted(xi, s)))
        seen.add(shift)
    assert seen == set(range(-3, 4))


def _shifted(xi, s):
    out = np.zeros_like(xi)
    if s >= 0:
        out[:, s:] = xi[:, : xi.shape[1] - s]
    else:
        out[:, :s] = xi[:, -s:]
    return out


def test_wrapped_time_shift_is_a_roll():
    x = _signals(n=20)
    out = RandomTimeShift(max_shift=4, wrap=True, seed=2)(x)
    for o, xi in zip(out, x):
        assert any(np.array_equal(o, np.roll(xi, s, axis=1)) for s in range(-4, 5))


def test_scale_multiplies_each_signal_by_one_factor_in_range():
    x = _signals()
    out = RandomScale(0.5, 2.0, seed=0)(x)
    ratio = out / x
    factors = ratio.reshape(len(x), -1)
    np.testing.assert_allclose(factors, factors[:, :1].repeat(factors.shape[1], axis=1), rtol=1e-5)
    assert 0.5 <= factors.min() and factors.max() <= 2.0


def test_noise_has_the_asked_standard_deviation():
    x = np.zeros((200, 1, 100), np.float32)
    noise = GaussianNoise(std=0.3, seed=0)(x)
    assert abs(noise.std() - 0.3) < 0.01 and abs(noise.mean()) < 0.01
    np.testing.assert_array_equal(GaussianNoise(std=0.0)(x), x)


def test_compose_of_signal_transforms():
    x = _signals()
    make = lambda: Compose([RandomTimeShift(2, seed=0), RandomScale(seed=1), GaussianNoise(0.01, seed=2)])  # noqa: E731
    np.testing.assert_array_equal(make()(x), make()(x))


@pytest.mark.parametrize("make", ALL)
def test_signal_transforms_refuse_images(make):
    with pytest.raises(ValueError, match=r"expected a batch of signals \(N, C, L\), received \(2, 1, 5, 5\)"):
        make()(np.zeros((2, 1, 5, 5), np.float32))


def test_bad_arguments():
    with pytest.raises(ValueError, match="expected max_shift a non-negative int, received -1"):
        RandomTimeShift(-1)
    with pytest.raises(ValueError, match="expected low <= high, received low=2.0, high=1.0"):
        RandomScale(2.0, 1.0)
    with pytest.raises(ValueError, match="expected std >= 0, received -0.1"):
        GaussianNoise(-0.1)
