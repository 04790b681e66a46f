"""End to end on real digits: a short run of LeNet-5 on mnist-5k learns far beyond chance."""

import numpy as np
import pytest

import convlens as cl
from convlens.data import DataLoader, load_dataset
from convlens.training import evaluate, fit


@pytest.mark.slow
def test_lenet5_learns_mnist_5k_in_two_epochs():
    ds = load_dataset("mnist-5k")
    cl.manual_seed(0)
    model = cl.models.get_model("lenet5")
    loss_fn = cl.CrossEntropyLoss()
    opt = cl.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    sched = cl.optim.CosineAnnealingLR(opt, T_max=2)
    chance_loss = np.log(10)
    assert evaluate(model, loss_fn, ds.x_test, ds.y_test).loss == pytest.approx(chance_loss, abs=0.1)
    history = fit(
        model,
        loss_fn,
        opt,
        DataLoader(ds.x_train, ds.y_train, 32, seed=0),
        2,
        val_data=(ds.x_test, ds.y_test),
        val_name="test",
        scheduler=sched,
        verbose=False,
    )
    loss, acc = evaluate(model, loss_fn, ds.x_test, ds.y_test)
    assert acc > 0.85, f"test accuracy {acc:.2%} after 2 epochs"
    assert loss < 0.5 * chance_loss
    assert history.val_accuracy[-1] == acc and history.train_accuracy[-1] > 0.8
