"""The dataset registry and the Dataset container."""

import numpy as np
import pytest

from convlens.data import Dataset, available_datasets, load_dataset, register_dataset, registry


def _tiny(n_train=4, n_test=2, classes=("a", "b")):
    return Dataset(
        np.zeros((n_train, 1, 5, 5), np.float32),
        np.arange(n_train) % 2,
        np.zeros((n_test, 1, 5, 5), np.float32),
        np.arange(n_test) % 2,
        classes,
        "tiny",
    )


def test_available_datasets():
    assert {"mnist-5k", "fashion-mnist"} <= set(available_datasets())
    assert available_datasets() == sorted(available_datasets())


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown dataset 'mnist-6k': expected one of .*mnist-5k"):
        load_dataset("mnist-6k")


def test_names_ignore_case_and_underscores():
    assert load_dataset("MNIST_5K").name == "mnist-5k"


def test_register_a_new_dataset(monkeypatch, tmp_path):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    seen = []

    @register_dataset("tiny", "a test dataset")
    def load_tiny(data_dir):
        seen.append(data_dir)
        return _tiny()

    assert "tiny" in available_datasets()
    assert load_dataset("tiny", data_dir=str(tmp_path)).num_classes == 2
    assert seen == [tmp_path]
    with pytest.raises(ValueError, match="'tiny' is already registered"):
        register_dataset("Tiny", "again")(load_tiny)


def test_dataset_properties_and_subset():
    ds = _tiny(n_train=4, n_test=2)
    assert ds.num_classes == 2 and ds.input_shape == (1, 5, 5)
    small = ds.subset(train=3, test=1)
    assert len(small.y_train) == 3 and len(small.y_test) == 1 and small.name == "tiny"
    assert ds.summary() == "tiny: 4 train / 2 test images of 1x5x5, 2 classes"
    assert "array" not in repr(ds)
    with pytest.raises(ValueError, match="expected a positive train subset size, received 0"):
        ds.subset(train=0)


def test_dataset_refuses_labels_without_a_class_name():
    with pytest.raises(ValueError, match=r"expected labels in \[0, 0\] .* received y_train in \[0, 1\]"):
        _tiny(classes=("only",))


def test_dataset_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match=r"expected y_test of shape \(3,\) to match"):
        Dataset(
            np.zeros((2, 1, 5, 5)),
            np.zeros(2, int),
            np.zeros((3, 1, 5, 5)),
            np.zeros(2, int),
            ("a",),
            "bad",
        )
    with pytest.raises(
        ValueError, match=r"expected x_train of shape \(N, C, \.\.\.\): .* received \(2, 25\)"
    ):
        Dataset(
            np.zeros((2, 25)),
            np.zeros(2, int),
            np.zeros((2, 1, 5, 5)),
            np.zeros(2, int),
            ("a",),
            "bad",
        )
    with pytest.raises(ValueError, match="expected integer labels in y_train, received float64"):
        Dataset(
            np.zeros((2, 1, 5, 5)),
            np.zeros(2),
            np.zeros((2, 1, 5, 5)),
            np.zeros(2, int),
            ("a",),
            "bad",
        )


def test_every_issue_dataset_is_registered_and_sources_listed():
    from convlens.data import available_sources

    assert {"mnist", "fashion-mnist", "cifar10", "mnist-5k", "mnist1d"} <= set(available_datasets())
    assert available_sources() == ["csv", "folder", "npz", "text"]
    assert "words-lang" in available_datasets()


def test_unknown_name_also_shows_the_source_forms():
    with pytest.raises(ValueError, match=r"or your own data as csv:PATH, folder:PATH, npz:PATH"):
        load_dataset("imagenet")


def test_spec_parsing(tmp_path, monkeypatch):
    from convlens.data import parse_dataset_spec

    info, path = parse_dataset_spec("Fashion_MNIST")
    assert info.name == "fashion-mnist" and path is None
    info, path = parse_dataset_spec(f"FOLDER:{tmp_path}")
    assert info.name == "folder" and info.is_source and path == tmp_path
    with pytest.raises(ValueError, match=r"expected a path after csv:, e.g. csv:/data/mine"):
        parse_dataset_spec("csv:")
    np.savez(tmp_path / "a.npz", x=np.zeros((4, 1, 3)), y=np.arange(4) % 2)
    monkeypatch.chdir(tmp_path)
    assert parse_dataset_spec("a.npz")[0].name == "npz"
    assert parse_dataset_spec(".")[0].name == "folder"


def test_unknown_options_list_the_accepted_ones():
    with pytest.raises(ValueError, match="dataset 'mnist-5k' takes no option image_size; it accepts: none"):
        load_dataset("mnist-5k", image_size=32)
    with pytest.raises(
        ValueError, match="dataset 'mnist1d' takes no option length; it accepts: num_samples, seed, cache"
    ):
        load_dataset("mnist1d", length=20)
    with pytest.raises(
        ValueError, match=r"source 'csv' takes no option image_size; it accepts: task, test_fraction"
    ):
        load_dataset("csv:x.csv", image_size=3)


def test_download_flag_reaches_loaders_that_take_it(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    seen = {}

    @register_dataset("remote-tiny", "a test dataset")
    def load_remote(data_dir, download=True, size=4):
        seen.update(download=download, size=size)
        return _tiny(n_train=size)

    assert len(load_dataset("remote-tiny", download=False, size=6).y_train) == 6
    assert seen == {"download": False, "size": 6}


def test_option_strings_become_loader_options():
    from convlens.data import parse_options

    options = parse_options(["tokens=chars", "length=40", "test-fraction=0.25", "lowercase=True", "name=a=b"])
    assert options == {"tokens": "chars", "length": 40, "test_fraction": 0.25, "lowercase": True, "name": "a=b"}
    assert parse_options([]) == {}
    with pytest.raises(ValueError, match="expected KEY=VALUE, received 'tokens'"):
        parse_options(["tokens"])


@pytest.mark.parametrize("options, message", [
    ({"image_size": 100000}, r"source 'folder', option image_size: expected image_size in \[1, 4,096\], "
                             r"received 100000"),
    ({"image_size": (28, 10**6)}, r"expected image_size in \[1, 4,096\], received \(28, 1000000\)"),
    ({"split_seed": -1}, r"expected split_seed in \[0, 4,294,967,295\], received -1"),
    ({"test_fraction": float("nan")}, r"expected test_fraction a number strictly between 0 and 1, "
                                      r"received nan"),
])
def test_absurd_loader_options_are_refused_with_their_bounds_before_reading(tmp_path, options, message):
    with pytest.raises(ValueError, match=message):
        load_dataset(f"folder:{tmp_path / 'never-read'}", **options)
