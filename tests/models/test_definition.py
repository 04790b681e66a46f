"""Model definition files (TOML / JSON): build, round trip with the model file, errors that name
the layer and the key, and resolve_model."""

import json
from pathlib import Path

import numpy as np
import pytest

import convlens as cl
from convlens.layers.spec import to_spec
from convlens.models import DefinitionError, load_definition, resolve_model

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "my_net.toml"


def _toml(tmp_path, text, name="net.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_documented_example_builds_and_runs():
    model = load_definition(EXAMPLE)
    assert model.info.name == "my_net" and model.info.input_shape == (1, 28, 28)
    assert isinstance(model[4], cl.Residual) and len(model[4].body) == 3
    assert model[0].weight_init == "he_normal"
    assert model(np.zeros((2, 1, 28, 28), np.float32)).shape == (2, 10)


def test_toml_json_and_the_spec_of_a_model_file_describe_the_same_network(tmp_path):
    toml_model = load_definition(EXAMPLE)
    spec = to_spec(toml_model)
    as_json = tmp_path / "net.json"
    as_json.write_text(json.dumps({"name": "same", "architecture": spec}))
    assert to_spec(load_definition(as_json)) == json.loads(json.dumps(spec))
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(spec))
    assert to_spec(load_definition(bare)) == json.loads(json.dumps(spec))


def test_a_zoo_model_written_as_a_definition_computes_the_same_function(tmp_path):
    zoo = cl.models.get_model("text_cnn", vocab_size=30, num_classes=3)
    path = tmp_path / "text.json"
    path.write_text(json.dumps(to_spec(zoo)))
    twin = load_definition(path)
    twin.load_state_dict(zoo.state_dict())
    ids = np.random.default_rng(0).integers(0, 30, (2, 12))
    np.testing.assert_array_equal(twin.eval()(ids), zoo.eval()(ids))


def test_concat_branches_and_shared_layers(tmp_path):
    path = _toml(tmp_path, """
[[layers]]
type = "Conv1d"
in_channels = 4
out_channels = 4
kernel_size = 3
padding = 1

[[layers]]
type = "ReLU"

[[layers]]
shared = "0"      # the first convolution again: the same weights

[[layers]]
type = "Concat"
dim = 1
branches = [[{type = "GlobalMaxPool1d"}], {layers = [{type = "GlobalAvgPool1d"}]}]

[[layers]]
type = "Linear"
in_features = 8
out_features = 3
""")
    model = load_definition(path)
    assert model[2] is model[0]
    assert model(np.zeros((2, 4, 10), np.float32)).shape == (2, 3)


@pytest.mark.parametrize("body, message", [
    ('type = "Conv2D"\nin_channels = 1', "net.toml: layer 0: unknown layer type 'Conv2D' (did you mean 'Conv2d'?)"),
    ('type = "Conv2d"\nin_channels = 1\nout_channels = 2\nkernal_size = 3',
     "net.toml: layer 0 (Conv2d): unknown key 'kernal_size' (did you mean 'kernel_size'?); Conv2d takes in_channels, "
     "out_channels, kernel_size, stride"),
    ('type = "Conv2d"\nin_channels = 1\nkernel_size = 3',
     "net.toml: layer 0 (Conv2d): missing key 'out_channels'; Conv2d needs in_channels, out_channels, kernel_size"),
    ('type = "Conv2d"\nin_channels = 0\nout_channels = 2\nkernel_size = 3',
     "net.toml: layer 0 (Conv2d): Conv2d: in_channels must be a positive int, received 0"),
    ('kernel_size = 3', "net.toml: layer 0: expected a table with a 'type'"),
    ('type = "Residual"\n[[layers.body]]\ntype = "Linear"\nin_features = 2\nout_feature = 2',
     "net.toml: layer 0.body.0 (Linear): unknown key 'out_feature' (did you mean 'out_features'?)"),
    ('type = "ReLU"\n[[layers]]\nshared = "5"',
     "net.toml: layer 1: 'shared' must name a layer defined before this place (its dotted path), received '5'"),
])
def test_errors_name_the_layer_and_the_key(tmp_path, body, message):
    path = _toml(tmp_path, "[[layers]]\n" + body + "\n")
    with pytest.raises(DefinitionError) as info:
        load_definition(path)
    assert message in str(info.value)


