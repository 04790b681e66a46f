"""Keras (3, on its PyTorch backend) for the Keras import tests: models to save, a
TensorFlow.js layers-model writer following the format's spec (tensorflowjs itself is not
installable here), and the comparison of a Keras model with the convlens model read back."""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ["KERAS_BACKEND"] = "torch"    # before keras is first imported: no TensorFlow needed

import keras  # noqa: E402
import numpy as np  # noqa: E402
from torch_oracle import assert_close  # noqa: E402

import convlens as cl  # noqa: E402


def randomize_batch_norm(model: keras.Model, seed: int = 0) -> None:
    """Give every BatchNormalization non-trivial statistics and affine weights."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.set_weights([
                rng.uniform(0.5, 1.5, w.shape).astype("float32") if "variance" in w.path or "gamma" in w.path
                else rng.normal(0, 0.5, w.shape).astype("float32") for w in layer.weights])


def keras_output(model: keras.Model, x: np.ndarray) -> np.ndarray:
    return keras.ops.convert_to_numpy(model(x, training=False))


def channels_first(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(x, -1, 1)) if x.ndim > 2 else x


def assert_same_output(keras_model: keras.Model, model: cl.Module, x: np.ndarray) -> None:
    """``model`` (convlens, channels-first, eval mode) computes what ``keras_model`` does."""
    expected = keras_output(keras_model, x)
    model.eval()
    actual = model(channels_first(x))
    assert_close(actual, channels_first(expected), "output", np.dtype(np.float32))


def keras2_topology(model: keras.Model) -> dict:
    """The model config in Keras 2's layout, as TensorFlow.js files carry it (CNN Explainer's
    Tiny VGG): no InputLayer in a Sequential, ``batch_input_shape`` on the first layer, all
    wrapped in ``model_config``."""
    config = json.loads(model.to_json())
    if config["class_name"] != "Sequential":
        return {"keras_version": "2.2.4-tf", "backend": "tensorflow",
                "model_config": {"class_name": "Model", "config": keras2_functional(config["config"])}}
    layers = []
    batch_shape = None
    for spec in config["config"]["layers"]:
        if spec["class_name"] == "InputLayer":
            batch_shape = spec["config"]["batch_shape"]
            continue
        spec = {"class_name": spec["class_name"], "config": dict(spec["config"])}
        spec["config"]["dtype"] = "float32"
        if batch_shape is not None:
            spec["config"]["batch_input_shape"] = batch_shape
            batch_shape = None
        layers.append(spec)
    return {"keras_version": "2.2.4-tf", "backend": "tensorflow",
            "model_config": {"class_name": "Sequential", "config": {"name": config["config"]["name"], "layers": layers}}}


def _keras2_refs(value) -> list:
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        name, node, index = value["config"]["keras_history"]
        return [[name, node, index, {}]]
    if isinstance(value, (list, tuple)):
        return [ref for item in value for ref in _keras2_refs(item)]
    return []


def keras2_functional(config: dict) -> dict:
    """A Keras 3 functional config with Keras 2's inbound nodes ``[[[name, node, tensor, {}]]]``
    and ``batch_input_shape``."""
    layers = []
    for spec in config["layers"]:
        spec = dict(spec)
        spec["config"] = dict(spec["config"])
        if spec["class_name"] == "InputLayer":
            spec["config"]["batch_input_shape"] = spec["config"].pop("batch_shape")
        spec["inbound_nodes"] = [_keras2_refs(node["args"]) for node in spec.get("inbound_nodes", [])]
        layers.append(spec)
    return dict(config, layers=layers)


def write_tfjs(model: keras.Model, folder: Path, shard_bytes: int = 4096, keras2: bool = False) -> Path:
    """Write ``model`` as a TensorFlow.js layers-model: model.json + ``group1-shardKofN.bin``.

    Layout from the tfjs-layers format: ``{"format": "layers-model", "modelTopology": <Keras
    model config>, "weightsManifest": [{"paths": [...], "weights": [{"name", "shape", "dtype"}]}]}``;
    the group's weights are concatenated little-endian float32 and cut into shards.
    """
    folder.mkdir(parents=True, exist_ok=True)
    entries, blobs = [], []
    for layer in model.layers:
        for weight in layer.weights:
            value = keras.ops.convert_to_numpy(weight.value).astype("<f4")
            # "<layer>/<weight>", "<inner model>/<layer>/<weight>" when nested (Keras's path
            # without the outer model's name, which a Sequential's paths start with)
            path = weight.path.removeprefix(f"{model.name}/")
            entries.append({"name": path, "shape": list(value.shape), "dtype": "float32"})
            blobs.append(value.tobytes())
    data = b"".join(blobs)
    count = max(1, -(-len(data) // shard_bytes))
    paths = []
    for k in range(count):
        name = f"group1-shard{k + 1}of{count}.bin"
        (folder / name).write_bytes(data[k * shard_bytes:(k + 1) * shard_bytes])
        paths.append(name)
    topology = keras2_topology(model) if keras2 else json.loads(model.to_json())
    document = {"format": "layers-model", "generatedBy": "keras", "convertedBy": "convlens tests",
                "modelTopology": topology, "weightsManifest": [{"paths": paths, "weights": entries}]}
    (folder / "model.json").write_text(json.dumps(document))
    return folder / "model.json"


def tiny_vgg(size: int = 16, classes: int = 10) -> keras.Model:
    """CNN Explainer's Tiny VGG (2 × (conv-relu, conv-relu, max pool), flatten, dense softmax),
    at a smaller input size."""
    L = keras.layers
    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input((size, size, 3)),
        L.Conv2D(10, 3, name="conv_1_1"), L.Activation("relu", name="relu_1_1"),
        L.Conv2D(10, 3, name="conv_1_2"), L.Activation("relu", name="relu_1_2"),
        L.MaxPooling2D(2, name="max_pool_1"),
        L.Conv2D(10, 3, name="conv_2_1"), L.Activation("relu", name="relu_2_1"),
        L.Conv2D(10, 3, name="conv_2_2"), L.Activation("relu", name="relu_2_2"),
        L.MaxPooling2D(2, name="max_pool_2"),
        L.Flatten(name="flatten"), L.Dense(classes, activation="softmax", name="output"),
    ], name="sequential")


def image(shape, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def saved_in_every_format(model: keras.Model, folder: Path, keras2: bool = True) -> dict[str, Path]:
    """``model`` written as .keras, legacy .h5 and TensorFlow.js (Keras 3 and, for a
    Sequential, Keras 2 topology unless ``keras2`` is False: a Keras 3 model whose meaning
    differs in Keras 2, as ``hard_sigmoid``'s does)."""
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "m.keras")
    model.save(folder / "m.h5")
    paths = {"keras": folder / "m.keras", "h5": folder / "m.h5", "tfjs": write_tfjs(model, folder / "tfjs")}
    if keras2 and isinstance(model, keras.Sequential):
        paths["tfjs-keras2"] = write_tfjs(model, folder / "tfjs2", keras2=True)
    return paths


def assert_every_format(keras_model: keras.Model, x: np.ndarray, folder: Path,
                        keras2: bool = True) -> dict[str, cl.Module]:
    """Each file format of ``keras_model`` loads in convlens and computes what Keras does."""
    loaded = {}
    for kind, path in saved_in_every_format(keras_model, folder, keras2).items():
        loaded[kind] = cl.load(path)
        try:
            assert_same_output(keras_model, loaded[kind], x)
        except AssertionError as error:
            raise AssertionError(f"{kind}: {error}") from None
    return loaded


def randomize_weights(model: keras.Model, seed: int = 0) -> None:
    """Non-trivial values for every weight (normalization scales and offsets included; a
    variance stays positive), so a weight read in the wrong order shows."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            randomize_weights(layer, seed + 1)
            continue
        values = []
        for w in layer.weights:
            shape = tuple(w.shape)
            if "variance" in w.path or "gamma" in w.path:
                values.append(rng.uniform(0.5, 1.5, shape).astype("float32"))
            elif w.dtype.startswith("float"):
                values.append(rng.normal(0, 0.5, shape).astype("float32"))
            else:
                values.append(keras.ops.convert_to_numpy(w.value))
        layer.set_weights(values)
