"""ConvTranspose1d/2d/3d against torch.nn.ConvTranspose*d (values and every gradient, across
stride × padding × output_padding × dilation × groups), asymmetric padding against torch's
uncropped output, central differences in float64, and the errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import convlens as cl

CASES = [
    # nd, kwargs
    (1, dict(kernel_size=3)), (1, dict(kernel_size=4, stride=3, padding=1, output_padding=2)),
    (2, dict(kernel_size=3, stride=2, padding=1, output_padding=1)),
    (2, dict(kernel_size=(2, 3), stride=(3, 1), dilation=(1, 2), groups=2)),
    (2, dict(kernel_size=4, stride=2, padding=(1, 2), bias=False)),
    (3, dict(kernel_size=(2, 3, 2), stride=(2, 1, 2), padding=(0, 1, 1), output_padding=(1, 0, 0))),
]
SPATIAL = {1: (7,), 2: (5, 6), 3: (3, 4, 5)}


def twins(nd, kwargs, dtype):
    layer = getattr(cl, f"ConvTranspose{nd}d")(4, 6, **kwargs).to(dtype)
    twin = getattr(torch.nn, f"ConvTranspose{nd}d")(4, 6, **kwargs).to(torch.float64 if dtype == np.float64
                                                                      else torch.float32)
    with torch.no_grad():
        twin.weight.copy_(torch.from_numpy(layer.weight.data))
        if layer.bias is not None:
            twin.bias.copy_(torch.from_numpy(layer.bias.data))
    return layer, twin


@pytest.mark.parametrize("nd, kwargs", CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matches_torch(nd, kwargs, dtype):
    layer, twin = twins(nd, kwargs, dtype)
    x = np.random.default_rng(0).standard_normal((2, 4, *SPATIAL[nd])).astype(dtype)
    xt = torch.tensor(x, requires_grad=True)
    yt = twin(xt)
    y = layer(x)
    tol = 1e-12 if dtype == np.float64 else 2e-5
    assert y.shape == tuple(yt.shape) and y.dtype == dtype
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=tol, atol=tol)
    dy = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    yt.backward(torch.from_numpy(dy))
    np.testing.assert_allclose(layer.backward(dy), xt.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.weight.grad, twin.weight.grad.numpy(), rtol=tol, atol=10 * tol)
    if layer.bias is not None:
        np.testing.assert_allclose(layer.bias.grad, twin.bias.grad.numpy(), rtol=tol, atol=10 * tol)


def test_asymmetric_padding_crops_each_end():
    layer = cl.ConvTranspose2d(3, 2, 3, stride=2, padding=((0, 1), (2, 1))).double()
    full = cl.ConvTranspose2d(3, 2, 3, stride=2).double()
    full.load_state_dict(layer.state_dict())
    x = np.random.default_rng(2).standard_normal((2, 3, 4, 5))
    np.testing.assert_array_equal(layer(x), full(x)[:, :, 0:-1, 2:-1])


@pytest.mark.parametrize("layer", [cl.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1),
                                   cl.ConvTranspose1d(2, 2, 2, stride=3, groups=2)], ids=repr)
def test_central_differences(layer):
    x = np.random.default_rng(3).standard_normal((2, 2, *(4,) * layer.ndim))
    assert cl.gradcheck(layer.double(), x, max_checks=None).ok(1e-7)


def test_config_round_trip_and_errors():
    from convlens.layers.spec import from_spec, to_spec

    layer = cl.ConvTranspose2d(4, 2, 3, stride=2, padding=((0, 1), (1, 1)), output_padding=1, groups=2)
    assert from_spec(to_spec(layer)).get_config() == layer.get_config()
    with pytest.raises(ValueError, match=r"ConvTranspose2d: output_padding must be smaller than stride or "
                                         r"dilation, received output_padding=\(2, 2\), stride=\(2, 2\)"):
        cl.ConvTranspose2d(1, 1, 3, stride=2, output_padding=2)
    with pytest.raises(ValueError, match=r"ConvTranspose2d expects an input \(N, 3, 2 spatial axes\), "
                                         r"received shape \(1, 2, 4, 4\)"):
        cl.ConvTranspose2d(3, 1, 3)(np.zeros((1, 2, 4, 4), np.float32))
