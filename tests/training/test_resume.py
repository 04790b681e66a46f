"""Exact resume: (train N epochs) equals (train, stop anywhere, resume to N), bit for bit.

The run uses everything whose state a resume must restore: SGD momentum buffers, a cosine
schedule, batch norm running statistics, dropout from the global generator and from a layer's
own generator, a shuffling loader and an augmentation with its own generator, and early
stopping's best weights. The resumed trainer is built from *different* seeds, so everything
it continues with must come from the checkpoint.
"""

import os
import signal

import numpy as np
import pytest
from disk_full import full_disk

import convlens as cl
from convlens.data import DataLoader, load_dataset
from convlens.training import (
    Callback,
    CheckpointError,
    CheckpointSaveError,
    EarlyStopping,
    Trainer,
    TrainingInterrupted,
    fit,
)
from convlens.training.checkpoint import find_generators, generator_states

EPOCHS = 3  # 6 batches of 16 per epoch


@pytest.fixture(scope="module")
def data():
    ds = load_dataset("mnist-5k")
    return ds.x_train[:96], ds.y_train[:96], ds.x_test[:32], ds.y_test[:32]


class Noisy:
    """A loader with an augmentation that draws from its own generator (as a transform does)."""

    def __init__(self, loader, seed):
        self.loader, self.rng = loader, np.random.default_rng(seed)

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        for xb, yb in self.loader:
            yield xb + self.rng.normal(0, 0.05, xb.shape).astype(np.float32), yb


class Snapshot(Callback):
    """Records the last weights, optimizer state and random states before early stopping
    puts the best weights back."""

    def on_train_end(self, trainer):
        self.weights = trainer.model.state_dict()
        self.optimizer = trainer.optimizer.state_dict()
        self.generators = generator_states(find_generators(trainer.model, trainer.loader))


class InterruptAt(Callback):
    """Ctrl-C after ``batch`` of ``epoch``: raised directly, or as a real SIGINT."""

    def __init__(self, epoch, batch, real_signal=False):
        self.at, self.real_signal = (epoch, batch), real_signal

    def on_batch_end(self, trainer, batch, logs):
        if (trainer.epoch + 1, batch) == self.at:
            if self.real_signal:
                os.kill(os.getpid(), signal.SIGINT)  # the trainer turns it into "stop after this batch"
            else:
                raise KeyboardInterrupt


def _trainer(
    data, seed, checkpoint=None, extra=(), dropout_seed=True, early=True, optimizer="sgd", hidden=24
):
    x, y, x_val, y_val = data
    cl.manual_seed(seed)
    model = cl.Sequential(
        cl.Conv2d(1, 4, 3, stride=2),
        cl.BatchNorm2d(4),
        cl.ReLU(),
        cl.Dropout2d(0.2, seed=seed + 1 if dropout_seed else None),
        cl.Flatten(),
        cl.Linear(4 * 13 * 13, hidden),
        cl.ReLU(),
        cl.Dropout(0.3),
        cl.Linear(hidden, 10),
    )
    if optimizer == "sgd":
        opt = cl.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    else:
        opt = cl.optim.Adam(model.parameters(), lr=1e-3)
    sched = cl.optim.CosineAnnealingLR(opt, T_max=EPOCHS)
    loader = Noisy(DataLoader(x, y, 16, seed=seed + 2), seed=seed + 3)
    # early stopping that never stops, watching a value known to be best in epoch 1 (the
    # decaying rate): its best weights and patience count must survive the interruption
    early_stopping = EarlyStopping("lr", mode="max", patience=EPOCHS, verbose=False)
    callbacks = [Snapshot(), *([early_stopping] if early else []), *extra]
    return Trainer(
        model,
        cl.CrossEntropyLoss(),
        opt,
        loader,
        val_data=(x_val, y_val),
        scheduler=sched,
        callbacks=callbacks,
        checkpoint=checkpoint,
        verbose=False,
    )


def _same_tree(a, b):
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b) and a.dtype == b.dtype
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_tree(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same_tree(u, v) for u, v in zip(a, b))
    return a == b


