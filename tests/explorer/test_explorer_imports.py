"""A model imported from ONNX or Keras opens in the explorer as any model does: the network,
the prediction and one cell's numbers through the API, each checked against the runtime the
file came from (PyTorch for the exported ONNX file, Keras for the .keras file). The models are
opened by ``open_models``, as ``convlens serve model.onnx small.keras`` opens them."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")   # before keras is first imported: no TensorFlow

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from explorer_helpers import digit_input, onnx_digits_cnn  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from convlens.explorer.app import create_app  # noqa: E402
from convlens.explorer.models import open_models  # noqa: E402


def keras_digits_cnn() -> keras.Model:
    keras.utils.set_random_seed(4)
    return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3, padding="same", activation="relu"),
                             keras.layers.MaxPooling2D(2), keras.layers.Flatten(), keras.layers.Dense(10)])


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("imported")
    net = onnx_digits_cnn(folder / "small.onnx")
    kmodel = keras_digits_cnn()
    kmodel.save(folder / "small.keras")
    served = open_models([str(folder / "small.onnx"), str(folder / "small.keras")])
    with TestClient(create_app(served)) as client:
        yield client, net, kmodel


def test_an_onnx_model_shows_its_network_prediction_and_a_cell(imported):
    client, net, _ = imported
    models = {m["name"]: m for m in client.get("/api/models").json()["models"]}
    assert models["small.onnx"]["kind"] == "file" and models["small.onnx"]["input_shape"] == [1, 28, 28]
    nodes = client.get("/api/models/small.onnx/network").json()["nodes"]
    assert [n["type"] for n in nodes] == ["Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "Flatten", "Linear"]
    assert [n["params"] for n in nodes if n["params"]] == [sum(p.numel() for p in m.parameters())
                                                          for m in net if list(m.parameters())]
    x = digit_input(2)
    with torch.no_grad():
        logits = net(torch.from_numpy(x[None]))[0].double()
        first = net[0](torch.from_numpy(x[None]))[0].numpy()
    answer = client.post("/api/models/small.onnx/predict", json={"input": x.tolist()}).json()
    np.testing.assert_allclose(answer["probabilities"], torch.softmax(logits, 0).numpy(), rtol=1e-5, atol=1e-7)
    cell = client.post("/api/models/small.onnx/cell", json={"input": x.tolist(), "layer": 0, "index": [3, 9, 14]}).json()
    assert cell["detail"]["kind"] == "conv" and cell["value"] == pytest.approx(float(first[3, 9, 14]), rel=1e-5)
    np.testing.assert_allclose(cell["detail"]["kernel"], net[0].weight[3].detach().numpy(), rtol=1e-7)
    assert cell["detail"]["sum"] == pytest.approx(cell["value"], rel=1e-5)


def test_a_keras_model_shows_its_network_prediction_and_a_cell(imported):
    client, _, kmodel = imported
    nodes = client.get("/api/models/small.keras/network").json()["nodes"]
    assert [n["type"] for n in nodes] == ["Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear"]
    assert sum(n["params"] for n in nodes) == kmodel.count_params()
    x = digit_input(6)
    channels_last = np.moveaxis(x, 0, -1)[None]
    logits = keras.ops.convert_to_numpy(kmodel(channels_last, training=False))[0].astype(np.float64)
    answer = client.post("/api/models/small.keras/predict", json={"input": x.tolist()}).json()
    np.testing.assert_allclose(answer["logits"], logits, rtol=1e-4, atol=1e-5)
    assert answer["predicted"] == int(np.argmax(logits))
    # Keras's Conv2D(activation="relu") is convlens's Conv2d then ReLU: the ReLU's cell is Keras's value
    activated = keras.ops.convert_to_numpy(kmodel.layers[0](channels_last))[0]
    cell = client.post("/api/models/small.keras/cell", json={"input": x.tolist(), "layer": 1, "index": [1, 12, 13]}).json()
    assert cell["detail"]["kind"] == "relu" and cell["value"] == pytest.approx(float(activated[12, 13, 1]), rel=1e-5, abs=1e-7)
    conv = client.post("/api/models/small.keras/cell", json={"input": x.tolist(), "layer": 0, "index": [1, 12, 13]}).json()
    assert conv["detail"]["sum"] == pytest.approx(conv["value"], rel=1e-5, abs=1e-7)
    assert max(conv["value"], 0.0) == pytest.approx(cell["value"], rel=1e-6, abs=1e-7)
