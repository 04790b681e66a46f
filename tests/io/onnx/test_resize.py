"""ONNX Resize / Upsample <-> cl.Upsample: what PyTorch writes for nn.Upsample at opsets 9 to
17 matches onnxruntime, and convlens's export reads back as the identical layers."""

from __future__ import annotations

import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn

import convlens as cl
from convlens.io.onnx.importer import OnnxImportError


def onnxruntime_run(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def torch_net(opset):
    """Before opset 11 PyTorch writes nearest upsampling by a factor only."""
    torch.manual_seed(0)
    middle = (nn.Upsample(scale_factor=(2, 3)) if opset < 11 else
              nn.Upsample(size=(11, 13), mode="bilinear", align_corners=False))
    last = nn.Upsample(scale_factor=3) if opset < 11 else nn.UpsamplingBilinear2d(scale_factor=3)
    return nn.Sequential(nn.Conv2d(2, 3, 1), nn.Upsample(scale_factor=2), nn.ReLU(), middle,
                         nn.Conv2d(3, 2, 3), last).eval()


@pytest.mark.parametrize("opset", [9, 10, 11, 13, 17])
def test_torch_upsampling_matches_onnxruntime(opset, tmp_path):
    net = torch_net(opset)
    x = np.random.default_rng(opset).standard_normal((2, 2, 5, 4)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.from_numpy(x),), str(tmp_path / "u.onnx"), opset_version=opset,
                          dynamo=False, input_names=["x"], dynamic_axes={"x": {0: "N"}})
    model = cl.from_onnx(tmp_path / "u.onnx")
    assert sum(isinstance(layer, cl.Upsample) for layer in model.modules()) == 3
    reference = onnxruntime_run(tmp_path / "u.onnx", x)
    np.testing.assert_allclose(model(x), reference, rtol=1e-5, atol=1e-5 * np.abs(reference).max())
    with torch.no_grad():
        np.testing.assert_allclose(model(x), net(torch.from_numpy(x)).numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("opset", [13, 17])
def test_export_then_import_gives_the_identical_layers(opset, tmp_path):
    model = cl.Sequential(cl.Upsample(scale_factor=(2, 3)), cl.Conv2d(2, 2, 1),
                          cl.Upsample(size=(9, 7), mode="bilinear"),
                          cl.Upsample(scale_factor=1.5, mode="bilinear", align_corners=True)).eval()
    path = cl.export_onnx(model, tmp_path / "m.onnx", input_shape=(2, 4, 3), opset=opset)
    back = cl.from_onnx(path)
    ups = [n.layer for n in back.nodes if isinstance(n.layer, cl.Upsample)]
    assert [u.get_config() for u in ups] == [m.get_config() for m in model if isinstance(m, cl.Upsample)]
    x = np.random.default_rng(0).standard_normal((3, 2, 4, 3)).astype(np.float32)
    np.testing.assert_array_equal(back(x), model(x))
    np.testing.assert_allclose(back(x), onnxruntime_run(path, x), rtol=1e-5, atol=1e-5)


def test_unsupported_resizing_names_the_node(tmp_path):
    node = onnx.helper.make_node("Resize", ["x", "", "scales"], ["y"], name="up", mode="cubic")
    graph = onnx.helper.make_graph(
        [node], "g", [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 1, 4, 4])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["N", 1, 8, 8])],
        [onnx.numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")])
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 13)]), tmp_path / "c.onnx")
    with pytest.raises(OnnxImportError, match=r"Resize node 'up': mode 'cubic' on a rank-4 tensor is not "
                                              r"supported; expected 'nearest' or 'linear'"):
        cl.from_onnx(tmp_path / "c.onnx")
