"""Rescale (a fixed per-channel scale and offset) against torch, central differences, its
ONNX and PyTorch twins, and the errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import convlens as cl


@pytest.mark.parametrize("scale, offset, shape", [
    (1 / 255, 0.0, (2, 3, 4, 5)), ([0.5, 2.0, -1.0], [0.1, 0.0, 3.0], (2, 3, 4)),
    (2.0, [1.0, 2.0, 3.0], (2, 3)), ([1.0, 2.0, 3.0], -0.5, (2, 3, 2, 2, 2))])
def test_rescale_matches_torch(scale, offset, shape):
    x = np.random.default_rng(0).standard_normal(shape)
    layer = cl.Rescale(scale, offset)
    view = (-1,) + (1,) * (len(shape) - 2)
    s, o = (torch.tensor(v, dtype=torch.float64) for v in (scale, offset))
    xt = torch.tensor(x, requires_grad=True)
    yt = xt * (s.reshape(view) if s.dim() else s) + (o.reshape(view) if o.dim() else o)
    y = layer(x)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12)
    dy = np.random.default_rng(1).standard_normal(shape)
    yt.backward(torch.from_numpy(dy))
    np.testing.assert_allclose(layer.backward(dy), xt.grad.numpy(), rtol=1e-12)
    assert cl.gradcheck(layer, x, max_checks=None).max_error < 1e-7
    assert layer(x.astype(np.float32)).dtype == np.float32
    assert not layer.parameters()              # fixed: nothing to learn


def test_twins_in_onnx_and_pytorch(tmp_path):
    import onnxruntime as ort

    model = cl.Sequential(cl.Rescale(1 / 255, -0.5), cl.Conv2d(3, 2, 1), cl.Rescale([2.0, 3.0], [0.0, 1.0])).eval()
    x = np.random.default_rng(0).uniform(0, 255, (2, 3, 4, 4)).astype(np.float32)
    path = cl.export_onnx(model, tmp_path / "r.onnx", input_shape=(3, 4, 4))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {session.get_inputs()[0].name: x})[0], model(x), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(cl.from_onnx(path)(x), model(x), rtol=1e-5, atol=1e-5)
    with torch.no_grad():
        np.testing.assert_allclose(cl.to_torch(model)(torch.from_numpy(x)).numpy(), model(x), rtol=1e-5, atol=1e-5)
    again = cl.Rescale.from_config(model[2].get_config())
    np.testing.assert_array_equal(again(model[1](x)), model[2](model[1](x)))


def test_errors():
    with pytest.raises(ValueError, match=r"Rescale expects an input \(N, 2, …\) with the 2 channels of its "
                                         r"scale and offset, received shape \(1, 3, 4\)"):
        cl.Rescale([1.0, 2.0])(np.zeros((1, 3, 4)))
    with pytest.raises(ValueError, match=r"Rescale: offset must be a finite number or a vector over the "
                                         r"channels, received nan"):
        cl.Rescale(1.0, float("nan"))
