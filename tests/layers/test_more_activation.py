"""Hardtanh, ReLU6, HardSigmoid, HardSwish, SELU, PReLU, Softplus, Softsign against ``torch.nn`` (value, dL/dx and
the slope gradient of PReLU, at the kinks too) and central differences in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch_oracle import assert_close, tensor

import convlens as cl

DTYPES = [np.float64, np.float32]

PAIRS = {
    "hardtanh": (lambda: cl.Hardtanh(), lambda: nn.Hardtanh()),
    "clip_0_2.5": (lambda: cl.Hardtanh(0.0, 2.5), lambda: nn.Hardtanh(0.0, 2.5)),
    "relu6": (lambda: cl.ReLU6(), lambda: nn.ReLU6()),
    "hardsigmoid": (lambda: cl.HardSigmoid(), lambda: ExactHardsigmoid()),
    "hardswish": (lambda: cl.HardSwish(), lambda: nn.Hardswish()),
    "selu": (lambda: cl.SELU(), lambda: nn.SELU()),
    "prelu_shared": (lambda: cl.PReLU(), lambda: nn.PReLU()),
    "prelu_channels": (lambda: cl.PReLU(3, init=0.1), lambda: nn.PReLU(3, init=0.1)),
    "softplus": (lambda: cl.Softplus(), lambda: nn.Softplus()),
    "softplus_beta": (lambda: cl.Softplus(2.0, 5.0), lambda: nn.Softplus(2.0, 5.0)),
    "softsign": (lambda: cl.Softsign(), lambda: nn.Softsign()),
}


class ExactHardsigmoid(nn.Module):
    """``nn.Hardsigmoid`` with its derivative exact in float64: PyTorch's CPU backward multiplies
    by the float32 constant 1/6 even for doubles (a 3e-8 relative error). Same kinks: the
    derivative is 0 at x = ±3, where autograd takes the constant branch."""

    def forward(self, x):
        return torch.where(x <= -3, 0.0, torch.where(x >= 3, 1.0, x / 6 + 0.5)).to(x.dtype)


def make_input(shape, dtype, seed=1):
    """Normal ×4, with the kinks of every activation here (0, ±1, ±3, 2.5, 6) present exactly."""
    x = 4 * np.random.default_rng(seed).standard_normal(shape)
    kinks = np.array([0.0, 1.0, -1.0, 3.0, -3.0, 2.5, 6.0])
    x.reshape(-1)[1:2 * kinks.size:2] = kinks  # every shape here holds at least 14 values
    return x.astype(dtype)


def check_against_torch(layer, twin, x):
    with torch.no_grad():
        for name, p in twin.named_parameters():
            p.copy_(torch.from_numpy(getattr(layer, name).data))
    twin = twin.to(torch.float64 if x.dtype == np.float64 else torch.float32)
    xt = tensor(x, requires_grad=True)
    yt = twin(xt)
    y = layer(x)
    assert y.dtype == x.dtype
    assert_close(y, yt, "forward", x.dtype)
    dy = np.random.default_rng(0).standard_normal(y.shape).astype(x.dtype)
    layer.zero_grad()
    dx = layer.backward(dy)
    yt.backward(tensor(dy))
    assert dx.dtype == x.dtype
    assert_close(dx, xt.grad, "dL/dx", x.dtype)
    for name, p in twin.named_parameters():
        assert_close(getattr(layer, name).grad, p.grad, f"dL/d{name}", x.dtype)


@pytest.mark.parametrize("name", PAIRS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4, 5)])
def test_matches_torch_values_and_gradients(name, dtype, shape):
    ours, theirs = PAIRS[name]
    check_against_torch(ours().to(dtype), theirs(), make_input(shape, dtype))


def test_hardsigmoid_with_onnx_defaults_matches_its_formula():
    x = np.linspace(-4, 4, 17)
    y = cl.HardSigmoid(alpha=0.2, beta=0.5)(x)
    np.testing.assert_allclose(y, np.clip(0.2 * x + 0.5, 0, 1), rtol=0, atol=1e-15)


@pytest.mark.parametrize("layer", [
    cl.Hardtanh(-0.5, 2.0), cl.HardSigmoid(0.2, 0.4), cl.HardSwish(), cl.SELU(),
    cl.SELU(alpha=1.2, scale=0.7), cl.PReLU(), cl.PReLU(3, init=-0.3), cl.Softplus(), cl.Softsign(),
    cl.Softplus(0.5, 1.0),
], ids=repr)
def test_gradcheck_float64_away_from_kinks(layer):
    x = np.random.default_rng(2).uniform(-5, 5, (2, 3, 4))
    # keep every value at least 0.05 from the kinks the layers here have
    for kink in (-3.0, -2.5, -0.5, 0.0, 2.0, 3.0):
        x = np.where(np.abs(x - kink) < 0.05, kink + 0.1, x)
    report = cl.gradcheck(layer.double(), x, max_checks=None)
    assert report.ok(1e-7), str(report)


def test_prelu_rejects_a_channel_count_that_does_not_match():
    with pytest.raises(ValueError, match=r"PReLU with 4 slopes expects input \(N, 4, …\), received shape \(2, 3, 5\)"):
        cl.PReLU(4)(np.zeros((2, 3, 5), np.float32))


def test_hardtanh_rejects_reversed_bounds():
    with pytest.raises(ValueError, match="min_val must be <= max_val, received min_val=2.0, max_val=1.0"):
        cl.Hardtanh(2.0, 1.0)


@pytest.mark.parametrize("layer", [cl.Hardtanh(0, 2), cl.ReLU6(), cl.HardSigmoid(0.2, 0.5), cl.SELU(),
                                   cl.PReLU(3, init=0.1), cl.Softplus(2.0, 5.0), cl.Softsign()], ids=repr)
def test_config_round_trip(layer):
    from convlens.layers.spec import from_spec, to_spec

    rebuilt = from_spec(to_spec(layer))
    assert type(rebuilt) is type(layer) and rebuilt.get_config() == layer.get_config()


def test_prelu_counts_its_parameters_like_every_module():
    # its slope count was stored as `num_parameters`, hiding Module.num_parameters(): int() not callable
    layer = cl.PReLU(3)
    assert layer.num_parameters() == 3 and layer.num_parameters(trainable_only=True) == 3
    assert layer.get_config() == {"num_parameters": 3}
    assert cl.Sequential(cl.Linear(2, 3), layer).num_parameters() == 2 * 3 + 3 + 3
