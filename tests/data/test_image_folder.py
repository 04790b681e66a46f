"""folder:PATH: class folders of PNG/JPEG, mixed modes converted, bad files skipped and listed."""

import warnings

import numpy as np
import pytest
from PIL import Image

from convlens.data import SkippedFilesWarning, load_dataset
from convlens.data.image_folder import load_image_folder


def _save(path, array, mode=None, **kwargs):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode).save(path, **kwargs)


def _gray(value, size=(6, 8)):
    return np.full(size, value, dtype=np.uint8)


def _make(root, per_class=5, classes=("cat", "dog"), size=(6, 8)):
    for k, name in enumerate(classes):
        for i in range(per_class):
            _save(root / name / f"{i}.png", _gray(40 * k + i, size))


def test_class_names_sorted_labels_and_stratified_split(tmp_path):
    _make(tmp_path / "pets", classes=("dog", "cat", "bird"))
    ds = load_dataset(f"folder:{tmp_path / 'pets'}", test_fraction=0.4)
    assert ds.class_names == ("bird", "cat", "dog") and ds.name == "pets"
    assert ds.x_train.shape == (9, 1, 6, 8) and ds.x_test.shape == (6, 1, 6, 8)
    np.testing.assert_array_equal(np.bincount(ds.y_test), [2, 2, 2])
    # label k was drawn with values 40k + i: every pixel of an image tells its class
    for x, y in zip(ds.x_train, ds.y_train):
        assert int(round(x[0, 0, 0] * 255)) // 40 == {"bird": 2, "cat": 1, "dog": 0}[ds.class_names[y]]


def test_train_and_test_subfolders_are_used_as_given(tmp_path):
    _make(tmp_path / "d" / "train", per_class=4)
    _make(tmp_path / "d" / "test", per_class=2)
    ds = load_dataset(f"folder:{tmp_path / 'd'}")
    assert len(ds.y_train) == 8 and len(ds.y_test) == 4 and ds.class_names == ("cat", "dog")
    assert not np.array_equal(ds.y_train, np.sort(ds.y_train))  # classes are mixed, not folder by folder


def test_a_test_class_unknown_to_training_is_an_error(tmp_path):
    _make(tmp_path / "d" / "train")
    _make(tmp_path / "d" / "test", classes=("cat", "cow"))
    with pytest.raises(ValueError, match=r"class folder\(s\) \['cow'\] have no counterpart in .*train"):
        load_dataset(f"folder:{tmp_path / 'd'}")


def test_resize_to_image_size(tmp_path):
    _make(tmp_path / "d", size=(10, 20))
    ds = load_dataset(f"folder:{tmp_path / 'd'}", image_size=(5, 7))
    assert ds.input_shape == (1, 5, 7)
    assert load_dataset(f"folder:{tmp_path / 'd'}", image_size=4).input_shape == (1, 4, 4)
    with pytest.raises(
        ValueError, match=r"expected image_size a positive int or \(height, width\), received 0"
    ):
        load_dataset(f"folder:{tmp_path / 'd'}", image_size=0)


def test_different_sizes_without_image_size_ask_for_it(tmp_path):
    _make(tmp_path / "d", size=(6, 8))
    _save(tmp_path / "d" / "dog" / "big.png", _gray(9, (12, 12)))
    with pytest.raises(
        ValueError,
        match=r"images of 2 different sizes .*\n  6x8: 10 image\(s\).*\n  12x12: 1 image\(s\), "
        r"e.g. dog/big.png\npass image_size=",
    ):
        load_dataset(f"folder:{tmp_path / 'd'}")


def test_mixed_modes_become_rgb_and_gray_repeats_into_channels(tmp_path):
    _make(tmp_path / "d")
    rgb = np.zeros((6, 8, 3), np.uint8)
    rgb[..., 0] = 200  # pure red
    _save(tmp_path / "d" / "cat" / "red.png", rgb)
    rgba = np.dstack([rgb, np.full((6, 8), 7, np.uint8)])
    _save(tmp_path / "d" / "cat" / "alpha.png", rgba, "RGBA")
    _save(tmp_path / "d" / "dog" / "photo.jpg", np.full((6, 8, 3), 90, np.uint8), quality=95)
    ds = load_dataset(f"folder:{tmp_path / 'd'}", test_fraction=0.2)
    x = np.concatenate([ds.x_train, ds.x_test])
    assert x.shape[1] == 3
    red = [img for img in x if img[0].mean() > 0.7 and img[1].max() == 0]
    assert len(red) == 2  # the RGBA image lost its alpha, kept its colour
    gray = [img for img in x if np.array_equal(img[0], img[1]) and np.array_equal(img[1], img[2])]
    assert len(gray) == 11  # ten PNGs repeated into three channels, and the gray JPEG


