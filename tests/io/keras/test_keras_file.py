"""cl.load of Keras 3 .keras files: outputs equal Keras's (Keras 3 on its PyTorch backend)."""

import zipfile

import numpy as np
import pytest
from keras_models import assert_same_output, image, keras, randomize_batch_norm, tiny_vgg

import convlens as cl
from convlens.io.formats import FormatError

L = keras.layers


def test_tiny_vgg_from_a_keras_file(tmp_path):
    model = tiny_vgg()
    model.save(tmp_path / "tiny_vgg.keras")
    loaded = cl.load(tmp_path / "tiny_vgg.keras")
    assert isinstance(loaded, cl.Sequential)
    assert loaded.num_parameters() == model.count_params()
    assert_same_output(model, loaded, image((3, 16, 16, 3)))


def build_layer_zoo():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input((15, 15, 3)),
        L.Conv2D(6, 3, strides=2, padding="same", activation="relu"),
        L.BatchNormalization(),
        L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", activation="tanh"),
        L.MaxPooling2D(3, strides=2, padding="same"),
        L.ZeroPadding2D(((1, 2), (0, 1))),
        L.Conv2D(8, 2, dilation_rate=2, use_bias=False),
        L.LeakyReLU(negative_slope=0.1),
        L.AveragePooling2D(2, padding="same"),
        L.SpatialDropout2D(0.3),
        L.Activation("gelu"),
        L.Flatten(),
        L.Dropout(0.5),
        L.Dense(12, activation="elu"),
        L.BatchNormalization(center=False),
        L.Dense(5), L.Softmax(),
    ])
    randomize_batch_norm(model)
    return model


def test_every_supported_layer_kind_in_one_model(tmp_path):
    model = build_layer_zoo()
    model.save(tmp_path / "zoo.keras")
    loaded = cl.load(tmp_path / "zoo.keras")
    assert_same_output(model, loaded, image((4, 15, 15, 3)))


@pytest.mark.parametrize("nd", [1, 3])
def test_conv1d_and_conv3d_models(tmp_path, nd):
    keras.utils.set_random_seed(2)
    shape = (20, 2) if nd == 1 else (6, 7, 8, 2)
    conv, pool, gpool = (getattr(L, f"Conv{nd}D"), getattr(L, f"MaxPooling{nd}D"),
                         getattr(L, f"GlobalAveragePooling{nd}D"))
    model = keras.Sequential([keras.Input(shape), getattr(L, f"ZeroPadding{nd}D")(1),
                              conv(4, 3, activation="relu"),
                              L.BatchNormalization(), pool(2), conv(5, 2), L.Flatten(), L.Dense(3)])
    randomize_batch_norm(model)
    model.save(tmp_path / "m.keras")
    assert_same_output(model, cl.load(tmp_path / "m.keras"), image((2, *shape)))
    model2 = keras.Sequential([keras.Input(shape), conv(4, 3), gpool(), L.Dense(2)])
    model2.save(tmp_path / "g.keras")
    assert_same_output(model2, cl.load(tmp_path / "g.keras"), image((2, *shape)))


def test_zero_padding_before_something_else_than_a_convolution(tmp_path):
    """Without convlens's Pad layer (the ONNX work) zero padding can only go into the
    convolution that follows; with it, anywhere."""
    model = keras.Sequential([keras.Input((6, 6, 2)), L.ZeroPadding2D(1), L.MaxPooling2D()])
    model.save(tmp_path / "p.keras")
    if hasattr(cl, "Pad"):
        assert_same_output(model, cl.load(tmp_path / "p.keras"), image((2, 6, 6, 2)))
        return
    with pytest.raises(FormatError, match=r"layer 'max_pooling2d.*' \(MaxPooling2D\) follows a ZeroPadding layer; convlens takes zero padding only into the convolution that follows it"):
        cl.load(tmp_path / "p.keras")


def test_dense_after_flatten_reads_channels_first_rows():
    from convlens.io.keras.layers import flatten_order

    kernel = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2 * 3 * 4, 5)   # rows h, w, c
    rows = flatten_order(kernel, (2, 3, 4))
    # convlens row (c, h, w) is Keras row (h, w, c)
    assert np.array_equal(rows[(1 * 2 + 1) * 3 + 2], kernel[(1 * 3 + 2) * 4 + 1])


def test_unsupported_layers_are_all_named(tmp_path):
    inner = keras.Sequential([keras.Input((6, 6, 2)), L.UnitNormalization(name="unit")], name="inner")
    model = keras.Sequential([keras.Input((8, 8, 3)), L.Conv2D(2, 3), inner,
                              L.RandomCrop(4, 4, name="crop"), L.Flatten(), L.Dense(2)])
    model.save(tmp_path / "u.keras")
    with pytest.raises(FormatError, match=r"unsupported Keras layers: unit \(UnitNormalization\), crop \(RandomCrop\)"):
        cl.load(tmp_path / "u.keras")


def test_damaged_files_get_clear_errors(tmp_path):
    model = tiny_vgg()
    model.save(tmp_path / "good.keras")
    data = (tmp_path / "good.keras").read_bytes()
    (tmp_path / "cut.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError, match=r"cut.keras' is not a .keras archive \(a zip file\)"):
        cl.load(tmp_path / "cut.keras")
    with zipfile.ZipFile(tmp_path / "noweights.keras", "w") as z:
        z.writestr("config.json", zipfile.ZipFile(tmp_path / "good.keras").read("config.json"))
    with pytest.raises(FormatError, match=r"the archive has no model.weights.h5 \(found: config.json\)"):
        cl.load(tmp_path / "noweights.keras")


def test_weights_that_do_not_fit_the_architecture_are_refused(tmp_path):
    import h5py

    model = tiny_vgg()
    model.save(tmp_path / "good.keras")
    with zipfile.ZipFile(tmp_path / "good.keras") as z:
        config, blob = z.read("config.json"), z.read("model.weights.h5")
    (tmp_path / "w.h5").write_bytes(blob)
    with h5py.File(tmp_path / "w.h5", "a") as f:
        del f["layers/conv2d_1/vars/0"]
        f["layers/conv2d_1/vars/0"] = np.zeros((3, 3, 10, 7), "float32")
    with zipfile.ZipFile(tmp_path / "bad.keras", "w") as z:
        z.writestr("config.json", config)
        z.writestr("model.weights.h5", (tmp_path / "w.h5").read_bytes())
    with pytest.raises(FormatError, match=r"layer 'conv_1_2' kernel: expected shape \(3, 3, 10, 10\) from the layer's configuration, the file holds \(3, 3, 10, 7\)"):
        cl.load(tmp_path / "bad.keras")
