"""Image augmentations: shapes kept, exact mirror, shifted content, rotation, erasing, seeds."""

import numpy as np
import pytest

from convlens.data import (
    Compose,
    RandomCrop,
    RandomErasing,
    RandomHorizontalFlip,
    RandomRotation,
    RandomShift,
    rotate,
)


def _batch(n=16, c=3, h=12, w=10, seed=0):
    return np.random.default_rng(seed).random((n, c, h, w)).astype(np.float32)


ALL = [
    lambda: RandomCrop(padding=3, seed=0),
    lambda: RandomShift(2, seed=0),
    lambda: RandomHorizontalFlip(seed=0),
    lambda: RandomRotation(20, seed=0),
    lambda: RandomErasing(p=1.0, seed=0),
]


@pytest.mark.parametrize("make", ALL)
def test_shape_and_dtype_kept_and_input_untouched(make):
    x = _batch()
    before = x.copy()
    out = make()(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("make", ALL)
def test_same_seed_same_result_new_draw_each_call(make):
    x = _batch()
    a, b = make(), make()
    first = a(x)
    np.testing.assert_array_equal(first, b(x))
    assert not np.array_equal(first, a(x))  # the generator moves on


def test_flip_is_an_exact_mirror_of_the_chosen_images():
    x = _batch(n=200)
    out = RandomHorizontalFlip(p=0.5, seed=1)(x)
    flipped = np.array([np.array_equal(o, xi[..., ::-1]) for o, xi in zip(out, x)])
    kept = np.array([np.array_equal(o, xi) for o, xi in zip(out, x)])
    assert np.all(flipped ^ kept)
    assert 70 < flipped.sum() < 130
    np.testing.assert_array_equal(RandomHorizontalFlip(p=1.0)(x), x[..., ::-1])
    np.testing.assert_array_equal(RandomHorizontalFlip(p=0.0)(x), x)


def test_crop_with_padding_shifts_content_within_padding():
    x = np.zeros((64, 1, 9, 9), np.float32)
    x[:, 0, 4, 4] = 1.0  # one bright pixel in the centre
    out = RandomCrop(padding=2, seed=0)(x)
    _, rows, cols = np.nonzero(out[:, 0] == 1.0)
    assert len(rows) == 64  # the pixel survives in every crop (shift <= padding)
    assert set(rows - 4) == {-2, -1, 0, 1, 2} and set(cols - 4) == {-2, -1, 0, 1, 2}
    assert out.sum() == 64


def test_crop_to_a_smaller_size_is_a_window_of_the_image():
    x = _batch(n=8, c=2, h=10, w=10)
    out = RandomCrop(size=(4, 6), seed=3)(x)
    assert out.shape == (8, 2, 4, 6)
    for o, xi in zip(out, x):
        windows = np.lib.stride_tricks.sliding_window_view(xi, (4, 6), axis=(1, 2))
        assert any(np.array_equal(o, windows[:, i, j]) for i in range(7) for j in range(5))


def test_crop_that_cannot_fit_explains_the_numbers():
    with pytest.raises(
        ValueError, match=r"a 20x20 window does not fit in 12x10 images padded by \(2, 2\): 12\+2\*2=16"
    ):
        RandomCrop(size=20, padding=2)(_batch())


def test_shift_moves_content_and_fills_behind():
    x = np.ones((50, 1, 7, 7), np.float32)
    out = RandomShift(max_pixels=3, fill=-1.0, seed=0)(x)
    # each image is a block of ones, shifted: the number of filled rows/cols is the shift
    for o in out[:, 0]:
        ones = o == 1.0
        r, c = ones.any(axis=1).sum(), ones.any(axis=0).sum()
        assert 4 <= r <= 7 and 4 <= c <= 7 and ones.sum() == r * c
        assert np.all(o[~ones] == -1.0)


def test_rotation_by_zero_is_the_identity():
    x = _batch()
    np.testing.assert_array_equal(rotate(x, np.zeros(len(x))), x)
    np.testing.assert_array_equal(RandomRotation(0, seed=0)(x), x)


@pytest.mark.parametrize("turns", [1, 2, 3, -1])
def test_rotation_by_right_angles_equals_rot90_on_square_images(turns):
    x = _batch(n=4, c=2, h=11, w=11)
    out = rotate(x, np.full(4, 90.0 * turns))
    np.testing.assert_allclose(out, np.rot90(x, k=turns, axes=(2, 3)), atol=1e-5)


def test_rotation_is_counter_clockwise_and_fills_corners():
    x = np.zeros((1, 1, 5, 5), np.float32)
    x[0, 0, 0, 4] = 1.0  # top-right corner
    out = rotate(x, np.array([90.0]))
    assert out[0, 0, 0, 0] == pytest.approx(1.0)  # counter-clockwise: top-right goes to top-left
    ones = np.ones((1, 1, 9, 9), np.float32)
    turned = rotate(ones, np.array([45.0]), fill=0.0)
    assert turned[0, 0, 0, 0] == 0.0 and turned[0, 0, 4, 4] == pytest.approx(1.0)


def test_rotation_of_a_smooth_image_matches_a_pointwise_reference():
    h = w = 15
    r, c = np.mgrid[0:h, 0:w].astype(np.float64)
    x = (0.3 * r + 0.1 * c)[None, None].astype(np.float64)  # a plane: bilinear is exact on it
    angle = 17.0
    out = rotate(x, np.array([angle]), fill=np.nan)
    a = np.deg2rad(angle)
    cy = cx = (h - 1) / 2
    X, Y = c - cx, cy - r
    src_c = X * np.cos(a) + Y * np.sin(a) + cx
    src_r = cy - (-X * np.sin(a) + Y * np.cos(a))
    inside = (src_r >= 0) & (src_r <= h - 1) & (src_c >= 0) & (src_c <= w - 1)
    np.testing.assert_allclose(out[0, 0][inside], (0.3 * src_r + 0.1 * src_c)[inside], atol=1e-9)


def test_erasing_sets_one_rectangle_of_the_right_area():
    x = np.ones((300, 2, 20, 20), np.float32)
    scale = (0.05, 0.2)
    out = RandomErasing(p=1.0, scale=scale, ratio=(0.5, 2.0), seed=0)(x)
    for o in out:
        erased = o[0] == 0.0
        np.testing.assert_array_equal(erased, o[1] == 0.0)  # all channels together
        rows, cols = np.nonzero(erased.any(axis=1))[0], np.nonzero(erased.any(axis=0))[0]
        h, w = np.ptp(rows) + 1, np.ptp(cols) + 1
        assert erased.sum() == h * w == len(rows) * len(cols)  # one solid rectangle
        # rounding sides to whole pixels moves the area by at most about one row and one column
        assert scale[0] * 400 - (h + w) <= h * w <= scale[1] * 400 + (h + w)


def test_erasing_probability():
    x = np.ones((400, 1, 8, 8), np.float32)
    out = RandomErasing(p=0.25, seed=0)(x)
    erased = (out == 0).any(axis=(1, 2, 3)).mean()
    assert 0.18 < erased < 0.32
    np.testing.assert_array_equal(RandomErasing(p=0.0)(x), x)


def test_compose_applies_in_order_and_is_reproducible():
    x = _batch()

    def make():
        return Compose([RandomCrop(padding=2, seed=0), RandomHorizontalFlip(seed=1), RandomErasing(seed=2)])

    np.testing.assert_array_equal(make()(x), make()(x))
    flip_then = Compose([RandomHorizontalFlip(p=1.0), RandomHorizontalFlip(p=1.0)])
    np.testing.assert_array_equal(flip_then(x), x)
    assert "RandomCrop(size=None, padding=(2, 2)" in repr(make())


@pytest.mark.parametrize("make", ALL)
def test_image_transforms_refuse_signals(make):
    with pytest.raises(ValueError, match=r"expected a batch of images \(N, C, H, W\), received \(4, 1, 30\)"):
        make()(np.zeros((4, 1, 30), np.float32))


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"expected a probability p in \[0, 1\], received 1.5"):
        RandomHorizontalFlip(p=1.5)
    with pytest.raises(ValueError, match=r"expected 0 < scale\[0\] <= scale\[1\] <= 1"):
        RandomErasing(scale=(0.5, 0.1))
    with pytest.raises(ValueError, match="expected padding >= 0"):
        RandomCrop(padding=-1)
    with pytest.raises(ValueError, match="expected degrees >= 0"):
        RandomRotation(-5)
