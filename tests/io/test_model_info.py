"""model.info: what a Dataset tells about the preprocessing a model expects."""

import numpy as np
import pytest

from convlens.data import Dataset
from convlens.io.model_info import ModelInfo, Preprocessing, describe_dataset, picture_polarity


def _pictures(background, ink, n=30, size=10):
    x = np.full((n, 1, size, size), background, np.float32)
    x[:, :, 3:7, 4:6] = ink
    return x


def test_polarity_is_measured_on_the_border_of_the_pictures():
    assert picture_polarity(_pictures(0.0, 1.0)) == "light-on-dark"
    assert picture_polarity(_pictures(1.0, 0.0)) == "dark-on-light"
    photos = np.random.default_rng(0).random((30, 3, 10, 10)).astype(np.float32)
    assert picture_polarity(photos) is None  # photos: no rule, never inverted


def test_describe_an_image_dataset():
    ds = Dataset.from_arrays(_pictures(0.0, 0.8), np.arange(30) % 3, name="mnist-5k-like",
                             class_names=("a", "b", "c"))
    info = describe_dataset(ds)
    assert info["class_names"] == ("a", "b", "c") and info["input_shape"] == (1, 10, 10)
    assert info["input_dtype"] == "float32" and info["task"] == "classification"
    assert info["preprocessing"] == Preprocessing(kind="images", channels=1, size=(10, 10), value_range=(0.0, 1.0),
                                                  polarity="light-on-dark")


def test_describe_a_token_dataset():
    vocabulary = ("<pad>", "<unk>", "e", "a", "z")
    ids = np.random.default_rng(0).integers(0, 5, (20, 7))
    ds = Dataset.from_arrays(ids, np.arange(20) % 2, name="letters", vocabulary=vocabulary)
    pre = describe_dataset(ds)["preprocessing"]
    assert (pre.kind, pre.tokens, pre.lowercase, pre.length, pre.vocabulary) == ("tokens", "chars", True, 7, vocabulary)
    words = ds.replace(vocabulary=("<pad>", "<unk>", "The", "cat", "sat"))
    pre = describe_dataset(words)["preprocessing"]
    assert (pre.tokens, pre.lowercase) == ("words", False)


def test_model_info_round_trips_through_a_dict_and_checks_its_fields():
    info = ModelInfo(name="n", class_names=["x", "y"], input_shape=[3, 8, 8],
                     preprocessing=Preprocessing(mean=[0.5, 0.5, 0.5], std=[0.2, 0.2, 0.2]))
    again = ModelInfo.from_dict({**info.to_dict(), "added_in_a_later_version": 1})
    assert again == info and again.input_shape == (3, 8, 8)
    with pytest.raises(ValueError, match="expected polarity in .* received 'upside-down'"):
        Preprocessing(polarity="upside-down")


@pytest.mark.parametrize("normalized", [False, True])
def test_a_dataset_given_before_or_after_normalization_describes_the_raw_pictures(normalized):
    from convlens.data import Normalize

    x = _pictures(0.0, 0.9, size=12)
    norm = Normalize().fit(x)
    ds = Dataset.from_arrays(norm(x) if normalized else x, np.arange(30) % 2, name="strokes")
    info = ModelInfo().updated(dataset=ds, normalization=norm.get_config())
    pre = info.preprocessing
    assert (pre.value_range, pre.polarity) == ((0.0, 1.0), "light-on-dark")
    assert pre.mean == tuple(norm.get_config()["mean"]) and pre.std == tuple(norm.get_config()["std"])
