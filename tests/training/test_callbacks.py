"""Callbacks: early stopping keeps the best weights, weight checkpoints, CSV/JSON logs, profiling."""

import csv
import json

import numpy as np
import pytest

import convlens as cl
from convlens.data import DataLoader
from convlens.io import load_arrays
from convlens.training import (
    Callback,
    CSVLogger,
    EarlyStopping,
    JSONLogger,
    ModelCheckpoint,
    ProfileLayers,
    Trainer,
)


def _problem(n=240, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 1, 2, 2)).astype(np.float32)
    w = np.array([[2.0, -1.0, 0.0], [0.0, 2.0, -1.0], [-1.0, 0.0, 2.0], [1.0, 1.0, -2.0]])
    y = (x.reshape(n, 4) @ w).argmax(axis=1).astype(np.int64)
    return x, y


class Scripted(Callback):
    """Overwrites the validation loss with a script, and records the weights of every epoch."""

    def __init__(self, val_losses):
        self.val_losses, self.weights = val_losses, {}

    def on_epoch_end(self, trainer, epoch, logs):
        logs["val_loss"] = self.val_losses[epoch - 1]
        self.weights[epoch] = trainer.model.state_dict()


def _trainer(callbacks, lr=0.3, verbose=False):
    x, y = _problem()
    cl.manual_seed(0)
    model = cl.Sequential(cl.Flatten(), cl.Linear(4, 3))
    opt = cl.optim.SGD(model.parameters(), lr=lr)
    return Trainer(
        model,
        cl.CrossEntropyLoss(),
        opt,
        DataLoader(x, y, 32, seed=0),
        val_data=(x[:60], y[:60]),
        callbacks=callbacks,
        verbose=verbose,
    )


