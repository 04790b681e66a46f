"""BCEWithLogitsLoss and BCELoss against PyTorch, plus central differences."""

import numpy as np
import pytest
import torch

import convlens as cl
from convlens.losses import BCELoss, BCEWithLogitsLoss


def _check(ours, theirs, prediction, target, dtype, tol):
    prediction = prediction.astype(dtype)
    target = target.astype(dtype)
    value = ours(prediction, target)
    grad_out = None
    if ours.reduction == "none":
        grad_out = np.random.default_rng(3).standard_normal(prediction.shape).astype(dtype)
    grad = ours.backward(grad_out)
    t = torch.tensor(prediction, requires_grad=True)
    t_value = theirs(t, torch.tensor(target))
    t_value.backward(torch.ones_like(t_value) if grad_out is None else torch.tensor(grad_out))
    np.testing.assert_allclose(value, t_value.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(grad, t.grad.numpy(), rtol=tol, atol=tol)
    assert grad.dtype == dtype


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_with_logits_matches_torch(dtype, tol, reduction, weighted):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3)) * 4
    y = rng.random((6, 3))  # soft targets are allowed
    w = rng.random((6, 3)) if weighted else None
    pw = rng.random(3) + 0.5 if weighted else None
    ours = BCEWithLogitsLoss(weight=w, pos_weight=pw, reduction=reduction)
    theirs = torch.nn.BCEWithLogitsLoss(
        weight=None if w is None else torch.tensor(w.astype(dtype)),
        pos_weight=None if pw is None else torch.tensor(pw.astype(dtype)), reduction=reduction)
    _check(ours, theirs, x, y, dtype, tol)


def test_bce_with_logits_is_stable_for_huge_logits():
    loss = BCEWithLogitsLoss()
    value = loss(np.array([1000.0, -1000.0]), np.array([0.0, 1.0]))
    assert value == pytest.approx(1000.0)
    np.testing.assert_allclose(loss.backward(), [0.5, -0.5])


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_matches_torch(dtype, tol, reduction):
    rng = np.random.default_rng(1)
    p = rng.uniform(0.01, 0.99, (5, 2))
    y = (rng.random((5, 2)) > 0.5).astype(float)
    w = rng.random((5, 2))
    _check(BCELoss(weight=w, reduction=reduction),
           torch.nn.BCELoss(weight=torch.tensor(w.astype(dtype)), reduction=reduction), p, y, dtype, tol)


def test_bce_clamps_log_at_minus_100_like_torch():
    p = np.array([0.0, 1.0, 0.5])
    y = np.array([1.0, 0.0, 1.0])
    expected = torch.nn.BCELoss(reduction="sum")(torch.tensor(p), torch.tensor(y)).item()
    assert BCELoss(reduction="sum")(p, y) == pytest.approx(expected)
    assert expected == pytest.approx(200 + np.log(2))


def test_bce_rejects_values_outside_0_1():
    with pytest.raises(ValueError, match=r"BCELoss expects probabilities in \[0, 1\].*received 1.5 at index \(1,\)"):
        BCELoss()(np.array([0.5, 1.5]), np.array([1.0, 0.0]))


def test_binary_classifier_gradient_matches_central_differences():
    model = cl.Sequential(cl.Linear(4, 1)).double()
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((8, 4)), (rng.random((8, 1)) > 0.5).astype(float)
    loss = BCEWithLogitsLoss()
    loss(model(x), y)
    model.backward(loss.backward())
    analytic = model[0].weight.grad.copy()
    eps = 1e-6
    numeric = np.zeros_like(analytic)
    for i in np.ndindex(analytic.shape):
        w = model[0].weight.data
        w[i] += eps
        plus = loss(model(x), y)
        w[i] -= 2 * eps
        minus = loss(model(x), y)
        w[i] += eps
        numeric[i] = (plus - minus) / (2 * eps)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-7, atol=1e-9)


def test_shape_mismatch_is_reported():
    with pytest.raises(ValueError, match=r"BCEWithLogitsLoss: prediction and target must have the same shape, received prediction \(4, 1\) and target \(4,\)"):
        BCEWithLogitsLoss()(np.zeros((4, 1)), np.zeros(4))
