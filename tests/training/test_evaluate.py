"""evaluate: exact accuracy, batch-size independence, eval mode, argument checks."""

import numpy as np
import pytest

import convlens as cl
from convlens.training import EvalResult, count_correct, evaluate


class Lookup(cl.Module):
    """Scores class ``round(x[n, 0, 0, 0])`` highest; records its mode on every call."""

    def __init__(self, num_classes=4):
        super().__init__()
        self.num_classes = num_classes
        self.modes = []

    def forward(self, x):
        self.modes.append(self.training)
        logits = np.zeros((len(x), self.num_classes), dtype=np.float32)
        logits[np.arange(len(x)), np.rint(x[:, 0, 0, 0]).astype(int)] = 2.0
        return logits + 0.01 * x.reshape(len(x), -1)[:, :1]  # not all rows identical


def _data():
    pred = np.array([0, 1, 2, 3, 0, 1, 2, 3, 0, 1], dtype=np.float32)
    x = np.broadcast_to(pred[:, None, None, None], (10, 1, 2, 2)).copy()
    y = np.array([0, 1, 2, 3, 1, 1, 0, 3, 0, 2])  # 7 of 10 match
    return x, y


def test_accuracy_is_exact_and_loss_is_the_mean_whatever_the_batch_size():
    x, y = _data()
    model = Lookup()
    full = evaluate(model, cl.CrossEntropyLoss(), x, y, batch_size=100)
    assert isinstance(full, EvalResult) and full.accuracy == pytest.approx(0.7)
    reference = cl.CrossEntropyLoss()(model(x), y)
    assert full.loss == pytest.approx(reference, rel=1e-6)
    for batch_size in (1, 3, 7):
        loss, acc = evaluate(model, cl.CrossEntropyLoss(), x, y, batch_size=batch_size)
        assert acc == pytest.approx(0.7) and loss == pytest.approx(reference, rel=1e-6)


def test_runs_in_eval_mode_and_restores_the_mode():
    x, y = _data()
    model = Lookup()
    model.train()
    model.modes.clear()
    evaluate(model, cl.CrossEntropyLoss(), x, y, batch_size=4)
    assert model.modes == [False, False, False] and model.training is True
    model.eval()
    evaluate(model, cl.CrossEntropyLoss(), x, y)
    assert model.training is False


def test_mode_restored_even_when_forward_fails():
    class Broken(Lookup):
        def forward(self, x):
            raise RuntimeError("boom")

    model = Broken()
    with pytest.raises(RuntimeError, match="boom"):
        evaluate(model, cl.CrossEntropyLoss(), *_data())
    assert model.training is True


def test_argument_checks():
    x, y = _data()
    with pytest.raises(ValueError, match="received 10 inputs and 9 labels"):
        evaluate(Lookup(), cl.CrossEntropyLoss(), x, y[:9])
    with pytest.raises(ValueError, match="expected at least one example to evaluate, received 0"):
        evaluate(Lookup(), cl.CrossEntropyLoss(), x[:0], y[:0])
    with pytest.raises(ValueError, match="expected batch_size >= 1, received 0"):
        evaluate(Lookup(), cl.CrossEntropyLoss(), x, y, batch_size=0)


def test_count_correct():
    logits = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    assert count_correct(logits, np.array([1, 0, 0])) == 2
