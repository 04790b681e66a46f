"""Tasks beyond classification: binary (one logit, BCE) and regression (MSE/L1) on real digits."""

import numpy as np
import pytest

import convlens as cl
from convlens.data import DataLoader, load_dataset
from convlens.training import (
    Binary,
    Classification,
    Regression,
    evaluate,
    evaluate_metrics,
    fit,
    get_task,
)


@pytest.fixture(scope="module")
def digits():
    ds = load_dataset("mnist-5k")
    return ds.x_train[:800], ds.y_train[:800], ds.x_test[:300], ds.y_test[:300]


def _net(outputs=1):
    cl.manual_seed(0)
    return cl.Sequential(
        cl.Conv2d(1, 4, 5, stride=2),
        cl.ReLU(),
        cl.MaxPool2d(2),
        cl.Flatten(),
        cl.Linear(4 * 6 * 6, 16),
        cl.ReLU(),
        cl.Linear(16, outputs),
    )


def test_the_loss_implies_the_task():
    assert isinstance(get_task(None, cl.CrossEntropyLoss()), Classification)
    assert isinstance(get_task(None, cl.BCEWithLogitsLoss()), Binary)
    assert get_task(None, cl.BCEWithLogitsLoss()).threshold == 0.0
    assert get_task(None, cl.BCELoss()).threshold == 0.5  # probabilities
    for loss in (cl.MSELoss(), cl.L1Loss(), cl.HuberLoss(), cl.SmoothL1Loss()):
        assert isinstance(get_task(None, loss), Regression)
    assert isinstance(get_task(None, object()), Classification)  # a custom loss
    assert get_task("regress").name == "regression" and get_task("classify").name == "classification"
    with pytest.raises(
        ValueError, match="unknown task 'ranking': expected one of classification, binary, regression"
    ):
        get_task("ranking")


def test_binary_is_it_a_zero_learns_far_below_the_trivial_loss(digits):
    x, y, xt, yt = digits
    is_zero, is_zero_test = (y == 0).astype(np.int64), (yt == 0).astype(np.float32)[:, None]
    p = is_zero_test.mean()
    trivial = -(p * np.log(p) + (1 - p) * np.log(1 - p))  # BCE of always predicting the share p
    model = _net(1)
    opt = cl.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    # (N,) int labels for training, (N, 1) float targets for validation: both are accepted
    history = fit(
        model,
        cl.BCEWithLogitsLoss(),
        opt,
        DataLoader(x, is_zero, 32, seed=0),
        3,
        (xt, is_zero_test),
        verbose=False,
    )
    assert history.task == "binary" and history.val_mae == []
    assert history.val_loss[-1] < trivial / 3, (history.val_loss, trivial)
    assert history.val_accuracy[-1] > max(p, 1 - p) + 0.05  # beats always answering "not 0"
    result = evaluate_metrics(model, cl.BCEWithLogitsLoss(), xt, is_zero_test)
    logits = model.eval()(xt)
    assert result["accuracy"] == pytest.approx(np.mean((logits > 0) == (is_zero_test > 0.5)))


@pytest.mark.parametrize("loss_fn", [cl.MSELoss(), cl.L1Loss()], ids=["mse", "l1"])
def test_regression_of_mean_brightness_learns_far_below_predicting_the_mean(digits, loss_fn):
    x, _, xt, _ = digits
    bright = x.reshape(len(x), -1).mean(axis=1) * 10  # about 1.3 on average
    bright_test = xt.reshape(len(xt), -1).mean(axis=1) * 10
    trivial_mae = np.abs(bright_test - bright.mean()).mean()
    model = _net(1)
    opt = cl.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    sched = cl.optim.CosineAnnealingLR(opt, T_max=6)
    history = fit(
        model,
        loss_fn,
        opt,
        DataLoader(x, bright, 32, seed=0),
        6,
        (xt, bright_test),
        scheduler=sched,
        verbose=False,
    )
    assert history.task == "regression" and history.train_accuracy == [] and history.val_accuracy == []
    assert len(history.val_mae) == len(history.val_rmse) == len(history.train_mae) == 6
    assert history.val_mae[-1] < trivial_mae / 3, (history.val_mae, trivial_mae)
    pred = model.eval()(xt)[:, 0]
    scores = evaluate_metrics(model, loss_fn, xt, bright_test)
    assert scores["mae"] == pytest.approx(np.abs(pred - bright_test).mean(), rel=1e-5)
    assert scores["rmse"] == pytest.approx(np.sqrt(((pred - bright_test) ** 2).mean()), rel=1e-5)
    loss, acc = evaluate(model, loss_fn, xt, bright_test)
    assert acc is None and loss == pytest.approx(scores["loss"])


def test_targets_that_do_not_fit_the_outputs_are_refused_before_training(digits):
    x, y, _, _ = digits
    model = _net(10)
    opt = cl.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(
        ValueError,
        match=r"the binary task needs one output per example \(a single logit\), the model gives 10: "
        r"build it with num_classes=1",
    ):
        fit(model, cl.BCEWithLogitsLoss(), opt, DataLoader(x, (y == 0).astype(float), 32), 1, verbose=False)
    model = _net(1)
    with pytest.raises(
        ValueError,
        match=r"training labels out of range: binary targets are 1 \(positive\) or 0 \(negative\), "
        r"or probabilities in \[0, 1\], received values in \[0, 9\]; for class indices use CrossEntropyLoss",
    ):
        fit(
            model,
            cl.BCEWithLogitsLoss(),
            cl.optim.SGD(model.parameters()),
            DataLoader(x, y, 32),
            1,
            verbose=False,
        )
    two_targets = np.stack([y, y], axis=1).astype(np.float32)
    with pytest.raises(
        ValueError,
        match=r"training labels do not match the model's output size: the model gives \(1,\) outputs per "
        r"example, so the regression task expects targets of shape \(800,\) or \(800, 1\), received "
        r"\(800, 2\); build the model with 2 outputs \(num_classes=2\)",
    ):
        fit(
            model,
            cl.MSELoss(),
            cl.optim.SGD(model.parameters()),
            DataLoader(x, two_targets, 32),
            1,
            verbose=False,
        )
    assert opt.step_count == 0
