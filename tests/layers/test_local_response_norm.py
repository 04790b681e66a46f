"""LocalResponseNorm against ``torch.nn.LocalResponseNorm`` (values and dL/dx) for odd and even
window sizes, and central differences in float64."""

from __future__ import annotations

import numpy as np
import pytest
from torch import nn
from torch_oracle import assert_close, tensor

import convlens as cl


@pytest.mark.parametrize("size", [1, 2, 3, 5, 6])
@pytest.mark.parametrize("shape", [(2, 7, 4, 5), (3, 4, 6)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matches_torch(size, shape, dtype):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype) * 3
    layer = cl.LocalResponseNorm(size, alpha=0.01, beta=0.75, k=2.0)
    twin = nn.LocalResponseNorm(size, alpha=0.01, beta=0.75, k=2.0)
    xt = tensor(x, requires_grad=True)
    yt = twin(xt)
    y = layer(x)
    assert y.dtype == dtype
    assert_close(y, yt, "forward", dtype)
    dy = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    dx = layer.backward(dy)
    yt.backward(tensor(dy))
    assert_close(dx, xt.grad, "dL/dx", dtype)


@pytest.mark.parametrize("size", [2, 5])
def test_gradcheck_float64(size):
    x = np.random.default_rng(3).standard_normal((2, 6, 3, 3))
    report = cl.gradcheck(cl.LocalResponseNorm(size, alpha=0.5, beta=0.6, k=1.5), x, max_checks=None)
    assert report.ok(1e-7), str(report)


def test_rejects_input_without_a_spatial_axis():
    with pytest.raises(ValueError, match=r"expects input \(N, C, \*S\) with at least one spatial axis, received shape \(4, 3\)"):
        cl.LocalResponseNorm(3)(np.zeros((4, 3), np.float32))