def test_file_level_errors(tmp_path):
    with pytest.raises(DefinitionError, match=r"net.toml: not valid TOML: .*line 1"):
        load_definition(_toml(tmp_path, 'name = "my net\n[[layers]]\n'))
    with pytest.raises(DefinitionError, match=r"net.toml: no layers: expected a 'layers' list"):
        load_definition(_toml(tmp_path, 'name = "x"\n'))
    with pytest.raises(DefinitionError, match=r"net.toml: unknown top-level key 'layer'"):
        load_definition(_toml(tmp_path, '[[layer]]\ntype = "ReLU"\n'))
    with pytest.raises(DefinitionError, match=r"missing.toml: no such model definition file"):
        load_definition(tmp_path / "missing.toml")
    bad_json = tmp_path / "net.json"
    bad_json.write_text('{"layers": [}')
    with pytest.raises(DefinitionError, match=r"net.json: not valid JSON: .*line 1 column 13"):
        load_definition(bad_json)


def test_resolve_model_takes_a_zoo_name_or_a_definition_and_checks_the_sizes(tmp_path):
    assert resolve_model("lenet5", num_classes=4)[-1].out_features == 4
    assert isinstance(resolve_model(EXAMPLE, in_channels=1, num_classes=10, input_size=28), cl.Sequential)
    with pytest.raises(DefinitionError, match=r"the data needs num_classes = 7, but layer 9 \(Linear\) has "
                                              r"out_features = 10; change it in the file"):
        resolve_model(EXAMPLE, num_classes=7)
    with pytest.raises(DefinitionError, match=r"the data needs in_channels = 3, but layer 0 \(Conv2d\) has "
                                              r"in_channels = 1"):
        resolve_model(str(EXAMPLE), in_channels=3)
    with pytest.raises(DefinitionError, match=r"input_shape is \[1, 28, 28\], but the data's images are 32×32"):
        resolve_model(EXAMPLE, input_size=32)
    with pytest.raises(ValueError, match=r"unknown model 'lenet6': expected a zoo model \(cnn1d, .*\) or a model "
                                         r"definition file ending in .toml or .json"):
        resolve_model("lenet6")


def test_with_an_input_shape_input_sizes_may_be_left_out_and_misfits_are_named(tmp_path):
    path = _toml(tmp_path, """
input_shape = [3, 16, 16]

[[layers]]
type = "Conv2d"
out_channels = 4
kernel_size = 3

[[layers]]
type = "BatchNorm2d"

[[layers]]
type = "MaxPool2d"
kernel_size = 2

[[layers]]
type = "Flatten"

[[layers]]
type = "Linear"
out_features = 5
""")
    model = load_definition(path)
    assert (model[0].in_channels, model[1].num_features, model[4].in_features) == (3, 4, 4 * 7 * 7)
    assert model.training and model[1].running_mean.tolist() == [0.0] * 4  # the probe changed nothing
    misfit = _toml(tmp_path, path.read_text().replace("out_features = 5", "in_features = 100\nout_features = 5"),
                   "misfit.toml")
    with pytest.raises(DefinitionError, match=r"misfit.toml: layer 4 \(Linear\): Linear expects input \(N, 100\) or one "
                                              r"feature vector \(100,\), received shape \(1, 196\) \(with input_shape \[3, 16, 16\], this "
                                              r"layer receives \(196,\) per example\)"):
        load_definition(misfit)
    with pytest.raises(DefinitionError, match=r"input_shape must be a list of positive sizes without the batch axis"):
        load_definition(_toml(tmp_path, 'input_shape = "1x28x28"\n[[layers]]\ntype = "ReLU"\n', "bad.toml"))