def test_color_gray_forces_one_channel(tmp_path):
    _make(tmp_path / "d")
    rgb = np.zeros((6, 8, 3), np.uint8)
    rgb[..., 1] = 255
    _save(tmp_path / "d" / "cat" / "green.png", rgb)
    ds = load_dataset(f"folder:{tmp_path / 'd'}", color="gray")
    x = np.concatenate([ds.x_train, ds.x_test])
    assert x.shape[1] == 1
    assert np.isclose(x[:, 0, 0, 0], 0.587, atol=1e-3).sum() == 1  # ITU-R 601 luma of pure green


def test_sixteen_bit_gray_is_scaled_not_clipped(tmp_path):
    _make(tmp_path / "d")
    _save(tmp_path / "d" / "cat" / "deep.png", np.full((6, 8), 32768, np.uint16))  # opens as I;16
    ds = load_dataset(f"folder:{tmp_path / 'd'}", test_fraction=0.2)
    values = np.concatenate([ds.x_train, ds.x_test])[:, 0, 0, 0]
    assert np.isclose(values, 128 / 255, atol=1 / 255).sum() == 1


def test_unreadable_and_foreign_files_are_skipped_with_one_warning(tmp_path):
    _make(tmp_path / "d")
    (tmp_path / "d" / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (tmp_path / "d" / "dog" / "notes.txt").write_text("hello")
    (tmp_path / "d" / "dog" / ".DS_Store").write_bytes(b"\x00")
    with pytest.warns(SkippedFilesWarning) as record:
        ds = load_dataset(f"folder:{tmp_path / 'd'}")
    assert len(record) == 1
    message = str(record[0].message)
    assert "skipped 2 of 12 files (1 unreadable, 1 not PNG/JPEG)" in message
    assert "cat/broken.png: UnidentifiedImageError" in message and "dog/notes.txt: not PNG/JPEG" in message
    assert ".DS_Store" not in message
    assert len(ds.y_train) + len(ds.y_test) == 10


def test_on_error_raise_stops_and_lists_every_bad_file(tmp_path):
    _make(tmp_path / "d")
    for name in ("a.png", "b.jpg"):
        (tmp_path / "d" / "dog" / name).write_bytes(b"garbage")
    with pytest.raises(
        ValueError, match=r"2 unreadable image file\(s\) \(on_error='raise'.*\n  dog/a.png: .*\n  dog/b.jpg"
    ):
        load_image_folder(tmp_path / "d", on_error="raise")


def test_a_clean_folder_gives_no_warning(tmp_path):
    _make(tmp_path / "d")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_dataset(f"folder:{tmp_path / 'd'}")


def test_layout_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such folder"):
        load_dataset(f"folder:{tmp_path / 'missing'}")
    (tmp_path / "flat").mkdir()
    _save(tmp_path / "flat" / "a.png", _gray(1))
    with pytest.raises(ValueError, match=r"expected one sub-folder per class .* move its 1 image file\(s\)"):
        load_dataset(f"folder:{tmp_path / 'flat'}")
    _make(tmp_path / "d")
    (tmp_path / "d" / "empty").mkdir()
    with pytest.raises(ValueError, match="class folder 'empty' has no readable PNG/JPEG image"):
        load_dataset(f"folder:{tmp_path / 'd'}")
    with pytest.raises(ValueError, match=r"expected color in \('auto', 'gray', 'rgb'\), received 'cmyk'"):
        load_dataset(f"folder:{tmp_path / 'd'}", color="cmyk")


def test_a_one_class_folder_is_refused(tmp_path):
    _make(tmp_path / "one", classes=("cat",))
    with pytest.raises(ValueError, match=r"one: expected at least 2 classes to tell apart, received 1 "
                                         r"\('cat'\); a one-class model has nothing to learn"):
        load_dataset(f"folder:{tmp_path / 'one'}")
