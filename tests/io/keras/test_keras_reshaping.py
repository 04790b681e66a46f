"""Keras Reshape, Permute, UpSampling, Cropping and LayerNormalization in all three file
formats, with shapes whose axes all differ, so a transpose between channels-last and
channels-first that is wrong shows in the output."""

import numpy as np
import pytest
from keras_models import assert_every_format, image, keras, randomize_weights

import convlens as cl
from convlens.io.keras.reshaping import compose, to_channels_first, to_channels_last

L = keras.layers


def test_reshape_permute_layer_norm_through_every_layout(tmp_path):
    keras.utils.set_random_seed(5)
    model = keras.Sequential([
        keras.Input((5, 6, 3)),
        L.Conv2D(4, 2),                               # (4, 5, 4)
        L.Reshape((5, 16)), L.Permute((2, 1)),        # maps -> sequence (16, 5)
        L.Conv1D(3, 2),                               # (15, 3)
        L.Reshape((5, 3, 3)), L.Permute((2, 3, 1)),   # sequence -> maps (3, 3, 5)
        L.UpSampling2D((2, 3)),                       # (6, 9, 5)
        L.LayerNormalization(), L.LayerNormalization(axis=[2, 3]),
        L.Cropping2D(((1, 0), (2, 1))),               # (5, 6, 5)
        L.Flatten(), L.Reshape((30, 5)),              # a flatten read back by a Reshape
        L.LayerNormalization(), L.Conv1D(2, 3),
        L.Flatten(), L.LayerNormalization(),          # per-feature γ, β in (h, w, c) order
        L.Reshape((-1,)), L.Dense(4),
    ])
    randomize_weights(model)
    loaded = assert_every_format(model, image((2, 5, 6, 3)), tmp_path)
    assert any(isinstance(m, cl.Upsample) for m in loaded["keras"].modules())


@pytest.mark.parametrize("nd", [1, 3])
def test_upsampling_and_cropping_1d_3d(tmp_path, nd):
    keras.utils.set_random_seed(6)
    shape = (7, 2) if nd == 1 else (3, 4, 5, 2)
    up, crop = getattr(L, f"UpSampling{nd}D"), getattr(L, f"Cropping{nd}D")
    model = keras.Sequential([keras.Input(shape), getattr(L, f"Conv{nd}D")(3, 2),
                              up(3 if nd == 1 else (1, 2, 3)),
                              crop((2, 1) if nd == 1 else ((0, 1), (1, 2), (2, 3))),
                              L.Flatten(), L.Dense(2)])
    assert_every_format(model, image((2, *shape)), tmp_path)


def test_bilinear_upsampling(tmp_path):
    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((3, 5, 2)), L.UpSampling2D((2, 3), interpolation="bilinear"),
                              L.Conv2D(2, 3), L.UpSampling2D(2, interpolation="bilinear")])
    assert_every_format(model, image((2, 3, 5, 2)), tmp_path)


def test_functional_reshape_branches(tmp_path):
    keras.utils.set_random_seed(8)
    x = keras.Input((4, 6, 2))
    a = L.Permute((2, 1, 3))(L.Conv2D(3, 1)(x))                  # (6, 4, 3)
    b = L.Reshape((6, 4, 2))(L.Permute((2, 1, 3))(x))            # (6, 4, 2)
    y = L.Concatenate()([a, b])
    y = L.LayerNormalization(axis=[1, 2, 3])(y)
    model = keras.Model(x, L.Dense(3)(L.Flatten()(y)))
    randomize_weights(model)
    assert_every_format(model, image((2, 4, 6, 2)), tmp_path)


def test_layout_permutations():
    x = np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5)             # (N, C, H, W)
    np.testing.assert_array_equal(x.transpose(to_channels_last(4)), np.moveaxis(x, 1, -1))
    cl_ = np.moveaxis(x, 1, -1)
    np.testing.assert_array_equal(cl_.transpose(to_channels_first(4)), x)
    perm = compose(to_channels_last(4), (0, 2, 1, 3))
    np.testing.assert_array_equal(x.transpose(perm), x.transpose(to_channels_last(4)).transpose(0, 2, 1, 3))


def test_transposed_convolutions(tmp_path):
    """An autoencoder's decoder: 'valid' (with a stride larger than the kernel: zeros at the
    end) and 'same' transposed convolutions, 1-D and 2-D."""
    keras.utils.set_random_seed(12)
    model = keras.Sequential([
        keras.Input((5, 6, 3)), L.Conv2D(4, 3, strides=2, padding="same"),
        L.Conv2DTranspose(4, 4, strides=2, padding="same", activation="relu"),
        L.Conv2DTranspose(3, 3, padding="same"), L.Conv2DTranspose(2, (1, 2), strides=(2, 3)),
        L.Reshape((-1, 2)), L.Conv1DTranspose(2, 3, strides=2, use_bias=False), L.Flatten(), L.Dense(2),
    ])
    assert_every_format(model, image((2, 5, 6, 3)), tmp_path)


def test_tensorflow_rule_for_same_transposed_padding():
    """TensorFlow's conv2d_transpose (k = 3, s = 2, 'same') crops nothing before and one
    position after the full output, as the forward convolution it inverts pads."""
    from convlens.io.keras.layers import transpose_padding

    assert transpose_padding(3, 2, 1, "same", None) == ((0, 1), 0)
    assert transpose_padding(4, 2, 1, "same", None) == ((1, 1), 0)
    assert transpose_padding(1, 2, 1, "valid", None) == ((0, 0), 1)