@pytest.fixture(scope="module")
def uninterrupted(data):
    trainer = _trainer(data, seed=0)
    trainer.fit(EPOCHS)
    return trainer


def _assert_same_run(resumed, reference):
    snap, ref = resumed.callbacks[1], reference.callbacks[1]
    assert _same_tree(snap.weights, ref.weights), "last weights differ"
    assert _same_tree(snap.optimizer, ref.optimizer), "optimizer state differs"
    assert snap.generators == ref.generators, "random generator states differ"
    assert _same_tree(resumed.model.state_dict(), reference.model.state_dict()), "best weights differ"
    early = resumed.callbacks[2]
    assert early.best_epoch == 1 and early.wait == EPOCHS - 1
    assert _same_tree(early.state_dict(), reference.callbacks[2].state_dict())
    ours, theirs = resumed.history.to_dict(), reference.history.to_dict()
    for key in ("epoch_time", "samples_per_second"):
        ours.pop(key), theirs.pop(key)
    assert ours == theirs
    assert resumed.epoch == EPOCHS and resumed.status == "completed"


@pytest.mark.parametrize(
    "epoch, batch",
    [(1, 1), (2, 4), (2, 6), (3, 5)],
    ids=["first-batch", "mid-epoch", "end-of-batches", "last-epoch"],
)
def test_resume_after_ctrl_c_equals_the_uninterrupted_run(data, uninterrupted, tmp_path, epoch, batch):
    first = _trainer(data, seed=0, checkpoint=tmp_path / "ckpt", extra=[InterruptAt(epoch, batch)])
    with pytest.raises(TrainingInterrupted) as info:
        first.fit(EPOCHS)
    err = info.value
    assert (err.epoch, err.batch) == (epoch, batch) and err.checkpoint == tmp_path / "ckpt.npz"
    assert str(err) == (
        f"training interrupted in epoch {epoch} after batch {batch} of 6; checkpoint saved to "
        f"{tmp_path / 'ckpt.npz'}: resuming continues from there"
    )
    assert first.status == "interrupted" and err.history.epochs == epoch - 1
    assert not _same_tree(first.callbacks[1].weights, uninterrupted.callbacks[1].weights)  # stopped early

    resumed = _trainer(
        data, seed=123, checkpoint=tmp_path / "ckpt"
    )  # other seeds: all must come from the file
    resumed.load_checkpoint()
    assert resumed.describe_position() == f"epoch {epoch}, after batch {batch} of 6"
    resumed.fit(EPOCHS)
    _assert_same_run(resumed, uninterrupted)


def test_a_real_sigint_stops_after_the_batch_and_twice_interrupted_runs_still_match(
    data, uninterrupted, tmp_path
):
    # Python's own handler, whatever the test runner installed (a worker process may ignore SIGINT)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        first = _trainer(
            data, seed=0, checkpoint=tmp_path / "ckpt", extra=[InterruptAt(1, 3, real_signal=True)]
        )
        with pytest.raises(TrainingInterrupted) as info:
            first.fit(EPOCHS)
        assert info.value.batch == 3 and info.value.checkpoint == tmp_path / "ckpt.npz"
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the trainer's handler is gone
    finally:
        signal.signal(signal.SIGINT, previous)
    second = _trainer(data, seed=5, checkpoint=tmp_path / "ckpt", extra=[InterruptAt(2, 5)])
    second.load_checkpoint()
    with pytest.raises(TrainingInterrupted):
        second.fit(EPOCHS)
    third = _trainer(data, seed=9, checkpoint=tmp_path / "ckpt")
    third.load_checkpoint()
    third.fit(EPOCHS)
    _assert_same_run(third, uninterrupted)


