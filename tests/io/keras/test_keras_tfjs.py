"""cl.load of TensorFlow.js layers-models (model.json + binary shards), the format CNN
Explainer ships its Tiny VGG in; the files are written from Keras models by the spec."""

import json

import numpy as np
import pytest
from keras_models import assert_same_output, image, tiny_vgg, write_tfjs

import convlens as cl
from convlens.io.formats import FormatError
from convlens.io.keras.tfjs import load_tfjs


@pytest.mark.parametrize("keras2", [True, False], ids=["keras2-topology", "keras3-topology"])
def test_tiny_vgg_in_cnn_explainers_format(tmp_path, keras2):
    model = tiny_vgg()
    path = write_tfjs(model, tmp_path / "tiny_vgg", shard_bytes=4000, keras2=keras2)
    assert len(list((tmp_path / "tiny_vgg").glob("group1-shard*.bin"))) > 1   # several shards
    loaded = cl.load(path)
    assert loaded.num_parameters() == model.count_params()
    assert_same_output(model, loaded, image((2, 16, 16, 3)))
    folder_loaded = cl.load(tmp_path / "tiny_vgg")          # the folder holding model.json
    np.testing.assert_array_equal(folder_loaded.state_dict()["0.weight"], loaded.state_dict()["0.weight"])


def test_cnn_explainer_topology_shape(tmp_path):
    """The Keras 2 topology as CNN Explainer's file has it: model_config, batch_input_shape."""
    path = write_tfjs(tiny_vgg(), tmp_path / "m", keras2=True)
    document = json.loads(path.read_text())
    first = document["modelTopology"]["model_config"]["config"]["layers"][0]
    assert first["class_name"] == "Conv2D" and first["config"]["batch_input_shape"] == [None, 16, 16, 3]
    assert document["weightsManifest"][0]["weights"][0] == {"name": "conv_1_1/kernel", "shape": [3, 3, 3, 10], "dtype": "float32"}


def test_truncated_or_oversized_shards(tmp_path):
    path = write_tfjs(tiny_vgg(), tmp_path / "m", shard_bytes=10**6)
    shard = tmp_path / "m" / "group1-shard1of1.bin"
    data = shard.read_bytes()
    shard.write_bytes(data[:-8])
    with pytest.raises(FormatError, match=r"needs bytes .*: the shards are truncated"):
        cl.load(path)
    shard.write_bytes(data + b"\0" * 4)
    with pytest.raises(FormatError, match=rf"hold {len(data) + 4} bytes, the manifest describes {len(data)}"):
        cl.load(path)


def test_shard_paths_outside_the_folder_are_refused(tmp_path):
    path = write_tfjs(tiny_vgg(), tmp_path / "m")
    document = json.loads(path.read_text())
    document["weightsManifest"][0]["paths"] = ["../secret.bin"]
    path.write_text(json.dumps(document))
    with pytest.raises(FormatError, match=r"weight shard path '../secret.bin' must be a file name inside the model's folder"):
        cl.load(path)


def test_graph_models_and_bad_json_are_explained(tmp_path):
    path = write_tfjs(tiny_vgg(), tmp_path / "m")
    document = json.loads(path.read_text())
    document["format"] = "graph-model"
    path.write_text(json.dumps(document))
    with pytest.raises(FormatError, match=r"format 'graph-model' is not supported; expected 'layers-model'"):
        load_tfjs(path)
    path.write_text(path.read_text()[:100])
    with pytest.raises(FormatError, match=r"is not valid JSON"):
        load_tfjs(path)


def test_quantized_weights_are_dequantized(tmp_path):
    from convlens.io.keras.tfjs import read_weights

    values = np.array([0, 1, 255], dtype=np.uint8)
    (tmp_path / "s.bin").write_bytes(values.tobytes())
    document = {"weightsManifest": [{"paths": ["s.bin"], "weights": [
        {"name": "dense/bias", "shape": [3], "dtype": "float32",
         "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1.0}}]}]}
    arrays = read_weights(document, tmp_path, "m.json")
    np.testing.assert_allclose(arrays["dense"][0], [-1.0, -0.5, 126.5])


def test_the_command_line_looks_inside_a_tfjs_model(tmp_path):
    from click.testing import CliRunner

    from convlens.cli import main

    write_tfjs(tiny_vgg(), tmp_path / "tiny_vgg", keras2=True)
    result = CliRunner().invoke(main, ["summary", str(tmp_path / "tiny_vgg" / "model.json")])
    assert result.exit_code == 0, result.output
    assert "(1, 10, 14, 14)" in result.output and "Total params: 3,120" in result.output
    result = CliRunner().invoke(main, ["summary", str(tmp_path / "missing" / "model.json")])
    assert result.exit_code != 0 and "Traceback" not in result.output


def test_a_hostile_topology_is_refused_before_allocating(tmp_path):
    """Sizes in the JSON are checked against the weights and a bound before any array is made."""
    path = write_tfjs(tiny_vgg(), tmp_path / "m", keras2=True)
    document = json.loads(path.read_text())
    layers = document["modelTopology"]["model_config"]["config"]["layers"]
    layers[0]["config"]["batch_input_shape"] = [None, 10**6, 10**6, 3]
    path.write_text(json.dumps(document))
    with pytest.raises(FormatError, match=r"the input shape \[None, 1000000, 1000000, 3\] is not a size convlens can build"):
        cl.load(path)
    layers[0]["config"]["batch_input_shape"] = [None, 16, 16, 3]
    layers[0]["config"]["filters"] = 10**9
    path.write_text(json.dumps(document))
    with pytest.raises(FormatError, match=r"layer 'conv_1_1' kernel: expected shape \(3, 3, 3, 1000000000\) from the layer's configuration, the file holds \(3, 3, 3, 10\)"):
        cl.load(path)
