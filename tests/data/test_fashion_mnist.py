"""fashion-mnist: found in the Debian location, in data_dir, or a helpful error."""

import gzip
import re
import shutil

import numpy as np
import pytest

from convlens.data import fashion_mnist, load_dataset, write_idx
from convlens.data.fashion_mnist import FILES, SYSTEM_DIR, find_fashion_mnist


def _fake_files(folder, n_train=6, n_test=4, gz=True):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": (np.arange(n_train) % 10).astype(np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": (np.arange(n_test) % 10).astype(np.uint8),
    }
    for key, stem in FILES.items():
        write_idx(folder / (stem + (".gz" if gz else "")), arrays[key])
    return arrays


@pytest.mark.debian("fashion-mnist")
def test_loads_from_the_debian_package():
    ds = load_dataset("fashion-mnist")
    assert ds.x_train.shape == (60000, 1, 28, 28) and ds.x_test.shape == (10000, 1, 28, 28)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert 0.0 == ds.x_test.min() and ds.x_test.max() == 1.0
    np.testing.assert_array_equal(np.bincount(ds.y_test), np.full(10, 1000))
    assert ds.class_names[0] == "T-shirt/top" and ds.class_names[9] == "Ankle boot"
    assert str(SYSTEM_DIR) in ds.description


@pytest.mark.parametrize("gz", [True, False])
def test_loads_from_data_dir_before_the_system(tmp_path, gz):
    arrays = _fake_files(tmp_path, gz=gz)
    ds = load_dataset("fashion-mnist", data_dir=tmp_path)
    assert ds.x_train.shape == (6, 1, 28, 28) and len(ds.y_test) == 4
    np.testing.assert_allclose(ds.x_train[:, 0] * 255, arrays["x_train"], atol=1e-4)
    np.testing.assert_array_equal(ds.y_train, arrays["y_train"])


def test_loads_from_fashion_mnist_subfolder_of_data_dir(tmp_path):
    _fake_files(tmp_path / "fashion-mnist")
    assert find_fashion_mnist(tmp_path)["x_test"].parent == tmp_path / "fashion-mnist"


def test_missing_everywhere_lists_the_places_and_the_remedies(tmp_path, monkeypatch):
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIR", tmp_path / "system")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "train-images-idx3-ubyte.gz").write_bytes(b"")
    with pytest.raises(FileNotFoundError) as info:
        load_dataset("fashion-mnist", data_dir=tmp_path / "mine")
    message = str(info.value)
    assert f"{tmp_path / 'mine'}: missing train-labels-idx1-ubyte[.gz], t10k-images" in message
    assert f"{tmp_path / 'mine' / 'fashion-mnist'}: no such folder" in message
    assert f"{tmp_path / 'system'}: no such folder" in message
    assert "apt-get install dataset-fashion-mnist" in message and "--data-dir" in message


def test_corrupt_file_is_reported_with_its_path(tmp_path):
    _fake_files(tmp_path)
    bad = tmp_path / "t10k-labels-idx1-ubyte.gz"
    bad.write_bytes(gzip.compress(gzip.decompress(bad.read_bytes())[:-1]))
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte.gz: .*file truncated"):
        load_dataset("fashion-mnist", data_dir=tmp_path)


def test_labels_file_in_place_of_images_is_reported(tmp_path):
    _fake_files(tmp_path)
    shutil.copy(tmp_path / "train-labels-idx1-ubyte.gz", tmp_path / "train-images-idx3-ubyte.gz")
    with pytest.raises(ValueError, match=r"expected uint8 images of shape \(N, 28, 28\), received"):
        load_dataset("fashion-mnist", data_dir=tmp_path)


def test_an_incomplete_data_dir_is_reported_not_replaced_by_another_copy(tmp_path, monkeypatch):
    _fake_files(tmp_path / "system")
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIR", tmp_path / "system")
    mine = tmp_path / "mine"
    mine.mkdir()
    shutil.copy(tmp_path / "system" / "train-images-idx3-ubyte.gz", mine)
    with pytest.raises(FileNotFoundError, match=(
            rf"{re.escape(str(mine))} holds an incomplete copy of Fashion-MNIST: it has "
            r"train-images-idx3-ubyte.gz but not train-labels-idx1-ubyte\[.gz\], "
            r"t10k-images-idx3-ubyte\[.gz\], t10k-labels-idx1-ubyte\[.gz\]")):
        load_dataset("fashion-mnist", data_dir=mine)
    assert load_dataset("fashion-mnist", data_dir=tmp_path / "elsewhere").num_classes == 10
