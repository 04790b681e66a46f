"""cl.export_onnx: every zoo model and every exportable layer, run by onnxruntime, matches
convlens within 1e-5 (relative to the output's size) at several batch sizes (the batch axis is
dynamic); layers ONNX cannot express are named in one error."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx_layer_stacks import LAYER_STACKS, randomize_statistics

import convlens as cl
from convlens.io.onnx.exporter import OnnxExportError, export_onnx
from convlens.models.registry import available_models

ZOO_SHAPES = {"cnn1d": (1, 40), "cnn3d": (1, 8, 8, 8), "text_cnn": (20,)}


def onnxruntime_output(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def assert_matches_onnxruntime(model, path, shape, batches=(1, 4), tokens=False):
    for batch in batches:
        rng = np.random.default_rng(batch)
        x = rng.integers(0, 50, (batch, *shape)) if tokens else rng.standard_normal((batch, *shape)).astype(np.float32)
        with cl.no_grad():
            ours = model.eval()(x)
        theirs = onnxruntime_output(path, x)
        assert theirs.shape == ours.shape
        scale = max(1.0, float(np.abs(theirs).max()))
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5 * scale)


@pytest.mark.parametrize("name", available_models())
def test_every_zoo_model_matches_onnxruntime(name, tmp_path):
    model = randomize_statistics(cl.models.get_model(name))
    shape = ZOO_SHAPES.get(name, (1, 28, 28))
    path = export_onnx(model, tmp_path / f"{name}.onnx", input_shape=shape)
    onnx.checker.check_model(str(path), full_check=True)
    assert_matches_onnxruntime(model, path, shape, tokens=name == "text_cnn")


@pytest.mark.filterwarnings("ignore:Conv2d. padding='same'")  # the asymmetric 'same' is the point
@pytest.mark.parametrize("name, opset", [
    (name, opset) for name in LAYER_STACKS for opset in (13, 17, onnx.defs.onnx_opset_version())
    if not (name == "normalization" and opset < 17)  # LayerNormalization exists from opset 17
])
def test_layers_match_onnxruntime(name, opset, tmp_path):
    build, shape = LAYER_STACKS[name]
    model = randomize_statistics(build())
    path = export_onnx(model, tmp_path / "m.onnx", input_shape=shape, opset=opset)
    assert onnx.load(str(path)).opset_import[0].version == opset
    assert_matches_onnxruntime(model, path, shape)


def test_nodes_and_initializers_are_named_after_the_layers(tmp_path):
    model = cl.Sequential(cl.Conv2d(1, 2, 3), cl.ReLU(), cl.Residual(cl.Conv2d(2, 2, 1)))
    proto = onnx.load(str(export_onnx(model, tmp_path / "m.onnx", input_shape=(1, 5, 5))))
    assert {i.name for i in proto.graph.initializer} == {"0.weight", "0.bias", "2.body.weight", "2.body.bias"}
    assert [n.name for n in proto.graph.node][:3] == ["0/Conv", "1/Relu", "2.body/Conv"]
    batch = proto.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch.dim_param == "N"


class Doubler(cl.Module):
    def forward(self, x):
        return 2 * x


def test_layers_onnx_cannot_express_are_all_named(tmp_path):
    model = cl.Sequential(cl.Conv2d(1, 4, 3), Doubler(), cl.LocalResponseNorm(4),
                          cl.Sequential(Doubler()), cl.AdaptiveAvgPool2d(4))
    with pytest.raises(OnnxExportError, match=r"ONNX cannot express these layers of the model: "
                       r"1 \(Doubler\), 2 \(LocalResponseNorm with an even size, 4\), 3\.0 \(Doubler\), "
                       r"4 \(AdaptiveAvgPool2d from \(6, 6\) to \(4, 4\): windows of unequal size\)"):
        export_onnx(model, tmp_path / "m.onnx", input_shape=(1, 8, 8))
    assert not (tmp_path / "m.onnx").exists()


def test_a_model_without_an_input_shape_asks_for_one(tmp_path):
    with pytest.raises(ValueError, match=r"give input_shape, the shape of one example without the batch axis"):
        export_onnx(cl.Sequential(cl.ReLU()), tmp_path / "m.onnx")


def test_training_mode_is_restored_after_export(tmp_path):
    model = cl.Sequential(cl.Conv2d(1, 2, 3), cl.BatchNorm2d(2), cl.Dropout())
    export_onnx(model, tmp_path / "m.onnx", input_shape=(1, 5, 5))
    assert all(m.training for m in model.modules())
