"""MSELoss and L1Loss against torch: value and gradient, every reduction."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
import torch
from torch_oracle import LossModule, assert_close, tensor

import convlens as cl

LOSSES = {"mse": (cl.MSELoss, torch.nn.MSELoss), "l1": (cl.L1Loss, torch.nn.L1Loss)}
DTYPES = [np.float64, np.float32]


def make_case(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    prediction = rng.standard_normal(shape).astype(dtype)
    target = rng.standard_normal(shape).astype(dtype)
    target.reshape(-1)[::4] = prediction.reshape(-1)[::4]     # exact ties: L1's kink
    return prediction, target


@pytest.mark.parametrize("name, shape, reduction, dtype", list(itertools.product(
    LOSSES, [(7,), (4, 3), (2, 3, 4, 5)], ["mean", "sum", "none"], DTYPES)))
def test_regression_loss_matches_torch(name, shape, reduction, dtype):
    ours_cls, theirs_cls = LOSSES[name]
    ours, theirs = ours_cls(reduction=reduction), theirs_cls(reduction=reduction)
    prediction, target = make_case(shape, dtype)
    value = ours(prediction, target)
    pt = tensor(prediction, requires_grad=True)
    vt = theirs(pt, tensor(target))
    if reduction == "none":
        assert value.dtype == dtype
        upstream = np.random.default_rng(1).standard_normal(shape).astype(dtype)
        grad = ours.backward(upstream)
        vt.backward(tensor(upstream))
    else:
        assert isinstance(value, float)
        grad = ours.backward(1.5)
        (1.5 * vt).backward()
    assert_close(np.asarray(value), vt, "loss value", dtype)
    assert grad.dtype == dtype
    assert_close(grad, pt.grad, "dL/dprediction", dtype)


def test_l1_gradient_is_zero_where_prediction_equals_target():
    loss = cl.L1Loss(reduction="sum")
    loss(np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 5.0]))
    np.testing.assert_array_equal(loss.backward(), [0.0, 1.0, -1.0])


def test_integer_targets_are_cast_to_the_prediction_dtype():
    loss = cl.MSELoss()
    assert loss(np.array([0.5, 1.5], np.float32), np.array([0, 2])) == pytest.approx(0.25)
    assert loss.backward().dtype == np.float32


@pytest.mark.parametrize("loss", [cl.MSELoss(), cl.L1Loss(reduction="sum"),
                                  cl.MSELoss(reduction="none")], ids=repr)
def test_regression_loss_gradcheck(loss):
    prediction, target = make_case((3, 4), np.float64)
    target = target + 0.1          # no ties: L1 is differentiable everywhere it is checked
    report = cl.gradcheck(LossModule(loss, target), prediction, max_checks=None)
    assert report.ok(1e-7), str(report)


@pytest.mark.parametrize("cls", [cl.MSELoss, cl.L1Loss])
def test_shape_mismatch_names_both_shapes(cls):
    with pytest.raises(ValueError, match=re.escape(
            f"{cls.__name__}: prediction and target must have the same shape, received "
            "prediction (4, 1) and target (4,)")):
        cls()(np.zeros((4, 1)), np.zeros(4))


@pytest.mark.parametrize("cls", [cl.MSELoss, cl.L1Loss])
def test_backward_before_forward(cls):
    with pytest.raises(RuntimeError, match=re.escape(
            f"{cls.__name__}.backward() was called before the loss was computed")):
        cls().backward()


def test_invalid_reduction():
    with pytest.raises(ValueError, match=re.escape(
            "MSELoss: reduction must be one of ('mean', 'sum', 'none'), received 'batchmean'")):
        cl.MSELoss(reduction="batchmean")
    assert repr(cl.L1Loss(reduction="sum")) == "L1Loss(reduction='sum')"
