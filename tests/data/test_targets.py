"""Regression and binary variants of mnist-5k, and the helpers behind them."""

import numpy as np
import pytest

from convlens.data import as_binary, as_regression, ink_pixels, load_dataset, mean_brightness


@pytest.fixture(scope="module")
def digits():
    return load_dataset("mnist-5k")


def test_brightness_variant_is_the_mean_pixel(digits):
    ds = load_dataset("mnist-5k-brightness")
    assert ds.task == "regression" and ds.num_outputs == 1 and ds.target_names == ("mean brightness",)
    assert ds.y_train.dtype == np.float32 and ds.y_train.shape == (4000,)
    np.testing.assert_array_equal(ds.x_test, digits.x_test)  # same images, same split
    np.testing.assert_allclose(ds.y_test, digits.x_test.mean(axis=(1, 2, 3)), rtol=1e-5)
    assert 0.05 < ds.y_train.mean() < 0.25
    # a 1 uses less ink than an 8: the target carries information about the digit
    assert ds.y_train[digits.y_train == 1].mean() < 0.7 * ds.y_train[digits.y_train == 8].mean()


def test_ink_variant_counts_bright_pixels(digits):
    ds = load_dataset("mnist-5k-ink")
    np.testing.assert_array_equal(ds.y_train[:10], (digits.x_train[:10] > 0.5).sum(axis=(1, 2, 3)))
    assert (
        ds.summary()
        == "mnist-5k-ink: 4000 train / 1000 test images of 1x28x28, regression on 1 target (ink pixels)"
    )


def test_is_0_variant(digits):
    ds = load_dataset("mnist-5k-is-0")
    assert ds.task == "binary" and ds.class_names == ("not 0", "0") and ds.num_outputs == 1
    np.testing.assert_array_equal(ds.y_train, (digits.y_train == 0).astype(np.int64))
    assert ds.y_train.sum() == 400 and ds.y_test.sum() == 100


def test_as_binary_by_name_or_index_and_errors(digits):
    small = digits.subset(100, 20)
    by_name = as_binary(small, "7")
    np.testing.assert_array_equal(by_name.y_train, as_binary(small, 7).y_train)
    assert by_name.name == "mnist-5k-is-7"
    with pytest.raises(ValueError, match=r"no class named 'seven'; classes: \['0', '1'"):
        as_binary(small, "seven")
    with pytest.raises(ValueError, match=r"expected a class index in \[0, 9\], received 10"):
        as_binary(small, 10)


def test_as_regression_with_several_targets(digits):
    small = digits.subset(50, 10)

    def two(x):
        return np.stack([mean_brightness(x), ink_pixels(x, threshold=0.2)], axis=1)

    ds = as_regression(small, two, "stats")
    assert ds.num_outputs == 2 and ds.target_names == ("stats[0]", "stats[1]") and ds.y_test.shape == (10, 2)
