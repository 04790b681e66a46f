"""Normalize (statistics from the training split only), Compose, and prepare_data."""

import numpy as np
import pytest

from convlens.data import (
    Dataset,
    Normalize,
    RandomHorizontalFlip,
    load_dataset,
    normalize_dataset,
    prepare_data,
)


def _dataset(n_train=40, n_test=20, shape=(2, 4, 4)):
    rng = np.random.default_rng(0)
    x_train = rng.normal([[[[1.0]], [[5.0]]]], [[[[2.0]], [[0.5]]]], (n_train, *shape)).astype(np.float32)
    x_test = rng.normal(-3.0, 7.0, (n_test, *shape)).astype(np.float32)  # very different statistics
    return Dataset(x_train, np.arange(n_train) % 2, x_test, np.arange(n_test) % 2, ("a", "b"), "toy")


def test_fit_learns_per_channel_mean_and_std():
    ds = _dataset()
    norm = Normalize().fit(ds.x_train)
    np.testing.assert_allclose(norm.mean_, ds.x_train.mean(axis=(0, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(norm.std_, ds.x_train.std(axis=(0, 2, 3)), rtol=1e-5)
    z = norm(ds.x_train)
    np.testing.assert_allclose(z.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=(0, 2, 3)), 1, atol=1e-4)
    assert z.dtype == np.float32


def test_fit_in_chunks_equals_fit_at_once():
    x = _dataset(n_train=37).x_train
    a, b = Normalize().fit(x, chunk=5), Normalize().fit(x)
    np.testing.assert_allclose(a.mean_, b.mean_, rtol=1e-12)
    np.testing.assert_allclose(a.std_, b.std_, rtol=1e-12)


def test_normalize_dataset_uses_training_statistics_for_the_test_set():
    ds = _dataset()
    normed, norm = normalize_dataset(ds)
    mean, std = ds.x_train.mean(axis=(0, 2, 3)), ds.x_train.std(axis=(0, 2, 3))
    expected = (ds.x_test - mean[None, :, None, None]) / std[None, :, None, None]
    np.testing.assert_allclose(normed.x_test, expected, rtol=1e-4, atol=1e-5)
    assert abs(normed.x_test.mean()) > 1  # the test set was not standardized with its own statistics
    assert "training statistics" in normed.description


def test_signals_and_volumes_and_constant_channels():
    x = np.random.default_rng(0).normal(size=(10, 3, 8)).astype(np.float32)
    x[:, 2] = 4.0
    z = Normalize().fit(x)(x)
    np.testing.assert_allclose(z[:, 2], 0.0)  # a constant channel is only centred
    vol = np.random.default_rng(1).normal(2, 3, size=(6, 1, 3, 4, 5))
    assert abs(Normalize().fit(vol)(vol).mean()) < 1e-6


def test_given_statistics_and_config_round_trip():
    norm = Normalize(mean=[0.5], std=[0.25])
    np.testing.assert_allclose(norm(np.ones((1, 1, 2, 2), np.float32)), 2.0)
    again = Normalize(**Normalize().fit(_dataset().x_train).get_config())
    assert again.mean_.shape == (2,)


def test_normalize_errors():
    with pytest.raises(RuntimeError, match=r"Normalize is not fitted: call .fit\(x_train\) first"):
        Normalize()(np.zeros((1, 1, 2, 2)))
    norm = Normalize().fit(_dataset().x_train)
    with pytest.raises(ValueError, match=r"fitted on 2 channel\(s\), received a batch with 3"):
        norm(np.zeros((1, 3, 4, 4)))
    with pytest.raises(ValueError, match="expected both mean and std, or neither"):
        Normalize(mean=[0.0])


def test_prepare_data_splits_then_fits_on_the_training_part_only():
    ds = _dataset(n_train=40)
    data = prepare_data(ds, batch_size=8, val_fraction=0.25, normalize=True, seed=3)
    assert len(data.train.y) == 30 and len(data.val[1]) == 10 and len(data.test[1]) == 20
    train_part = (data.train.x * data.normalizer.std_[None, :, None, None]) + data.normalizer.mean_[
        None, :, None, None
    ]
    np.testing.assert_allclose(data.normalizer.mean_, train_part.mean(axis=(0, 2, 3)), rtol=1e-4)
    np.testing.assert_allclose(data.train.x.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    # the validation part is not standardized by its own statistics
    all_train = Normalize().fit(ds.x_train)
    assert not np.allclose(all_train.mean_, data.normalizer.mean_)


def test_prepare_data_augments_training_batches_only():
    ds = _dataset()
    data = prepare_data(ds, batch_size=64, augment=RandomHorizontalFlip(p=1.0), seed=0)
    xb, yb = next(iter(data.train))
    order = [
        int(np.flatnonzero((ds.y_train == y) & np.all(ds.x_train[:, :, :, ::-1] == x, axis=(1, 2, 3)))[0])
        for x, y in zip(xb, yb)
    ]
    assert len(set(order)) == len(xb)  # every batch image is a mirrored training image
    np.testing.assert_array_equal(data.test[0], ds.x_test)  # held-out data untouched
    assert data.normalizer is None and data.val is None


def test_prepare_data_on_mnist_5k():
    data = prepare_data(load_dataset("mnist-5k"), batch_size=64, val_fraction=0.1, normalize=True)
    assert (len(data.train.y), len(data.val[1]), len(data.test[1])) == (3600, 400, 1000)
    assert 0.12 < data.normalizer.mean_[0] < 0.14 and 0.29 < data.normalizer.std_[0] < 0.32


def _token_dataset():
    ids = np.arange(40, dtype=np.int64).reshape(8, 5) % 4
    return Dataset(ids, np.arange(8) % 2, ids[:2], np.arange(2), ("x", "y"), "t",
                   vocabulary=("<pad>", "<unk>", "a", "b"))


def test_token_ids_are_never_normalized():
    ds = _token_dataset()
    refused = r"t holds token ids, which name tokens of its vocabulary.*leave out --normalize"
    with pytest.raises(ValueError, match=refused):
        normalize_dataset(ds)
    with pytest.raises(ValueError, match=refused):
        prepare_data(ds, batch_size=4, normalize=True)
    data = prepare_data(ds, batch_size=4, val_fraction=0.25)
    xb, _ = next(iter(data.train))
    assert xb.dtype == np.int64 and xb.shape == (4, 5) and data.val[0].shape == (2, 5)
