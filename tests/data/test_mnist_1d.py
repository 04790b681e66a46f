"""mnist1d: generated offline by the mnist1d package, seeded, cached atomically as .npz."""

import random

import numpy as np
import pytest

from convlens.data import load_dataset, mnist_1d


@pytest.fixture(scope="module")
def small():
    return mnist_1d.generate_mnist1d(num_samples=200, seed=3)


def test_shapes_dtypes_and_split(small):
    assert small["x_train"].shape == (160, 1, 40) and small["x_test"].shape == (40, 1, 40)
    assert small["x_train"].dtype == np.float32 and small["y_train"].dtype == np.int64
    np.testing.assert_array_equal(
        np.bincount(np.concatenate([small["y_train"], small["y_test"]]), minlength=10), np.full(10, 20)
    )
    # the package standardizes all signals together
    everything = np.concatenate([small["x_train"], small["x_test"]])
    assert abs(everything.mean()) < 1e-4 and abs(everything.std() - 1) < 1e-3


def test_same_seed_same_data_other_seed_other_data(small):
    again = mnist_1d.generate_mnist1d(num_samples=200, seed=3)
    other = mnist_1d.generate_mnist1d(num_samples=200, seed=4)
    np.testing.assert_array_equal(again["x_train"], small["x_train"])
    np.testing.assert_array_equal(again["y_test"], small["y_test"])
    assert not np.allclose(other["x_train"], small["x_train"])


def test_global_random_state_is_left_alone():
    np.random.seed(123)
    random.seed(123)
    mnist_1d.generate_mnist1d(num_samples=20, seed=0)
    after_numpy, after_python = np.random.random(), random.random()
    np.random.seed(123)
    random.seed(123)
    assert after_numpy == np.random.random() and after_python == random.random()


def test_load_writes_the_cache_and_reads_it_back(tmp_path, monkeypatch):
    ds = load_dataset("mnist1d", num_samples=100, seed=1)
    path = tmp_path / "cache" / "mnist1d" / "mnist1d-n100-seed1.npz"
    assert path.is_file() and ds.input_shape == (1, 40) and ds.kind == "signals"
    assert ds.summary() == "mnist1d: 80 train / 20 test signals of 1x40, 10 classes"

    def fail(*args, **kwargs):
        raise AssertionError("generated again instead of reading the cache")

    monkeypatch.setattr(mnist_1d, "generate_mnist1d", fail)
    again = load_dataset("mnist1d", num_samples=100, seed=1)
    np.testing.assert_array_equal(again.x_train, ds.x_train)
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary files left


def test_a_corrupt_cache_is_regenerated_with_a_warning(tmp_path):
    path = tmp_path / "cache" / "mnist1d" / "mnist1d-n50-seed0.npz"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a zip file")
    with pytest.warns(UserWarning, match="unreadable cache"):
        ds = load_dataset("mnist1d", num_samples=50, seed=0)
    assert len(ds.y_train) == 40
    with np.load(path, allow_pickle=False) as data:
        assert data["x_train"].shape == (40, 1, 40)


def test_cache_false_writes_nothing(tmp_path):
    load_dataset("mnist1d", num_samples=30, cache=False)
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        (55, ValueError, "expected num_samples a positive multiple of 10 .* received 55"),
        (0, ValueError, "received 0"),
        (1.5, TypeError, "expected an integer num_samples, received 1.5"),
    ],
)
def test_num_samples_is_checked(bad, error, message):
    with pytest.raises(error, match=message):
        load_dataset("mnist1d", num_samples=bad)


def test_nothing_is_downloaded_or_unpickled(monkeypatch):
    import mnist1d.data
    import mnist1d.utils

    def refuse(*args, **kwargs):
        raise AssertionError("the mnist1d package tried to download or unpickle")

    monkeypatch.setattr(mnist1d.data, "get_dataset", refuse)
    monkeypatch.setattr(mnist1d.data, "from_pickle", refuse)
    monkeypatch.setattr(mnist1d.utils, "from_pickle", refuse)
    monkeypatch.setattr(mnist1d.data.requests, "get", refuse)
    assert load_dataset("mnist1d", num_samples=20).num_classes == 10