def test_an_interrupt_inside_a_step_keeps_the_last_consistent_checkpoint(data, uninterrupted, tmp_path):
    class BreakDuringBackward(cl.CrossEntropyLoss):
        calls = 0

        def backward(self, grad=None):
            type(self).calls += 1
            if type(self).calls == 9:  # epoch 2, batch 3: gradients half computed
                raise KeyboardInterrupt
            return super().backward(grad)

    first = _trainer(data, seed=0, checkpoint=tmp_path / "ckpt")
    first.loss_fn = BreakDuringBackward()
    with pytest.raises(TrainingInterrupted) as info:
        first.fit(EPOCHS)
    assert info.value.checkpoint is None
    assert str(info.value) == (
        "training interrupted in epoch 2 after batch 2 of 6, in the middle of a step: that state is "
        f"not saved; resuming continues from the last checkpoint, {tmp_path / 'ckpt'}.npz"
    )
    resumed = _trainer(data, seed=1, checkpoint=tmp_path / "ckpt")
    resumed.load_checkpoint()
    assert resumed.describe_position() == "the end of epoch 1"
    resumed.fit(EPOCHS)
    _assert_same_run(resumed, uninterrupted)


def test_a_full_disk_while_checkpointing_stops_clearly_and_the_previous_checkpoint_resumes(
    data, uninterrupted, tmp_path, monkeypatch
):
    class FillDiskAfterEpoch1(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            if epoch == 2:
                full_disk(monkeypatch, ".npz")

    first = _trainer(data, seed=0, checkpoint=tmp_path / "ckpt", extra=[FillDiskAfterEpoch1()])
    with pytest.raises(
        CheckpointSaveError,
        match=r"could not write the checkpoint ckpt.npz in .*: No space "
        r"left on device. The previous checkpoint there \(if any\) is intact",
    ):
        first.fit(EPOCHS)
    assert first.status == "failed" and first.epoch == 2
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.npz"]
    resumed = _trainer(data, seed=2, checkpoint=tmp_path / "ckpt")
    resumed.load_checkpoint()
    assert resumed.describe_position() == "the end of epoch 1"
    resumed.fit(EPOCHS)
    _assert_same_run(resumed, uninterrupted)


def test_fit_resume_true_continues_from_the_checkpoint(data, tmp_path):
    x, y, x_val, y_val = data

    def run(resume, stop_at=None):
        cl.manual_seed(0)
        model = cl.Sequential(cl.Flatten(), cl.Linear(784, 10))
        opt = cl.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        extra = [InterruptAt(*stop_at)] if stop_at else []
        fit(
            model,
            cl.CrossEntropyLoss(),
            opt,
            DataLoader(x, y, 16, seed=0),
            2,
            (x_val, y_val),
            callbacks=extra,
            checkpoint=tmp_path / "ckpt" if stop_at or resume else None,
            resume=resume,
            verbose=False,
        )
        return model.state_dict()

    reference = run(resume=False)
    with pytest.raises(TrainingInterrupted):
        run(resume=False, stop_at=(2, 2))
    assert _same_tree(run(resume=True), reference)
    with pytest.raises(ValueError, match=r"resume=True needs checkpoint=PATH"):
        fit(cl.Sequential(cl.Flatten(), cl.Linear(784, 10)), cl.CrossEntropyLoss(), None, [], 1, resume=True)


def test_ctrl_c_without_a_checkpoint_path_says_nothing_was_saved(data):
    trainer = _trainer(data, seed=0, extra=[InterruptAt(2, 1)])
    trainer.model.eval()
    with pytest.raises(
        TrainingInterrupted,
        match=r"^training interrupted in epoch 2 after batch 1 of 6; no "
        r"checkpoint was asked for, so nothing is saved$",
    ) as info:
        trainer.fit(EPOCHS)
    assert info.value.checkpoint is None and info.value.history.epochs == 1
    assert trainer.model.training is False  # the caller's mode is back


def test_incompatible_checkpoints_are_refused_and_change_nothing(data, tmp_path):
    saved = _trainer(data, seed=0, checkpoint=tmp_path / "ckpt")
    saved.fit(1)

    other = _trainer(data, seed=0)
    other.model = cl.Sequential(cl.Flatten(), cl.Linear(784, 10))
    before = other.model.state_dict()
    with pytest.raises(
        CheckpointError,
        match=r"the checkpoint holds a different model \(Sequential\) than this "
        r"Sequential: the checkpoint has \['0.bias', '0.weight', '1.num_batches_tracked', .*'8.weight'\] "
        r"that the model lacks; shapes differ: 1.weight \(4,\) in the checkpoint, \(10, 784\) in the "
        r"model; 1.bias \(4,\) in the checkpoint, \(10,\) in the model",
    ):
        other.load_checkpoint(tmp_path / "ckpt")
    assert _same_tree(other.model.state_dict(), before) and other.epoch == 0

    wider = _trainer(data, seed=0, hidden=32)
    with pytest.raises(
        CheckpointError,
        match=r"than this Sequential: shapes differ: 5.weight \(24, 676\) in the "
        r"checkpoint, \(32, 676\) in the model; 5.bias \(24,\) in the checkpoint, \(32,\) in the model; "
        r"8.weight \(10, 24\) in the checkpoint, \(10, 32\) in the model$",
    ):
        wider.load_checkpoint(tmp_path / "ckpt")

    with pytest.raises(
        CheckpointError, match=r"the checkpoint holds SGD state, this run's optimizer is Adam"
    ):
        _trainer(data, seed=0, optimizer="adam").load_checkpoint(tmp_path / "ckpt")
    with pytest.raises(
        CheckpointError,
        match=r"the checkpoint was saved with the callbacks \['LearningRateSchedule', "
        r"'EarlyStopping'\] \(schedule, early stopping…\), this trainer has \['LearningRateSchedule'\]",
    ):
        _trainer(data, seed=0, early=False).load_checkpoint(tmp_path / "ckpt")
    with pytest.raises(
        CheckpointError,
        match=r"the checkpoint holds the random generators \['global', "
        r"'loader.loader._rng', 'loader.rng', 'model.3._rng'\], this run has \['global', "
        r"'loader.loader._rng', 'loader.rng'\] \(a layer or loader built with or without its own seed\?\)",
    ):
        _trainer(data, seed=0, dropout_seed=False).load_checkpoint(tmp_path / "ckpt")
    smaller = _trainer(data, seed=0)
    smaller.loader.loader = DataLoader(data[0][:48], data[1][:48], 16)
    with pytest.raises(
        CheckpointError,
        match=r"the checkpoint was saved with 6 batches per epoch, this training loader has 3",
    ):
        smaller.load_checkpoint(tmp_path / "ckpt")
    tagged = _trainer(data, seed=0)
    tagged.metadata = {"model": "vgg_small"}
    saved.metadata = {"model": "lenet5"}
    saved.save_checkpoint(tmp_path / "tagged")
    with pytest.raises(
        CheckpointError,
        match=r"the checkpoint comes from another run: model is 'lenet5' in the "
        r"checkpoint, 'vgg_small' here",
    ):
        tagged.load_checkpoint(tmp_path / "tagged")


def test_epochs_is_the_total_and_cannot_go_back(data):
    trainer = _trainer(data, seed=0, early=False)
    trainer.fit(2)
    trainer.fit(2)  # nothing left to do
    assert trainer.epoch == 2 and trainer.history.epochs == 2
    with pytest.raises(
        ValueError,
        match=r"expected epochs >= 2: this trainer has finished 2 epochs already "
        r"\(epochs is the total, not the number of further epochs\)",
    ):
        trainer.fit(1)


def test_a_run_stopped_early_stays_stopped_when_resumed(data, tmp_path):
    first = _trainer(
        data,
        seed=0,
        checkpoint=tmp_path / "ckpt",
        early=False,
        extra=[EarlyStopping("lr", mode="max", patience=1, verbose=False)],
    )
    first.fit(EPOCHS)
    assert (first.status, first.epoch) == ("stopped", 2)
    again = _trainer(
        data,
        seed=0,
        checkpoint=tmp_path / "ckpt",
        early=False,
        extra=[EarlyStopping("lr", mode="max", patience=1, verbose=False)],
    )
    again.load_checkpoint()
    again.fit(EPOCHS)
    assert (again.status, again.epoch, again.history.epochs) == ("stopped", 2, 2)