def _equal(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_early_stopping_stops_after_patience_and_restores_the_best_epoch(capsys):
    script = Scripted([1.0, 0.5, 0.6, 0.55, 0.7, 0.4])
    early = EarlyStopping(patience=3)
    trainer = _trainer([script, early], verbose=True)
    history = trainer.fit(6)
    assert history.epochs == 5 and trainer.status == "stopped" and early.stopped_epoch == 5
    assert (early.best, early.best_epoch) == (0.5, 2)
    assert _equal(trainer.model.state_dict(), script.weights[2])
    out = capsys.readouterr().out
    assert (
        "early stopping after epoch 5: val_loss has not improved for 3 epochs (best 0.5000 at epoch 2)" in out
    )
    assert "restored the weights of epoch 2 (val_loss 0.5000)" in out


def test_early_stopping_restores_the_best_weights_even_when_it_never_triggers():
    script = Scripted([1.0, 0.3, 0.6, 0.5])
    trainer = _trainer([script, EarlyStopping(patience=5)])
    trainer.fit(4)
    assert trainer.status == "completed" and trainer.epoch == 4
    assert _equal(trainer.model.state_dict(), script.weights[2])
    assert not _equal(trainer.model.state_dict(), script.weights[4])


def test_early_stopping_min_delta_mode_and_bad_settings():
    script = Scripted([0.5, 0.49, 0.3])
    early = EarlyStopping(patience=1, min_delta=0.05)
    _trainer([script, early]).fit(3)
    assert early.best_epoch == 1 and early.stopped_epoch == 2  # 0.49 is no real improvement
    assert EarlyStopping("val_accuracy").mode == "max" and EarlyStopping("train_loss").mode == "min"
    with pytest.raises(ValueError, match=r"EarlyStopping: expected patience >= 1, received 0"):
        EarlyStopping(patience=0)
    with pytest.raises(
        ValueError, match=r"EarlyStopping monitors 'val_loss' but the run has no held-out data"
    ):
        trainer = _trainer([EarlyStopping()])
        trainer.val_data = None
        trainer.fit(1)
    with pytest.raises(
        ValueError,
        match=r"EarlyStopping monitors 'val_f1', which this run does not record; "
        r"available: \['epoch_time', 'lr', 'samples_per_second', 'train_accuracy', 'train_loss', "
        r"'val_accuracy', 'val_loss'\]",
    ):
        _trainer([EarlyStopping("val_f1")]).fit(1)


def test_model_checkpoint_writes_each_epoch_or_only_the_best(tmp_path):
    script = Scripted([1.0, 0.5, 0.6])
    every = ModelCheckpoint(tmp_path / "w-{epoch}.npz")
    best = ModelCheckpoint(tmp_path / "best.npz", save_best_only=True)
    _trainer([script, every, best]).fit(3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.npz", "w-1.npz", "w-2.npz", "w-3.npz"]
    assert _equal(load_arrays(tmp_path / "w-3.npz"), script.weights[3])
    assert (
        _equal(load_arrays(tmp_path / "best.npz"), script.weights[2])
        and best.saved[-1] == tmp_path / "best.npz"
    )


def test_csv_and_json_logs_hold_one_row_per_epoch(tmp_path):
    trainer = _trainer([CSVLogger(tmp_path / "log.csv"), JSONLogger(tmp_path / "history.json")])
    history = trainer.fit(3)
    with open(tmp_path / "log.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [
        "epoch",
        "train_loss",
        "train_accuracy",
        "val_loss",
        "val_accuracy",
        "epoch_time",
        "lr",
        "samples_per_second",
    ]
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert [float(r["val_loss"]) for r in rows] == history.val_loss  # full precision
    assert json.loads((tmp_path / "history.json").read_text()) == history.to_dict()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.json", "log.csv"]  # no temporary files


def test_profile_times_training_steps_only():
    profile = ProfileLayers()
    trainer = _trainer([profile])
    trainer.fit(2)
    assert profile.steps == 16  # 8 batches per epoch; evaluation passes are not counted
    timing = profile.timings["1"]
    assert timing.kind == "Linear" and timing.forward_calls == timing.backward_calls == 16
    table = profile.table().splitlines()
    assert table[0].startswith("per-layer time of a training step (16 steps, ")
    assert table[1].split() == ["layer", "fwd", "ms", "bwd", "ms", "share"]
    assert table[2].startswith("0 Flatten") and table[3].startswith("1 Linear")
    assert table[-1].startswith("rest (loss, optimizer, data)")
    shares = [float(line.rsplit(maxsplit=1)[-1].rstrip("%")) for line in table[2:]]
    assert sum(shares) == pytest.approx(100, abs=0.5)
    assert "forward" not in vars(trainer.model[1])  # the timers are removed after training


def test_a_plain_function_is_a_callback_and_callbacks_see_every_hook():
    events = []

    class Recorder(Callback):
        def on_train_begin(self, trainer):
            events.append("train_begin")

        def on_epoch_begin(self, trainer, epoch):
            events.append(f"epoch_begin {epoch}")

        def on_batch_end(self, trainer, batch, logs):
            if batch == 1:
                events.append(f"batch_end {batch} {sorted(logs)}")

        def on_validation_begin(self, trainer, epoch):
            events.append(f"validation {epoch}")

        def on_epoch_end(self, trainer, epoch, logs):
            events.append(f"epoch_end {epoch}")

        def on_train_end(self, trainer):
            events.append(f"train_end {trainer.status}")

    trainer = _trainer([Recorder(), lambda epoch, history: epoch == 2])
    trainer.fit(5)
    assert events == [
        "train_begin",
        "epoch_begin 1",
        "batch_end 1 ['loss', 'size']",
        "validation 1",
        "epoch_end 1",
        "epoch_begin 2",
        "batch_end 1 ['loss', 'size']",
        "validation 2",
        "epoch_end 2",
        "train_end stopped",
    ]
    with pytest.raises(
        TypeError, match="expected a Callback or a function f\\(epoch, history\\), received int"
    ):
        _trainer([3])
