"""cl.load of legacy Keras .h5 files (model.save("x.h5")): architecture from the JSON
attribute, arrays through h5py; outputs equal Keras's."""

import h5py
import numpy as np
import pytest
from keras_models import assert_same_output, image, keras, randomize_batch_norm, tiny_vgg

import convlens as cl
from convlens.io.formats import FormatError

L = keras.layers


def test_tiny_vgg_from_an_h5_file(tmp_path):
    model = tiny_vgg()
    model.save(tmp_path / "tiny_vgg.h5")
    loaded = cl.load(tmp_path / "tiny_vgg.h5")
    assert loaded.num_parameters() == model.count_params()
    assert_same_output(model, loaded, image((3, 16, 16, 3)))


def test_batch_norm_and_strided_same_convolution(tmp_path):
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((9, 9, 2)), L.Conv2D(4, 3, strides=2, padding="same"),
                              L.BatchNormalization(scale=False), L.ReLU(), L.GlobalMaxPooling2D(),
                              L.Dense(3, activation="sigmoid")])
    randomize_batch_norm(model)
    model.save(tmp_path / "m.h5")
    assert_same_output(model, cl.load(tmp_path / "m.h5"), image((2, 9, 9, 2)))


def test_weights_only_and_damaged_files(tmp_path):
    model = tiny_vgg()
    model.save_weights(tmp_path / "only.weights.h5")
    with pytest.raises(FormatError, match=r"holds no model_config attribute: it is a weights-only file"):
        cl.load(tmp_path / "only.weights.h5")
    model.save(tmp_path / "good.h5")
    data = (tmp_path / "good.h5").read_bytes()
    (tmp_path / "cut.h5").write_bytes(data[: len(data) // 3])
    with pytest.raises(FormatError, match=r"cut.h5"):
        cl.load(tmp_path / "cut.h5")


def saved_with(tmp_path, name, index, replace=None, **dataset):
    """Tiny VGG saved as .h5, its output layer's weight ``index`` removed, or replaced by
    ``create_dataset(**dataset)`` when ``replace``."""
    path = tmp_path / name
    tiny_vgg().save(path)
    with h5py.File(path, "a") as f:
        group = f["model_weights/output"]
        weight = group.attrs["weight_names"][index]
        weight = weight.decode() if isinstance(weight, bytes) else weight
        del group[weight]
        if replace:
            group.create_dataset(weight, **dataset)
    return path


def test_a_missing_weight_and_a_wrong_shape_are_named(tmp_path):
    with pytest.raises(FormatError, match=r"layer 'output' lists the weight '.*bias' but the file does not hold it"):
        cl.load(saved_with(tmp_path, "m.h5", 1))
    with pytest.raises(FormatError, match=r"layer 'output' kernel: expected shape \(10, 10\) from the layer's configuration, the file holds \(1690, 10\)"):
        cl.load(saved_with(tmp_path, "s.h5", 0, replace=True, data=np.zeros((1690, 10), "float32")))


def test_object_arrays_are_never_read(tmp_path):
    """A dataset of Python objects (pickle territory) is refused, not deserialized."""
    path = saved_with(tmp_path, "m.h5", 1, replace=True, data=np.array([b"x"] * 10, dtype=object),
                      dtype=h5py.string_dtype())
    with pytest.raises(FormatError, match=r"expected a numeric array, the file holds dtype object"):
        cl.load(path)
