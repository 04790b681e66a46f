"""npz:PATH: arrays of any rank, read without pickle."""

import numpy as np
import pytest

from convlens.data import load_dataset


def _labels(n, k=3):
    return (np.arange(n) % k).astype(np.int64)


@pytest.mark.parametrize(
    ("shape", "kind"), [((1, 16), "signals"), ((2, 6, 6), "images"), ((1, 4, 5, 6), "volumes")]
)
def test_split_arrays_of_any_rank(tmp_path, shape, kind):
    rng = np.random.default_rng(0)
    x_train, x_test = rng.normal(size=(12, *shape)), rng.normal(size=(6, *shape))
    np.savez(tmp_path / "d.npz", x_train=x_train, y_train=_labels(12), x_test=x_test, y_test=_labels(6))
    ds = load_dataset(f"npz:{tmp_path / 'd.npz'}")
    assert ds.kind == kind and ds.input_shape == shape and ds.x_train.dtype == np.float32
    np.testing.assert_allclose(ds.x_test, x_test, rtol=1e-6)
    assert ds.class_names == ("0", "1", "2")


def test_x_y_with_class_names_is_split_and_uint8_scaled(tmp_path):
    x = np.arange(20 * 3 * 2 * 2, dtype=np.uint8).reshape(20, 3, 2, 2)
    np.savez(tmp_path / "d.npz", x=x, y=_labels(20, 2), class_names=np.array(["no", "yes"]))
    ds = load_dataset(f"npz:{tmp_path / 'd.npz'}", test_fraction=0.25)
    assert len(ds.y_test) == 5 and ds.class_names == ("no", "yes")
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0


def test_float_targets_mean_regression(tmp_path):
    y = np.linspace(0, 1, 10).astype(np.float64)
    np.savez(tmp_path / "r.npz", x=np.zeros((10, 1, 4)), y=y)
    ds = load_dataset(f"npz:{tmp_path / 'r.npz'}", test_fraction=0.2)
    assert ds.task == "regression" and ds.num_outputs == 1 and ds.y_train.dtype == np.float32
    multi = np.zeros((10, 3))
    np.savez(tmp_path / "m.npz", x=np.zeros((10, 1, 4)), y=multi)
    assert load_dataset(f"npz:{tmp_path / 'm.npz'}").num_outputs == 3


def test_float_labels_with_fractions_need_regression(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 1, 3)), y=np.array([0.0, 1.0, 0.5, 1.0]))
    with pytest.raises(
        ValueError, match=r"y holds real values, not class labels; load with task='regression'"
    ):
        load_dataset(f"npz:{tmp_path / 'd.npz'}", task="classification")


def test_object_arrays_are_refused_not_unpickled(tmp_path):
    np.savez(tmp_path / "evil.npz", x=np.array([{"a": 1}] * 4, dtype=object), y=np.arange(4))
    with pytest.raises(ValueError, match=r"array 'x' holds Python objects, .* convlens never unpickles"):
        load_dataset(f"npz:{tmp_path / 'evil.npz'}")


def test_wrong_keys_rank_and_values(tmp_path):
    np.savez(tmp_path / "k.npz", images=np.zeros((4, 1, 3)), labels=np.arange(4))
    with pytest.raises(
        ValueError,
        match=r"expected arrays named x_train, y_train, x_test, y_test \(or x, y\), "
        r"received \['images', 'labels'\]",
    ):
        load_dataset(f"npz:{tmp_path / 'k.npz'}")
    np.savez(tmp_path / "r.npz", x=np.zeros((4, 9)), y=np.arange(4))
    with pytest.raises(
        ValueError, match=r"expected x of shape \(N, C, ...\) .* received \(4, 9\); add a channel axis"
    ):
        load_dataset(f"npz:{tmp_path / 'r.npz'}")
    x = np.zeros((4, 1, 3))
    x[2, 0, 1] = np.nan
    np.savez(tmp_path / "n.npz", x=x, y=np.arange(4) % 2)
    with pytest.raises(ValueError, match=r"x holds 1 non-finite values"):
        load_dataset(f"npz:{tmp_path / 'n.npz'}")
    (tmp_path / "z.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable .npz file"):
        load_dataset(f"npz:{tmp_path / 'z.npz'}")
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_dataset(f"npz:{tmp_path / 'absent.npz'}")


def test_complex_object_and_string_arrays_and_non_npy_members_are_refused(tmp_path):
    import zipfile

    labels = np.arange(10) % 2
    for name, x, message in (
            ("c.npz", np.zeros((10, 1, 4, 4), complex), r"c.npz: expected real numbers in x, received "
                                                         r"dtype complex128"),
            ("s.npz", np.full((10, 1, 4, 4), "a"), r"s.npz: expected real numbers in x, received dtype <U1")):
        np.savez(tmp_path / name, x=x, y=labels)
        with pytest.raises(ValueError, match=message):
            load_dataset(f"npz:{tmp_path / name}")
    np.savez(tmp_path / "o.npz", x=np.array([None] * 10, dtype=object), y=labels)
    with pytest.raises(ValueError, match=r"array 'x' holds Python objects, which load only by unpickling"):
        load_dataset(f"npz:{tmp_path / 'o.npz'}")
    with zipfile.ZipFile(tmp_path / "t.npz", "w") as archive:
        archive.writestr("x.txt", "hello")
    with pytest.raises(ValueError, match=r"t.npz: member 'x.txt' is not a .npy array; expected a zip of "
                                         r".npy arrays only"):
        load_dataset(f"npz:{tmp_path / 't.npz'}")


def test_labels_too_large_to_be_class_indices_are_refused_with_the_bound(tmp_path):
    x = np.zeros((10, 1, 4, 4), np.float32)
    np.savez(tmp_path / "a.npz", x=x, y=np.array([0] * 9 + [10**12]))
    with pytest.raises(ValueError, match=r"a.npz: y: label 1000000000000 is too large to be a class "
                                         r"index: expected labels 0 <= label < 100,000"):
        load_dataset(f"npz:{tmp_path / 'a.npz'}")
    np.savez(tmp_path / "f.npz", x=x, y=np.array([0.0] * 9 + [1e300]))
    with pytest.raises(ValueError, match=r"label 1e\+300 is too large to be a class index"):
        load_dataset(f"npz:{tmp_path / 'f.npz'}", task="classification")
    np.savez(tmp_path / "one.npz", x=x, y=np.zeros(10, int))
    with pytest.raises(ValueError, match=r"one: expected at least 2 classes to tell apart, received 1 "
                                         r"\('0'\)"):
        load_dataset(f"npz:{tmp_path / 'one.npz'}")
