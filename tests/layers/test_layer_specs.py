"""Every layer's spec (get_config / from_config) rebuilds it exactly, through JSON, with its
non-default settings; shared layers stay shared."""

import json

import numpy as np
import pytest

import convlens as cl
import convlens.layers as L
from convlens.layers.spec import SpecError, from_spec, to_spec

# (layer with settings other than the defaults, input)
CASES = {
    "Conv1d": (lambda: L.Conv1d(2, 4, 3, stride=2, padding="same", groups=2, bias=False,
                                padding_mode="reflect", weight_init="he_normal"), (2, 2, 9)),
    "Conv2d": (lambda: L.Conv2d(2, 4, (3, 1), stride=(1, 2), padding=((1, 0), (0, 1)), dilation=(2, 1),
                                bias_init="zeros"), (2, 2, 7, 6)),
    "Conv3d": (lambda: L.Conv3d(1, 2, 2, padding="valid", dtype=np.float64), (1, 1, 3, 4, 4)),
    "Linear": (lambda: L.Linear(3, 2, bias=False, weight_init="xavier_uniform"), (2, 3)),
    "Embedding": (lambda: L.Embedding(10, 4, padding_idx=-1), None),
    "Reshape": (lambda: L.Reshape(2, -1), (2, 4, 3)),
    "Permute": (lambda: L.Permute(0, 2, 1), (2, 3, 5)),
    "Flatten": (lambda: L.Flatten(2), (2, 3, 4, 5)),
    "MaxPool2d": (lambda: L.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), (1, 2, 7, 7)),
    "AvgPool1d": (lambda: L.AvgPool1d(2, count_include_pad=False, padding=1), (1, 2, 7)),
    "MinPool3d": (lambda: L.MinPool3d(2), (1, 1, 4, 4, 4)),
    "AdaptiveAvgPool2d": (lambda: L.AdaptiveAvgPool2d((3, None)), (1, 2, 7, 5)),
    "AdaptiveMaxPool1d": (lambda: L.AdaptiveMaxPool1d(4), (1, 2, 9)),
    "GlobalMaxPool1d": (lambda: L.GlobalMaxPool1d(keepdims=True), (2, 3, 5)),
    "GlobalAvgPool3d": (lambda: L.GlobalAvgPool3d(), (2, 3, 2, 2, 2)),
    "BatchNorm2d": (lambda: L.BatchNorm2d(3, eps=1e-3, momentum=0.2), (4, 3, 2, 2)),
    "BatchNorm1d": (lambda: L.BatchNorm1d(3, affine=False, track_running_stats=False), (4, 3, 5)),
    "InstanceNorm2d": (lambda: L.InstanceNorm2d(3, affine=True, track_running_stats=True), (2, 3, 4, 4)),
    "GroupNorm": (lambda: L.GroupNorm(2, 4, affine=False), (2, 4, 3)),
    "LayerNorm": (lambda: L.LayerNorm((3, 4), bias=False), (2, 3, 4)),
    "Dropout": (lambda: L.Dropout(0.3, seed=4), (2, 6)),
    "Dropout2d": (lambda: L.Dropout2d(0.2), (2, 3, 4, 4)),
    "PixelShuffle": (lambda: L.PixelShuffle(2), (1, 8, 3, 3)),
    "PixelUnshuffle": (lambda: L.PixelUnshuffle(2), (1, 2, 4, 4)),
    "Softplus": (lambda: L.Softplus(2.0, 5.0), (2, 5)),
    "Softsign": (lambda: L.Softsign(), (2, 5)),
    "ConvTranspose1d": (lambda: L.ConvTranspose1d(2, 3, 3, stride=2), (1, 2, 5)),
    "ConvTranspose2d": (lambda: L.ConvTranspose2d(2, 4, 3, stride=2, padding=1, output_padding=1, groups=2),
                        (1, 2, 4, 5)),
    "ConvTranspose3d": (lambda: L.ConvTranspose3d(2, 1, 2), (1, 2, 2, 3, 2)),
    "Rescale": (lambda: L.Rescale([0.5, 2.0], 0.1), (1, 2, 3)),
    "Upsample": (lambda: L.Upsample(scale_factor=(2, 1.5), mode="bilinear", align_corners=True), (1, 2, 3, 4)),
    "LeakyReLU": (lambda: L.LeakyReLU(0.2), (2, 5)),
    "ELU": (lambda: L.ELU(0.5), (2, 5)),
    "GELU": (lambda: L.GELU("tanh"), (2, 5)),
    "Softmax": (lambda: L.Softmax(2), (2, 3, 4)),
    "LogSoftmax": (lambda: L.LogSoftmax(0), (2, 3)),
    "Identity": (lambda: L.Identity(), (2, 3)),
    "Concat": (lambda: L.Concat(L.Identity(), L.Tanh(), dim=2), (2, 3, 4)),
    "Residual": (lambda: L.Residual(L.Sigmoid(), L.ReLU()), (2, 3)),
    # layers of ONNX networks (more_activation, local_response_norm, shape_ops)
    "Hardtanh": (lambda: L.Hardtanh(-0.5, 2.0), (2, 5)),
    "ReLU6": (lambda: L.ReLU6(), (2, 5)),
    "HardSigmoid": (lambda: L.HardSigmoid(0.2, 0.4), (2, 5)),
    "HardSwish": (lambda: L.HardSwish(), (2, 5)),
    "SELU": (lambda: L.SELU(alpha=1.5, scale=1.1), (2, 5)),
    "PReLU": (lambda: L.PReLU(3, init=0.1), (2, 3, 4)),
    "LocalResponseNorm": (lambda: L.LocalResponseNorm(3, alpha=0.01, beta=0.7, k=2.0), (2, 5, 3, 3)),
    "Pad": (lambda: L.Pad([(1, 0), (2, 1)], "reflect"), (2, 3, 4, 4)),
    "Slice": (lambda: L.Slice([slice(0, 2), None, slice(None, None, -1)]), (2, 3, 4, 5)),
    "Gather": (lambda: L.Gather([[2, 0], [1, 1]], 1), (2, 3, 4)),
    "Reduce": (lambda: L.Reduce("max", (1, -1), keepdims=False), (2, 3, 4)),
    "FlatIndices": (lambda: L.FlatIndices((4, 5)), (2, 3, 2, 2)),
}


