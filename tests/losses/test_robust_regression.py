"""HuberLoss and SmoothL1Loss against PyTorch."""

import numpy as np
import pytest
import torch

from convlens.losses import HuberLoss, SmoothL1Loss


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-6)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(
    "ours, theirs",
    [
        (lambda r: HuberLoss(r, delta=0.7), lambda r: torch.nn.HuberLoss(r, delta=0.7)),
        (lambda r: SmoothL1Loss(r, beta=0.7), lambda r: torch.nn.SmoothL1Loss(reduction=r, beta=0.7)),
        (lambda r: SmoothL1Loss(r, beta=0.0), lambda r: torch.nn.SmoothL1Loss(reduction=r, beta=0.0)),
    ],
    ids=["huber", "smooth_l1", "smooth_l1_beta0"],
)
def test_matches_torch(dtype, tol, reduction, ours, theirs):
    rng = np.random.default_rng(0)
    pred = (rng.standard_normal((7, 3)) * 2).astype(dtype)
    target = rng.standard_normal((7, 3)).astype(dtype)
    loss = ours(reduction)
    value = loss(pred, target)
    upstream = rng.standard_normal(pred.shape).astype(dtype) if reduction == "none" else None
    grad = loss.backward(upstream)
    t = torch.tensor(pred, requires_grad=True)
    t_value = theirs(reduction)(t, torch.tensor(target))
    t_value.backward(torch.ones_like(t_value) if upstream is None else torch.tensor(upstream))
    np.testing.assert_allclose(value, t_value.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(grad, t.grad.numpy(), rtol=tol, atol=tol)


def test_invalid_hyperparameters_rejected():
    with pytest.raises(ValueError, match=r"HuberLoss: delta must be > 0, received 0"):
        HuberLoss(delta=0)
    with pytest.raises(ValueError, match=r"SmoothL1Loss: beta must be >= 0, received -1"):
        SmoothL1Loss(beta=-1)
    with pytest.raises(ValueError, match=r"reduction must be one of \('mean', 'sum', 'none'\), received 'avg'"):
        HuberLoss(reduction="avg")
