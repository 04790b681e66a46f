"""Keras preprocessing, noise and augmentation layers, SeparableConv and the activations of
course CNNs, in all three file formats: outputs equal Keras's."""

import json

import numpy as np
from keras_models import assert_every_format, image, keras, randomize_weights, write_tfjs

import convlens as cl

L = keras.layers


def test_a_course_cnn_with_preprocessing_and_augmentation(tmp_path):
    """A data-augmentation block (a nested Sequential), Rescaling(1/255), separable and
    depthwise convolutions, ReLU6, and the activations of course notebooks."""
    keras.utils.set_random_seed(9)
    augment = keras.Sequential([keras.Input((9, 10, 3)), L.RandomFlip("horizontal"), L.RandomRotation(0.1),
                                L.RandomZoom(0.1)], name="augmentation")
    norm = L.Normalization(mean=[100.0, 120.0, 90.0], variance=[900.0, 400.0, 2500.0])
    model = keras.Sequential([
        keras.Input((9, 10, 3)), augment, norm, L.Rescaling([0.5, 1.0, 2.0], offset=0.1),
        L.Rescaling(1 / 255), L.GaussianNoise(0.1),
        L.SeparableConv2D(6, 3, depth_multiplier=2, padding="same", activation="hard_sigmoid"),
        L.DepthwiseConv2D(3, activation="hard_silu"), L.ReLU(max_value=6.0),
        L.SeparableConv2D(4, 2, strides=2, activation="selu", use_bias=False),
        L.Activation("relu6"), L.Activation("swish"), L.Activation("elu"), L.Activation("gelu"),
        L.Activation("softplus"), L.Activation("softsign"),
        L.SpatialDropout2D(0.2), L.GaussianDropout(0.1), L.Flatten(), L.Dense(3), L.Softmax(),
    ])
    randomize_weights(model)
    x = np.random.default_rng(0).uniform(0, 255, (2, 9, 10, 3)).astype("float32")
    loaded = assert_every_format(model, x, tmp_path, keras2=False)   # Keras 3's hard_sigmoid
    assert sum(isinstance(m, cl.Rescale) for m in loaded["h5"].modules()) == 3


def test_an_adapted_normalization_and_separable_conv1d(tmp_path):
    keras.utils.set_random_seed(10)
    norm = L.Normalization()
    norm.adapt(np.random.default_rng(1).normal(3.0, 2.0, (50, 12, 2)).astype("float32"))
    model = keras.Sequential([keras.Input((12, 2)), norm, L.SeparableConv1D(4, 3, activation="relu"),
                              L.GlobalAveragePooling1D(), L.Dense(2), L.Activation("hard_sigmoid")])
    assert_every_format(model, image((3, 12, 2)), tmp_path, keras2=False)


def test_keras2_hard_sigmoid_is_its_own():
    """Keras 2 files (TensorFlow.js, old .h5) mean clip(0.2·x + 0.5) by hard_sigmoid."""
    from convlens.io.keras.layers import activation_layers

    x = np.linspace(-4, 4, 9)
    np.testing.assert_allclose(activation_layers("hard_sigmoid", "a", keras2=True)[0](x), np.clip(0.2 * x + 0.5, 0, 1))
    np.testing.assert_allclose(activation_layers("hard_sigmoid", "a")[0](x), np.clip(x + 3, 0, 6) / 6)


def test_a_file_written_by_tensorflow_js_itself_gets_its_hard_sigmoid(tmp_path):
    """TensorFlow.js writes keras_version "tfjs-layers …"; its hard_sigmoid is Keras 2's."""
    keras.utils.set_random_seed(11)
    model = keras.Sequential([keras.Input((5,)), L.Dense(4), L.Activation("hard_sigmoid")])
    path = write_tfjs(model, tmp_path / "tfjs")
    document = json.loads(path.read_text())
    document["modelTopology"]["keras_version"] = "tfjs-layers 4.22.0"
    path.write_text(json.dumps(document))
    x = image((3, 5))
    dense = keras.ops.convert_to_numpy(model.layers[0](x))
    np.testing.assert_allclose(cl.load(path)(x), np.clip(0.2 * dense + 0.5, 0, 1), rtol=1e-5, atol=1e-6)
