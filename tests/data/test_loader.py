"""DataLoader: batch sizes, seeding, drop_last, argument checks."""

import numpy as np
import pytest

from convlens.data.loader import DataLoader


def _data(n=10):
    return np.arange(n, dtype=np.float32).reshape(n, 1, 1, 1), np.arange(n)


def test_unshuffled_batches_in_order_with_short_last_batch():
    x, y = _data(10)
    loader = DataLoader(x, y, batch_size=4, shuffle=False)
    batches = list(loader)
    assert len(loader) == 3 == len(batches)
    assert [len(yb) for _, yb in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in batches]), y)


def test_drop_last():
    x, y = _data(10)
    loader = DataLoader(x, y, batch_size=4, shuffle=False, drop_last=True)
    assert len(loader) == 2
    assert [len(yb) for _, yb in loader] == [4, 4]
    assert len(DataLoader(x, y, batch_size=11, drop_last=True)) == 0


def test_shuffle_visits_every_example_once_and_keeps_pairs():
    x, y = _data(23)
    for xb, yb in DataLoader(x, y, batch_size=5, seed=0):
        np.testing.assert_array_equal(xb.ravel(), yb)
    seen = np.concatenate([yb for _, yb in DataLoader(x, y, batch_size=5, seed=0)])
    assert sorted(seen) == list(range(23)) and not np.array_equal(seen, y)


def test_same_seed_same_batches_every_epoch_and_new_order_each_epoch():
    x, y = _data(50)

    def epochs(loader, n=3):
        return [np.concatenate([yb for _, yb in loader]) for _ in range(n)]

    a = epochs(DataLoader(x, y, batch_size=8, seed=42))
    b = epochs(DataLoader(x, y, batch_size=8, seed=42))
    c = epochs(DataLoader(x, y, batch_size=8, seed=43))
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert not np.array_equal(a[0], a[1])  # a fresh order each epoch
    assert not np.array_equal(a[0], c[0])


def test_length_mismatch():
    with pytest.raises(ValueError, match="received 10 inputs and 9 labels"):
        DataLoader(np.zeros((10, 1, 2, 2)), np.zeros(9), batch_size=2)


@pytest.mark.parametrize("bad", [0, -3])
def test_batch_size_must_be_positive(bad):
    x, y = _data()
    with pytest.raises(ValueError, match=f"expected batch_size >= 1, received {bad}"):
        DataLoader(x, y, batch_size=bad)


@pytest.mark.parametrize("bad", [2.5, "8", True])
def test_batch_size_must_be_an_integer(bad):
    x, y = _data()
    with pytest.raises(TypeError, match="expected an integer batch_size"):
        DataLoader(x, y, batch_size=bad)


def test_transform_applies_to_every_batch_and_never_to_the_stored_data():
    x, y = _data(10)
    stored = x.copy()
    calls = []

    def plus_100(xb):
        calls.append(len(xb))
        return xb + 100

    for shuffle in (False, True):  # unshuffled batches are views of x
        batches = list(DataLoader(x, y, batch_size=4, shuffle=shuffle, seed=0, transform=plus_100))
        for xb, yb in batches:
            np.testing.assert_array_equal(xb.ravel(), yb + 100)
    assert calls == [4, 4, 2, 4, 4, 2]
    np.testing.assert_array_equal(x, stored)


def test_seeded_loader_with_seeded_augmentation_repeats_exactly():
    from convlens.data import Compose, RandomCrop, RandomHorizontalFlip

    x = np.random.default_rng(0).random((30, 1, 8, 8)).astype(np.float32)
    y = np.arange(30)

    def run():
        augment = Compose([RandomCrop(padding=2, seed=1), RandomHorizontalFlip(seed=2)])
        loader = DataLoader(x, y, batch_size=7, seed=3, transform=augment)
        return [xb for _ in range(2) for xb, _ in loader]

    a, b = run(), run()
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert "transform=Compose" in repr(DataLoader(x, y, 4, transform=Compose([])))


def test_transform_must_be_callable():
    x, y = _data()
    with pytest.raises(TypeError, match="expected a callable transform, received 3"):
        DataLoader(x, y, batch_size=2, transform=3)


def test_float_targets_are_batched_like_labels():
    x = np.zeros((9, 1, 5), np.float32)
    y = np.linspace(0, 1, 18, dtype=np.float32).reshape(9, 2)
    batches = list(DataLoader(x, y, batch_size=4, shuffle=False))
    assert [yb.shape for _, yb in batches] == [(4, 2), (4, 2), (1, 2)]
