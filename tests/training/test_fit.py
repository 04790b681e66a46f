"""fit: learning, history, the NaN/inf guard, label checks, callbacks, modes, progress output."""

import io
import re

import numpy as np
import pytest

import convlens as cl
from convlens.data import DataLoader
from convlens.training import TrainingDiverged, evaluate, fit


def _problem(n=240, seed=0):
    """Three linearly separable classes of 1x2x2 'images'."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 1, 2, 2)).astype(np.float32)
    w = np.array([[2.0, -1.0, 0.0], [0.0, 2.0, -1.0], [-1.0, 0.0, 2.0], [1.0, 1.0, -2.0]])
    y = (x.reshape(n, 4) @ w).argmax(axis=1).astype(np.int64)
    return x, y


def _linear(seed=0):
    cl.manual_seed(seed)
    return cl.Sequential(cl.Flatten(), cl.Linear(4, 3))


def _weights_equal(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_learns_a_separable_problem_and_records_history():
    x, y = _problem()
    model = _linear()
    opt = cl.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    before = evaluate(model, cl.CrossEntropyLoss(), x, y)
    history = fit(
        model,
        cl.CrossEntropyLoss(),
        opt,
        DataLoader(x, y, 16, seed=0),
        epochs=15,
        val_data=(x[:60], y[:60]),
        verbose=False,
    )
    after = evaluate(model, cl.CrossEntropyLoss(), x, y)
    assert after.accuracy > 0.95 > before.accuracy
    assert after.loss < before.loss / 3
    assert history.epochs == 15 and len(history.val_accuracy) == 15
    assert len(history.epoch_time) == 15 and all(t > 0 for t in history.epoch_time)
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.val_name == "val" and history.lr == [0.5] * 15


def test_same_seeds_same_run():
    x, y = _problem()

    def run():
        model = _linear(seed=3)
        opt = cl.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        fit(model, cl.CrossEntropyLoss(), opt, DataLoader(x, y, 16, seed=5), 2, verbose=False)
        return model.state_dict()

    assert _weights_equal(run(), run())


def test_scheduler_steps_once_per_epoch():
    x, y = _problem()
    model = _linear()
    opt = cl.optim.SGD(model.parameters(), lr=0.4)
    sched = cl.optim.StepLR(opt, step_size=1, gamma=0.5)
    history = fit(model, cl.CrossEntropyLoss(), opt, DataLoader(x, y, 32), 3, scheduler=sched, verbose=False)
    assert history.lr == [0.4, 0.2, 0.1] and opt.lr == pytest.approx(0.05)


def test_plateau_scheduler_gets_the_held_out_loss():
    x, y = _problem()
    model = _linear()
    opt = cl.optim.SGD(model.parameters(), lr=0.4)
    sched = cl.optim.ReduceLROnPlateau(opt, patience=0)
    seen = []
    sched_step = sched.step
    sched.step = lambda metric: (seen.append(metric), sched_step(metric))
    history = fit(
        model,
        cl.CrossEntropyLoss(),
        opt,
        DataLoader(x, y, 32),
        2,
        val_data=(x[:50], y[:50]),
        scheduler=sched,
        verbose=False,
    )
    assert seen == history.val_loss


class _Scripted:
    """Cross-entropy that records the weights behind every call and can break on call ``bad``:
    ``what="loss"`` reports a NaN loss, ``what="grad"`` returns an infinite gradient."""

    def __init__(self, model, bad, what):
        self.inner, self.model, self.bad, self.what = cl.CrossEntropyLoss(), model, bad, what
        self.calls, self.weights = 0, []

    def __call__(self, logits, y):
        self.calls += 1
        self.weights.append(self.model.state_dict())
        loss = self.inner(logits, y)
        return float("nan") if (self.calls, self.what) == (self.bad, "loss") else loss

    def backward(self):
        grad = self.inner.backward()
        return grad * np.inf if (self.calls, self.what) == (self.bad, "grad") else grad


def test_nan_loss_stops_and_restores_weights_from_before_the_bad_step():
    x, y = _problem()
    model = _linear()
    opt = cl.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = _Scripted(model, bad=20, what="loss")  # epoch 2 (15 batches per epoch), batch 5
    with pytest.raises(TrainingDiverged) as info:
        fit(model, loss_fn, opt, DataLoader(x, y, 16, seed=0), epochs=3, verbose=False)
    err = info.value
    assert (err.epoch, err.batch) == (2, 5) and np.isnan(err.loss)
    assert err.history.epochs == 1  # the finished epoch is kept
    message = str(err)
    assert "the loss became nan at epoch 2, batch 5 of 15" in message
    assert "lower the learning rate (it is 0.1; try 0.01)" in message
    # call 20 saw the weights after step 19; the last finite loss (call 19) had the weights
    # from before step 19: those are restored, and the optimizer is rolled back with them
    assert _weights_equal(model.state_dict(), loss_fn.weights[18])
    assert not _weights_equal(model.state_dict(), loss_fn.weights[19])
    assert opt.step_count == 18


def test_non_finite_gradients_stop_before_the_step():
    x, y = _problem()
    model = _linear()
    opt = cl.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = _Scripted(model, bad=3, what="grad")
    with pytest.raises(
        TrainingDiverged,
        match=r"the gradients became NaN/inf \(loss [\d.]+\) at "
        r"epoch 1, batch 3 of 15",
    ):
        fit(model, loss_fn, opt, DataLoader(x, y, 16, seed=0), 1, verbose=False)
    assert _weights_equal(model.state_dict(), loss_fn.weights[2])
    assert opt.step_count == 2 and all(p.grad is None for p in model.parameters())


def test_huge_learning_rate_diverges_and_leaves_finite_working_weights():
    x, y = _problem()
    model = _linear()
    start = model.state_dict()
    opt = cl.optim.SGD(model.parameters(), lr=1e37, momentum=0.9)
    with pytest.raises(
        TrainingDiverged,
        match=r"training diverged: the loss became nan at epoch "
        r"\d, batch \d+ of 15\. The model keeps the last weights that gave a finite "
        r"loss\. Hint: lower the learning rate \(it is 1e\+37, far above the usual 0\.001 to 0\.1 "
        r"for SGD; try 0\.01\)",
    ) as info:
        fit(model, cl.CrossEntropyLoss(), opt, DataLoader(x, y, 16, seed=0), 5, verbose=False)
    # rolled back to before the step that preceded the bad batch
    bad_batch = (info.value.epoch - 1) * 15 + info.value.batch
    assert bad_batch > 3 and opt.step_count == bad_batch - 2
    assert not _weights_equal(model.state_dict(), start)
    assert all(np.isfinite(p.data).all() for p in model.parameters())


def test_an_update_that_makes_the_weights_non_finite_is_caught_even_on_the_last_step():
    # one batch, one epoch: no later loss would ever show the damage
    x, y = _problem(n=16)
    model = _linear()
    start = model.state_dict()
    opt = cl.optim.SGD(model.parameters(), lr=1e300)
    with pytest.raises(
        TrainingDiverged,
        match=r"training diverged: the weights became NaN/inf in the update \(loss [\d.]+\) at epoch 1, "
        r"batch 1 of 1\. The model keeps the last weights that gave a finite loss",
    ):
        fit(model, cl.CrossEntropyLoss(), opt, DataLoader(x, y, 16, seed=0), 1, verbose=False)
    assert _weights_equal(model.state_dict(), start)
    assert all(np.isfinite(p.data).all() for p in model.parameters())


def test_labels_beyond_the_outputs_are_refused_before_training():
    x, y = _problem()
    y = y.copy()
    y[7] = 3  # the model has 3 outputs: classes 0, 1, 2
    model = _linear()
    start = model.state_dict()
    opt = cl.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(
        ValueError,
        match=r"training labels out of range: the model has 3 outputs, "
        r"so expected labels in \[0, 2\], received 3 .*num_classes=4",
    ):
        fit(model, cl.CrossEntropyLoss(), opt, DataLoader(x, y, 16), 1, verbose=False)
    assert opt.step_count == 0 and _weights_equal(model.state_dict(), start)


def test_validation_labels_are_checked_too():
    x, y = _problem()
    model = _linear()
    opt = cl.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"test labels out of range: .* received 9"):
        fit(
            model,
            cl.CrossEntropyLoss(),
            opt,
            DataLoader(x, y, 16),
            1,
            val_data=(x[:5], np.array([0, 1, 9, 2, 0])),
            val_name="test",
            verbose=False,
        )
    assert opt.step_count == 0


def test_labels_checked_per_batch_for_a_plain_iterable():
    x, y = _problem(n=64)
    y = y.copy()
    y[40] = 5
    batches = [(x[i : i + 16], y[i : i + 16]) for i in range(0, 64, 16)]
    model = _linear()
    opt = cl.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="received 5"):
        fit(model, cl.CrossEntropyLoss(), opt, batches, 1, verbose=False)
    assert opt.step_count == 2  # the two batches before the bad one


def test_callback_can_stop_training():
    x, y = _problem()
    model = _linear()
    opt = cl.optim.SGD(model.parameters(), lr=0.1)
    calls = []

    def stop_after_two(epoch, history):
        calls.append((epoch, history.epochs))
        return epoch == 2

    history = fit(
        model, cl.CrossEntropyLoss(), opt, DataLoader(x, y, 32), 10, callbacks=[stop_after_two], verbose=False
    )
    assert history.epochs == 2 and calls == [(1, 1), (2, 2)]


def test_trains_in_train_mode_and_restores_the_callers_mode():
    x, y = _problem()

    class Spy(cl.Sequential):
        modes: list = []

        def forward(self, inp):
            self.modes.append((self.training, len(inp)))
            return super().forward(inp)

    cl.manual_seed(0)
    model = Spy(cl.Flatten(), cl.Linear(4, 3))
    model.eval()
    opt = cl.optim.SGD(model.parameters(), lr=0.1)
    fit(
        model, cl.CrossEntropyLoss(), opt, DataLoader(x, y, 16), 1, val_data=(x[:100], y[:100]), verbose=False
    )
    assert model.training is False
    training_batches = [m for m, n in Spy.modes if n == 16]
    assert len(training_batches) == 15 and all(training_batches)
    assert Spy.modes[-1] == (False, 100)  # the validation pass ran in eval mode


@pytest.mark.parametrize("epochs", [0, -1, 1.5, True])
def test_epochs_must_be_a_positive_integer(epochs):
    x, y = _problem()
    model = _linear()
    with pytest.raises(ValueError, match="expected epochs to be an integer >= 1"):
        fit(
            model,
            cl.CrossEntropyLoss(),
            cl.optim.SGD(model.parameters()),
            DataLoader(x, y, 8),
            epochs,
            verbose=False,
        )


def test_a_loader_without_batches_is_refused():
    x, y = _problem(n=10)
    model = _linear()
    with pytest.raises(ValueError, match="the training loader yields no batches"):
        fit(
            model,
            cl.CrossEntropyLoss(),
            cl.optim.SGD(model.parameters()),
            DataLoader(x, y, 16, drop_last=True),
            1,
            verbose=False,
        )


def test_one_line_per_epoch_when_not_a_terminal():
    x, y = _problem()
    model = _linear()
    out = io.StringIO()
    fit(
        model,
        cl.CrossEntropyLoss(),
        cl.optim.SGD(model.parameters(), lr=0.1),
        DataLoader(x, y, 16),
        2,
        val_data=(x, y),
        val_name="test",
        file=out,
    )
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and "\r" not in out.getvalue()
    assert lines[0].startswith("epoch 1/2  loss ") and lines[1].startswith("epoch 2/2  loss ")
    assert " acc " in lines[0] and " test_loss " in lines[0] and " test_acc " in lines[0]
    assert re.search(r"  \(\d+\.\d s, [\d,.]+ samples/s\)$", lines[0])  # time and training throughput


def test_live_bar_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    x, y = _problem()
    model = _linear()
    out = Terminal()
    fit(
        model,
        cl.CrossEntropyLoss(),
        cl.optim.SGD(model.parameters(), lr=0.1),
        DataLoader(x, y, 16),
        1,
        val_data=(x, y),
        file=out,
    )
    text = out.getvalue()
    assert "\r" in text and "15/15" in text and "epoch 1/1" in text
    assert "val_acc" in text.rsplit("\r", 1)[-1]  # the bar keeps the epoch summary


def test_quiet():
    x, y = _problem()
    model = _linear()
    out = io.StringIO()
    fit(
        model,
        cl.CrossEntropyLoss(),
        cl.optim.SGD(model.parameters()),
        DataLoader(x, y, 16),
        1,
        verbose=False,
        file=out,
    )
    assert out.getvalue() == ""


def test_a_generator_that_runs_out_is_explained():
    x, y = _problem(n=32)
    model = _linear()
    batches = ((x[i : i + 16], y[i : i + 16]) for i in range(0, 32, 16))
    with pytest.raises(ValueError, match="yielded no batches this epoch \\(a generator runs out"):
        fit(model, cl.CrossEntropyLoss(), cl.optim.SGD(model.parameters()), batches, 2, verbose=False)


def _graph(seed=0):
    """Two branches over the 2x2 input that meet in an Add, then a linear head."""
    cl.manual_seed(seed)
    x = cl.Input((1, 2, 2))
    wide = cl.ReLU()(cl.Conv2d(1, 4, 2, padding=1)(x))          # (4, 3, 3)
    narrow = cl.Conv2d(1, 4, 2, padding=1)(cl.Tanh()(x))
    out = cl.Linear(36, 3)(cl.Flatten()(cl.Add()(wide, narrow)))
    return cl.Graph(x, out)


def test_a_graph_model_trains_and_resumes_exactly(tmp_path):
    x, y = _problem()
    model = _graph()
    history = fit(model, cl.CrossEntropyLoss(), cl.optim.Adam(model.parameters(), lr=0.02),
                  DataLoader(x, y, 32, seed=0), 6, val_data=(x, y), verbose=False)
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert evaluate(model, cl.CrossEntropyLoss(), x, y).accuracy > 0.9
    # interrupted after 3 epochs and resumed: the same weights as 6 epochs in one go
    straight = _graph()
    fit(straight, cl.CrossEntropyLoss(), cl.optim.SGD(straight.parameters(), lr=0.1, momentum=0.9),
        DataLoader(x, y, 32, seed=1), 6, verbose=False)
    resumed = _graph()
    opt = cl.optim.SGD(resumed.parameters(), lr=0.1, momentum=0.9)
    fit(resumed, cl.CrossEntropyLoss(), opt, DataLoader(x, y, 32, seed=1), 3, verbose=False,
        checkpoint=tmp_path / "ck")
    again = _graph(seed=5)                                       # other weights: all restored
    fit(again, cl.CrossEntropyLoss(), cl.optim.SGD(again.parameters(), lr=0.1, momentum=0.9),
        DataLoader(x, y, 32, seed=1), 6, verbose=False, checkpoint=tmp_path / "ck", resume=True)
    assert _weights_equal(again.state_dict(), straight.state_dict())


def test_the_divergence_hint_suggests_a_usual_rate_for_an_absurd_one():
    from convlens.training.trainer import lower_lr_hint

    params = _linear().parameters()
    cases = [
        (cl.optim.SGD(params, lr=1e308), "it is 1e+308, far above the usual 0.001 to 0.1 for SGD; try 0.01"),
        (cl.optim.Adam(params, lr=5.0), "it is 5, far above the usual 0.0001 to 0.01 for Adam; try 0.001"),
        (cl.optim.SGD(params, lr=0.1), "it is 0.1; try 0.01"),  # a usual rate: a tenth of it
        (cl.optim.Adam(params, lr=0.01), "it is 0.01; try 0.001"),
    ]
    for optimizer, expected in cases:
        assert lower_lr_hint(optimizer) == f"lower the learning rate ({expected})"