def test_every_exported_layer_class_has_a_case():
    from convlens.layers import graph, merge

    skip = {"Module", "Sequential", "Dense", "Swish"}  # the base, tested containers, aliases
    graph_api = {n for n in L.__all__ if hasattr(graph, n) or hasattr(merge, n) or n == "Constant"}
    names = {n for n in L.__all__ if n not in skip | graph_api}  # graph layers: tests/layers/test_graph.py
    plain = {"ReLU", "Sigmoid", "Tanh", "SiLU", "Dropout1d", "Dropout3d"} | {
        n for n in names if n[:-2] in ("MaxPool", "AvgPool", "MinPool", "GlobalAvgPool", "GlobalMaxPool",
                                        "AdaptiveAvgPool", "AdaptiveMaxPool", "BatchNorm", "InstanceNorm",
                                        "Conv")}
    assert names - plain <= set(CASES)


@pytest.mark.parametrize("name", CASES)
def test_a_layer_rebuilt_from_its_json_spec_computes_the_same(name):
    make, shape = CASES[name]
    layer = make()
    spec = json.loads(json.dumps(to_spec(layer)))
    twin = from_spec(spec)
    assert type(twin) is type(layer)
    assert json.loads(json.dumps(to_spec(twin))) == spec
    state = layer.state_dict()
    twin.load_state_dict(state)
    for key, value in twin.state_dict().items():
        assert value.dtype == state[key].dtype, key
    x = (np.random.default_rng(0).integers(0, 10, (2, 5)) if shape is None
         else np.random.default_rng(0).standard_normal(shape).astype(np.float32))
    layer.eval(), twin.eval()
    np.testing.assert_array_equal(twin(x), layer(x))


def test_a_layer_used_twice_is_written_once_and_rebuilt_shared():
    conv = L.Conv1d(2, 2, 3, padding=1)
    model = L.Sequential(conv, L.ReLU(), L.Residual(L.Sequential(conv)))
    spec = to_spec(model)
    assert spec["config"]["layers"][2]["config"]["body"]["config"]["layers"][0] == {"shared": "0"}
    twin = from_spec(json.loads(json.dumps(spec)))
    assert twin[2].body[0] is twin[0]
    assert len(twin.parameters()) == 2


def test_a_shared_reference_to_an_unknown_place_names_it():
    spec = {"class": "Sequential", "config": {"layers": [{"class": "ReLU"}, {"shared": "4"}]}}
    with pytest.raises(SpecError, match=r"model.1: 'shared' must name a layer defined before this place \(its "
                                        r"dotted path\), received '4'; layers so far: '0'"):
        from_spec(spec)


def test_an_initializer_that_cannot_be_named_warns_on_save(tmp_path):
    layer = cl.Linear(2, 2, weight_init=lambda p: cl.init.ones_(p))
    assert "weight_init" not in layer.get_config()
    with pytest.warns(UserWarning, match=r"layer Linear: weight_init is <function .*lambda.*>, which has no name"):
        cl.save(layer, tmp_path / "lambda.convlens")
