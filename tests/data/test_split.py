"""Stratified splits: exact sizes, class shares, determinism."""

import numpy as np
import pytest

from convlens.data.split import random_split, stratified_split, train_val_split


def test_split_is_disjoint_complete_and_stratified():
    y = np.repeat(np.arange(10), 500)
    keep, held = stratified_split(y, 0.2, seed=3)
    assert len(held) == 1000 and len(keep) == 4000
    assert np.array_equal(np.sort(np.concatenate([keep, held])), np.arange(5000))
    np.testing.assert_array_equal(np.bincount(y[held]), np.full(10, 100))
    # the order mixes the classes: the first 100 held-out examples are not all one digit
    assert len(np.unique(y[held[:100]])) == 10


def test_uneven_classes_get_exact_total_and_proportional_shares():
    y = np.array([0] * 7 + [1] * 3 + [2] * 10)
    keep, held = stratified_split(y, 0.25, seed=0)
    assert len(held) == 5  # round(20 * 0.25)
    # exact shares 1.75, 0.75, 2.5: floors 1, 0, 2; the two largest remainders get one more
    np.testing.assert_array_equal(np.bincount(y[held], minlength=3), [2, 1, 2])


def test_same_seed_same_split_other_seed_other_split():
    y = np.repeat(np.arange(3), 50)
    a = stratified_split(y, 0.3, seed=7)
    b = stratified_split(y, 0.3, seed=7)
    c = stratified_split(y, 0.3, seed=8)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert not np.array_equal(np.sort(a[1]), np.sort(c[1]))


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_fraction_out_of_range(fraction):
    with pytest.raises(ValueError, match=f"strictly between 0 and 1, received {fraction}"):
        stratified_split(np.zeros(10, dtype=int), fraction)


def test_fraction_leaving_an_empty_part():
    with pytest.raises(ValueError, match="leaves 0 held out and 3 kept"):
        stratified_split(np.zeros(3, dtype=int), 0.1)


def test_train_val_split_keeps_pairs_together():
    x = np.arange(40, dtype=np.float32).reshape(40, 1, 1, 1)
    y = np.arange(40) % 4
    (x_tr, y_tr), (x_val, y_val) = train_val_split(x, y, val_fraction=0.25, seed=1)
    assert x_tr.shape == (30, 1, 1, 1) and x_val.shape == (10, 1, 1, 1)
    np.testing.assert_array_equal(x_tr.ravel().astype(int) % 4, y_tr)
    np.testing.assert_array_equal(x_val.ravel().astype(int) % 4, y_val)
    assert not set(x_tr.ravel()) & set(x_val.ravel())


def test_train_val_split_length_mismatch():
    with pytest.raises(ValueError, match="received 5 inputs and 4 labels"):
        train_val_split(np.zeros((5, 1, 2, 2)), np.zeros(4, dtype=int))


def test_random_split_sizes_and_seed():
    keep, held = random_split(20, 0.25, seed=1)
    assert len(held) == 5 and len(keep) == 15
    assert np.array_equal(np.sort(np.concatenate([keep, held])), np.arange(20))
    assert np.array_equal(random_split(20, 0.25, seed=1)[1], held)
    assert not np.array_equal(random_split(20, 0.25, seed=2)[1], held)
    with pytest.raises(ValueError, match="leaves 0 held out and 3 kept"):
        random_split(3, 0.1)


def test_float_targets_are_split_at_random_not_stratified():
    # stratifying 100 distinct values would hold out the smallest ones (one "class" each)
    y = np.linspace(0.0, 1.0, 100).astype(np.float32)
    x = y.reshape(100, 1, 1, 1)
    (_, y_tr), (_, y_val) = train_val_split(x, y, val_fraction=0.2, seed=0)
    assert len(y_val) == 20 and y_val.max() > 0.5 and y_tr.min() < 0.2
    np.testing.assert_array_equal(np.sort(np.concatenate([y_tr, y_val])), y)
