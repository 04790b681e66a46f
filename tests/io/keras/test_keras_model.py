"""Functional Keras models (branches, Add, Concatenate, a layer called twice, two inputs) become
convlens graphs, from each file format; Keras 2 configs (TensorFlow.js) read the same."""

import numpy as np
import pytest
from keras_models import (
    assert_same_output,
    channels_first,
    image,
    keras,
    keras_output,
    randomize_batch_norm,
    write_tfjs,
)
from torch_oracle import assert_close

import convlens as cl
from convlens.io.keras.model import build_model

L = keras.layers


def branchy():
    keras.utils.set_random_seed(4)
    x = keras.Input((10, 10, 3), name="image")
    a = L.Conv2D(6, 3, padding="same", activation="relu", name="left")(x)
    b = L.BatchNormalization(name="bn")(L.Conv2D(6, 1, name="right")(x))
    s = L.Add(name="join")([a, b])
    shared = L.Conv2D(6, 3, padding="same", name="shared")
    t = shared(shared(s))                                       # one layer, two calls
    c = L.Concatenate(name="cat")([s, t, L.Multiply()([a, b])])
    p = L.MaxPooling2D(2)(c)
    f = L.Flatten()(p)
    y = L.Dense(4, activation="softmax", name="out")(L.Dropout(0.2)(f))
    model = keras.Model(x, y)
    randomize_batch_norm(model)
    return model


@pytest.mark.parametrize("fmt", ["keras", "h5", "tfjs-keras3", "tfjs-keras2"])
def test_functional_model_becomes_a_graph(tmp_path, fmt):
    model = branchy()
    if fmt.startswith("tfjs"):
        path = write_tfjs(model, tmp_path / "m", keras2=fmt.endswith("keras2"))
    else:
        path = tmp_path / f"m.{fmt}"
        model.save(path)
    loaded = cl.load(path)
    assert isinstance(loaded, cl.Graph)
    assert loaded.num_parameters() == sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert loaded.node("shared").layer is loaded.node("shared_call1").layer
    assert {"left", "left_relu", "right", "bn", "join", "cat", "out", "out_softmax"} <= {n.name for n in loaded.nodes}
    assert_same_output(model, loaded, image((3, 10, 10, 3)))


def test_two_inputs_and_two_outputs(tmp_path):
    keras.utils.set_random_seed(5)
    a, b = keras.Input((12, 2), name="signal"), keras.Input((5,), name="meta")
    h = L.GlobalMaxPooling1D()(L.Conv1D(4, 3, activation="tanh")(a))
    joined = L.Concatenate()([h, L.Dense(3)(b)])
    model = keras.Model([a, b], [L.Dense(2, name="y1")(joined), L.Subtract(name="y2")([L.Dense(4)(joined), h])])
    model.save(tmp_path / "two.keras")
    loaded = cl.load(tmp_path / "two.keras").eval()
    xa, xb = image((3, 12, 2)), image((3, 5), seed=2)
    expected = [keras.ops.convert_to_numpy(t) for t in model([xa, xb], training=False)]
    actual = loaded(channels_first(xa), xb)
    for got, want in zip(actual, expected):
        assert_close(got, want, "output", np.dtype(np.float32))


def test_imported_graph_trains_and_goes_to_torch():
    """An imported Keras model is a convlens graph like any other: it has gradients, and
    cl.to_torch gives a module computing the same."""
    import torch

    model = branchy()
    config = {"class_name": "Functional", "config": model.get_config()}
    weights = {layer.name: [keras.ops.convert_to_numpy(w.value) for w in layer.weights] for layer in model.layers}
    graph = build_model(config, lambda name: weights.get(name, []), "branchy")
    x = channels_first(image((2, 10, 10, 3)))
    graph.eval()
    twin = cl.to_torch(graph).eval()
    np.testing.assert_allclose(twin(torch.from_numpy(x)).detach().numpy(), graph(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(graph(x), channels_first(keras_output(model, np.moveaxis(x, 1, -1))), rtol=1e-4, atol=1e-6)


def test_zero_padding_into_pooling_and_relu6(tmp_path):
    """Keras ResNet50's stem pads before max pooling; MobileNet clips at 6. With the Pad and
    ReLU6 layers (the ONNX work) they convert; without them the error says what is missing."""
    keras.utils.set_random_seed(6)
    x = keras.Input((9, 9, 2))
    y = L.ReLU(max_value=6.0)(L.Conv2D(4, 3, name="conv")(L.ZeroPadding2D(((1, 0), (2, 1)))(x)))
    y = L.MaxPooling2D(3, strides=2)(L.ZeroPadding2D(1)(L.Activation("relu6")(y)))
    model = keras.Model(x, L.GlobalAveragePooling2D()(y))
    model.save(tmp_path / "p.keras")
    if not (hasattr(cl, "Pad") and hasattr(cl, "ReLU6")):
        with pytest.raises(cl.io.formats.FormatError, match=r"unsupported|follows a ZeroPadding layer|max_value"):
            cl.load(tmp_path / "p.keras")
        return
    assert_same_output(model, cl.load(tmp_path / "p.keras"), image((2, 9, 9, 2)) * 4)


def test_nested_models_in_every_format(tmp_path):
    """A feature extractor (a Sequential ending in Flatten: the outer Dense must read its
    rows in Keras's order) inside a functional model, beside a nested functional block."""
    from keras_models import assert_every_format, randomize_weights

    keras.utils.set_random_seed(11)
    features = keras.Sequential([keras.Input((7, 6, 3)), L.Conv2D(4, 3, name="f_conv"),
                                 L.BatchNormalization(name="f_bn"), L.MaxPooling2D(name="f_pool"),
                                 L.Flatten(name="f_flat")], name="features")
    x_in = keras.Input((7, 6, 3))
    block = keras.Model(x_in, L.Add()([L.Conv2D(3, 1, name="b_conv")(x_in), x_in]), name="block")
    x = keras.Input((7, 6, 3))
    y = L.Dense(5, name="head")(features(block(x)))
    model = keras.Model(x, L.Dense(2, name="out")(y))
    randomize_weights(model)
    loaded = assert_every_format(model, image((2, 7, 6, 3)), tmp_path)
    children = [type(m).__name__ for m in loaded["keras"].modules()]
    assert children.count("Graph") == 2 and "Sequential" in children     # the nesting is kept

    outer = keras.Sequential([keras.Input((7, 6, 3)), block, features, L.Dense(3, name="top")])
    randomize_weights(outer, seed=3)
    assert_every_format(outer, image((2, 7, 6, 3)), tmp_path / "sequential")
