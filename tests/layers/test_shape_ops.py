"""Pad, Slice and Gather against torch (values and dL/dx) and central differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch_oracle import assert_close, tensor

import convlens as cl


def check(layer, x, torch_fn):
    xt = tensor(x, requires_grad=True)
    yt = torch_fn(xt)
    y = layer(x)
    assert_close(y, yt, "forward", x.dtype)
    dy = np.random.default_rng(1).standard_normal(y.shape).astype(x.dtype)
    yt.backward(tensor(dy))
    assert_close(layer.backward(dy), xt.grad, "dL/dx", x.dtype)


X = np.random.default_rng(0).standard_normal((2, 3, 5, 6))


@pytest.mark.parametrize("mode, torch_mode", [("constant", "constant"), ("reflect", "reflect"),
                                              ("edge", "replicate"), ("wrap", "circular")])
def test_pad_matches_torch(mode, torch_mode):
    value = 1.5 if mode == "constant" else None
    layer = cl.Pad([(1, 2), (2, 0)], mode, value or 0.0)
    check(layer, X, lambda t: F.pad(t, (2, 0, 1, 2), mode=torch_mode, **({"value": value} if value else {})))


def test_pad_channel_axis_and_batch_pair():
    layer = cl.Pad([(0, 0), (1, 1), (0, 0), (0, 2)], value=-np.inf)
    y = layer(X)
    assert y.shape == (2, 5, 5, 8) and np.isneginf(y[:, 0]).all()
    with pytest.raises(ValueError, match="would pad the batch axis"):
        cl.Pad([(1, 0), (0, 0), (0, 0), (0, 0)])(X)


@pytest.mark.parametrize("index", [
    [slice(0, 2)], [slice(None), slice(1, 5, 2)], [slice(2, None), slice(None), slice(None, None, -2)],
])
def test_slice_matches_torch(index):
    def torch_fn(t):
        out = t
        for axis, s in enumerate(index, start=1):
            positions = list(range(t.shape[axis]))[s]
            out = out.index_select(axis, torch.tensor(positions))
        return out
    check(cl.Slice(index), X, torch_fn)


@pytest.mark.parametrize("indices, axis", [([2, 0, 2], 1), ([[0, 4], [1, 1]], 2), (3, -1)])
def test_gather_matches_torch(indices, axis):
    idx = torch.tensor(indices)
    check(cl.Gather(indices, axis), X,
          lambda t: torch.index_select(t, axis % 4, idx.reshape(-1)).reshape(
              *t.shape[: axis % 4], *idx.shape, *t.shape[axis % 4 + 1:]))


@pytest.mark.parametrize("layer", [cl.Pad([(1, 1), (0, 2)], "reflect"), cl.Slice([slice(0, 2), None, slice(1, 6, 2)]),
                                   cl.Gather([[1, 1], [0, 2]], 1)], ids=repr)
def test_gradcheck_float64(layer):
    assert cl.gradcheck(layer, X, max_checks=None).ok(1e-8)


@pytest.mark.parametrize("layer", [cl.Pad([(1, 1)], "edge"), cl.Slice([slice(0, 2), slice(None, None, -1)]),
                                   cl.Gather([1, 0], 2)], ids=repr)
def test_config_round_trip(layer):
    from convlens.layers.spec import from_spec, to_spec

    rebuilt = from_spec(to_spec(layer))
    np.testing.assert_array_equal(rebuilt(X), layer(X))
