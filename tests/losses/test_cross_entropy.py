"""CrossEntropyLoss and NLLLoss against torch: values and dL/d(scores) for every target form,
class weights, label smoothing, ignore_index, spatial inputs and reduction."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
import torch
from torch_oracle import LossModule, assert_close, tensor

import convlens as cl

N, K, SPATIAL = 6, 5, (3, 2)
WEIGHT = np.array([0.5, 2.0, 1.0, 0.25, 3.0])
DTYPES = [np.float64, np.float32]
REDUCTIONS = ["mean", "sum", "none"]


def make_case(target_kind, spatial, dtype, ignore_index=None, seed=0):
    rng = np.random.default_rng(seed)
    extra = SPATIAL if spatial else ()
    logits = (2 * rng.standard_normal((N, K, *extra))).astype(dtype)
    labels = rng.integers(0, K, (N, *extra))
    if ignore_index is not None:
        labels.reshape(-1)[::3] = ignore_index          # a third of the predictions ignored
    if target_kind == "int":
        return logits, labels
    onehot = np.moveaxis(np.eye(K)[labels], -1, 1)
    if target_kind == "onehot":
        return logits, onehot.astype(dtype)
    soft = rng.random((N, K, *extra)) ** 3
    return logits, (soft / soft.sum(axis=1, keepdims=True)).astype(dtype)


def torch_target(target):
    return torch.from_numpy(target) if np.issubdtype(target.dtype, np.integer) else tensor(target)


def check_loss(ours, theirs, scores, target, seed=0):
    """Value and gradient of a convlens loss equal torch's (with an upstream gradient for
    ``reduction='none'``)."""
    dtype = scores.dtype
    value = ours(scores, target)
    st = tensor(scores, requires_grad=True)
    vt = theirs(st, torch_target(target))
    if ours.reduction == "none":
        assert isinstance(value, np.ndarray) and value.dtype == dtype
        upstream = np.random.default_rng(seed).standard_normal(value.shape).astype(dtype)
        grad = ours.backward(upstream)
        vt.backward(tensor(upstream))
    else:
        assert isinstance(value, float)
        grad = ours.backward()
        vt.backward()
    assert_close(np.asarray(value), vt, "loss value", dtype)
    assert grad.dtype == dtype and grad.shape == scores.shape
    assert_close(grad, st.grad, "dL/dscores", dtype)


CE_GRID = [
    case for case in itertools.product(["int", "onehot", "soft"], [False, True], [0.0, 0.15],
                                       [False, True], [False, True], REDUCTIONS, DTYPES)
    if case[0] == "int" or not case[3]                   # ignore_index needs integer labels
]


@pytest.mark.parametrize("target_kind, weighted, smoothing, ignore, spatial, reduction, dtype",
                         CE_GRID)
def test_cross_entropy_matches_torch(target_kind, weighted, smoothing, ignore, spatial,
                                     reduction, dtype):
    ignore_index = 1 if ignore else -100       # a real class: its examples drop out
    logits, target = make_case(target_kind, spatial, dtype, 1 if ignore else None)
    ours = cl.CrossEntropyLoss(weight=WEIGHT if weighted else None, ignore_index=ignore_index,
                               reduction=reduction, label_smoothing=smoothing)
    theirs = torch.nn.CrossEntropyLoss(
        weight=tensor(WEIGHT.astype(dtype)) if weighted else None, ignore_index=ignore_index,
        reduction=reduction, label_smoothing=smoothing)
    check_loss(ours, theirs, logits, target)


def test_default_ignore_index_is_minus_100():
    logits, labels = make_case("int", False, np.float64, ignore_index=-100)
    check_loss(cl.CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), logits, labels)
    check_loss(cl.CrossEntropyLoss(reduction="none"),
               torch.nn.CrossEntropyLoss(reduction="none"), logits, labels)


@pytest.mark.parametrize("loss_cls", [cl.CrossEntropyLoss, cl.NLLLoss])
def test_upstream_gradient_scales_a_reduced_loss(loss_cls):
    logits, labels = make_case("int", True, np.float64)
    ours = loss_cls()
    ours(logits, labels)
    once = ours.backward()
    np.testing.assert_allclose(ours.backward(2.5), 2.5 * once, rtol=1e-14)


def test_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1000.0, 0.0, -1000.0], [-1e4, 1e4, 0.0]])
    labels = np.array([2, 0])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        check_loss(cl.CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), logits, labels)
        check_loss(cl.CrossEntropyLoss(label_smoothing=0.1),
                   torch.nn.CrossEntropyLoss(label_smoothing=0.1), logits, labels)


def test_one_hot_and_integer_targets_agree():
    logits, labels = make_case("int", True, np.float64)
    _, onehot = make_case("onehot", True, np.float64)
    a, b = cl.CrossEntropyLoss(), cl.CrossEntropyLoss()
    assert a(logits, labels) == pytest.approx(b(logits, onehot), rel=1e-14)
    np.testing.assert_allclose(a.backward(), b.backward(), rtol=1e-14)


NLL_GRID = list(itertools.product([False, True], [False, True], [False, True], REDUCTIONS,
                                  DTYPES))


@pytest.mark.parametrize("weighted, ignore, spatial, reduction, dtype", NLL_GRID)
def test_nll_loss_matches_torch(weighted, ignore, spatial, reduction, dtype):
    logits, labels = make_case("int", spatial, dtype, 3 if ignore else None)
    log_probs = torch.log_softmax(tensor(logits), dim=1).numpy()
    ignore_index = 3 if ignore else -100
    ours = cl.NLLLoss(weight=WEIGHT if weighted else None, ignore_index=ignore_index,
                      reduction=reduction)
    theirs = torch.nn.NLLLoss(weight=tensor(WEIGHT.astype(dtype)) if weighted else None,
                              ignore_index=ignore_index, reduction=reduction)
    check_loss(ours, theirs, log_probs, labels)


def test_log_softmax_then_nll_is_cross_entropy():
    logits, labels = make_case("int", True, np.float64)
    layer, nll, ce = cl.LogSoftmax(dim=1), cl.NLLLoss(weight=WEIGHT), cl.CrossEntropyLoss(
        weight=WEIGHT)
    assert nll(layer(logits), labels) == pytest.approx(ce(logits, labels), rel=1e-13)
    np.testing.assert_allclose(layer.backward(nll.backward()), ce.backward(), rtol=1e-12,
                               atol=1e-15)


# -- central differences (float64) ---------------------------------------------------------
@pytest.mark.parametrize("loss, target_kind, spatial", [
    (cl.CrossEntropyLoss(), "int", False),
    (cl.CrossEntropyLoss(weight=WEIGHT, label_smoothing=0.2, ignore_index=1), "int", True),
    (cl.CrossEntropyLoss(reduction="sum", weight=WEIGHT), "soft", True),
    (cl.CrossEntropyLoss(reduction="none", label_smoothing=0.1), "onehot", False),
    (cl.NLLLoss(weight=WEIGHT), "int", True),
    (cl.NLLLoss(reduction="none", ignore_index=1), "int", False),
], ids=repr)
def test_classification_loss_gradcheck(loss, target_kind, spatial):
    logits, target = make_case(target_kind, spatial, np.float64,
                               1 if loss.ignore_index == 1 else None)
    report = cl.gradcheck(LossModule(loss, target), logits, max_checks=None)
    assert report.ok(1e-7), str(report)


# -- errors ---------------------------------------------------------------------------------
def test_label_out_of_range_is_located_and_explained():
    logits = np.zeros((3, 10))
    with pytest.raises(ValueError, match=re.escape(
            "CrossEntropyLoss: label 10 at position 1 is out of range for 10 classes "
            "(expected 0 <= label < 10); does the model's last layer have one output per "
            "class?")):
        cl.CrossEntropyLoss()(logits, np.array([3, 10, 2]))
    with pytest.raises(ValueError, match=re.escape(
            "NLLLoss: label -1 at position 2 is out of range for 10 classes")):
        cl.NLLLoss()(logits, np.array([3, 1, -1]))


def test_ignored_label_outside_the_range_is_allowed():
    loss = cl.CrossEntropyLoss(ignore_index=255)     # segmentation's "void" label
    value = loss(np.zeros((2, 3)), np.array([255, 1]))
    assert value == pytest.approx(np.log(3))


@pytest.mark.parametrize("target, message", [
    (np.array([1, 2]), "CrossEntropyLoss: integer labels must have shape (3,) for scores "
                       "(3, 4), received (2,)"),
    (np.zeros((3, 5)), "CrossEntropyLoss: targets must be integer labels of shape (3,) or "
                       "class probabilities of shape (3, 4), received (3, 5) (float64)"),
])
def test_target_shape_errors(target, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        cl.CrossEntropyLoss()(np.zeros((3, 4)), target)


def test_other_errors():
    with pytest.raises(ValueError, match=re.escape(
            "CrossEntropyLoss expects scores of shape (N, K) (or (N, K, d1, …)), received (4,)")):
        cl.CrossEntropyLoss()(np.zeros(4), np.array([1]))
    with pytest.raises(ValueError, match=re.escape(
            "CrossEntropyLoss: weight must have one entry per class (4), received (3,)")):
        cl.CrossEntropyLoss(weight=[1, 1, 1])(np.zeros((2, 4)), np.array([0, 1]))
    with pytest.raises(ValueError, match=re.escape(
            "CrossEntropyLoss: label_smoothing must be in [0, 1], received 1.5")):
        cl.CrossEntropyLoss(label_smoothing=1.5)
    with pytest.raises(ValueError, match=re.escape(
            "CrossEntropyLoss: reduction must be one of ('mean', 'sum', 'none'), "
            "received 'avg'")):
        cl.CrossEntropyLoss(reduction="avg")
    with pytest.raises(ValueError, match=re.escape(
            "NLLLoss expects integer labels, received dtype float64")):
        cl.NLLLoss()(np.zeros((2, 3)), np.zeros((2, 3)))


@pytest.mark.parametrize("loss", [cl.CrossEntropyLoss(), cl.NLLLoss()], ids=repr)
def test_backward_before_forward(loss):
    with pytest.raises(RuntimeError, match=re.escape(
            f"{type(loss).__name__}.backward() was called before the loss was computed")):
        loss.backward()


def test_repr_lists_non_default_arguments():
    assert repr(cl.CrossEntropyLoss()) == "CrossEntropyLoss()"
    assert repr(cl.CrossEntropyLoss(weight=[1, 2], ignore_index=0, reduction="sum",
                                    label_smoothing=0.1)) == (
        "CrossEntropyLoss(reduction='sum', weight=[1.0, 2.0], ignore_index=0, "
        "label_smoothing=0.1)")
