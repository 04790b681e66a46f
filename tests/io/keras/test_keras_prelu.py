"""Keras PReLU in all three file formats: one slope, one per channel of a map or a sequence,
and one per feature of a flattened map (whose (h, w, c) order convlens reads as (c, h, w))."""

import numpy as np
import pytest
from keras_models import assert_every_format, image, keras, randomize_weights

import convlens as cl
from convlens.io.formats import FormatError

L = keras.layers


def test_prelu_slopes_per_channel_per_feature_and_shared(tmp_path):
    keras.utils.set_random_seed(12)
    model = keras.Sequential([
        keras.Input((7, 6, 3)), L.Conv2D(4, 3), L.PReLU(shared_axes=[1, 2]),
        L.Conv2D(2, 2), L.PReLU(shared_axes=[1, 2, 3]),
        L.Flatten(), L.PReLU(), L.Dense(5), L.PReLU(),
    ])
    randomize_weights(model)   # slopes of both signs, none equal
    loaded = assert_every_format(model, image((3, 7, 6, 3)), tmp_path)
    assert [m.slopes for m in loaded["keras"].modules() if isinstance(m, cl.PReLU)] == [4, 1, 24, 5]


def test_prelu_per_channel_of_a_sequence(tmp_path):
    keras.utils.set_random_seed(13)
    model = keras.Sequential([keras.Input((9, 2)), L.Conv1D(3, 3), L.PReLU(shared_axes=[1]),
                              L.GlobalAveragePooling1D(), L.Dense(2)])
    randomize_weights(model)
    assert_every_format(model, image((2, 9, 2)), tmp_path)


def test_prelu_with_a_slope_per_position_of_a_map_is_refused_by_name(tmp_path):
    model = keras.Sequential([keras.Input((5, 5, 2)), L.PReLU(name="everywhere"), L.Flatten(), L.Dense(2)])
    model.save(tmp_path / "p.keras")
    with pytest.raises(FormatError, match=r"layer 'everywhere': PReLU with slopes of shape \(5, 5, 2\) "
                                          r"\(one per position of an input of shape \(2, 5, 5\).*"
                                          r"expected one slope, or one per channel"):
        cl.load(tmp_path / "p.keras")


def test_the_flattened_slopes_follow_convlens_order(tmp_path):
    """A slope that differs for one (h, w, c) feature changes that feature only."""
    model = keras.Sequential([keras.Input((2, 3, 4)), L.Flatten(), L.PReLU()])
    alpha = np.zeros((24,), dtype="float32")
    alpha[(1 * 3 + 2) * 4 + 1] = 1.0          # Keras feature (h=1, w=2, c=1)
    model.layers[-1].set_weights([alpha])
    model.save(tmp_path / "f.keras")
    prelu = next(m for m in cl.load(tmp_path / "f.keras").modules() if isinstance(m, cl.PReLU))
    assert np.flatnonzero(prelu.weight.data).tolist() == [(1 * 2 + 1) * 3 + 2]   # (c, h, w)
