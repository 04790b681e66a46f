"""`fit`: the training loop shared by the Python API and ``convlens train``.

One epoch, batch by batch::

    logits = model(xb)                          # forward, (B, K)
    loss = loss_fn(logits, yb)                  # mean over the batch
    model.backward(loss_fn.backward(), need_input_grad=False)   # fills every .grad
    optimizer.step(); optimizer.zero_grad()     # update, then clear for the next batch

followed by an evaluation on the held-out data, if any. Two guards make failures readable:
labels that the model has no output for are refused before the first step, and a loss that
turns NaN or infinite stops the run and puts back the last weights that gave a finite loss.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterable, Sequence, Sized
from typing import IO, Any

import numpy as np

from convlens.optim import ReduceLROnPlateau
from convlens.training.evaluate import EVAL_BATCH_SIZE, count_correct, evaluate
from convlens.training.history import History
from convlens.training.labels import check_labels, num_outputs
from convlens.training.progress import EpochProgress, format_metrics

Callback = Callable[[int, History], Any]


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite; the model holds the last weights with a finite loss.

    Attributes:
        epoch: 1-based epoch of the bad batch.
        batch: 1-based batch within that epoch.
        loss: the non-finite loss (``nan``, ``inf``) or, when the loss was finite but the
            gradients were not, that loss.
        history: the epochs that finished before the failure.
    """

    def __init__(self, message: str, epoch: int, batch: int, loss: float, history: History):
        super().__init__(message)
        self.epoch = epoch
        self.batch = batch
        self.loss = loss
        self.history = history


class _LastGood:
    """The weights (and optimizer state) that last produced a finite loss."""

    def __init__(self, model: Any, optimizer: Any) -> None:
        self.model, self.optimizer = model, optimizer
        self.save()

    def save(self) -> None:
        self.model_state = self.model.state_dict()
        has_state = hasattr(self.optimizer, "state_dict")
        self.optimizer_state = self.optimizer.state_dict() if has_state else None

    def restore(self) -> None:
        self.model.load_state_dict(self.model_state)
        if self.optimizer_state is not None:
            self.optimizer.load_state_dict(self.optimizer_state)


def _gradients_finite(model: Any) -> bool:
    return all(p.grad is None or bool(np.isfinite(p.grad).all()) for p in model.parameters())


class _NonFinite(Exception):
    """Raised inside an epoch; ``fit`` turns it into a `TrainingDiverged` with the context."""

    def __init__(self, what: str, batch: int, loss: float) -> None:
        super().__init__(what)
        self.what, self.batch, self.loss = what, batch, loss


def _diverged(
    err: _NonFinite, epoch: int, num_batches: int | None, optimizer: Any, history: History
) -> TrainingDiverged:
    of = f" of {num_batches}" if num_batches else ""
    lr = getattr(optimizer, "lr", None)
    hint = (
        f"lower the learning rate (it is {lr:g}; try {lr / 10:g})"
        if isinstance(lr, (int, float))
        else "lower the learning rate"
    )
    message = (
        f"training diverged: {err.what} at epoch {epoch}, batch {err.batch}{of}. "
        f"The model keeps the last weights that gave a finite loss. Hint: {hint}, "
        "or check the inputs for NaN/inf and their scale (images in [0, 1])."
    )
    return TrainingDiverged(message, epoch, err.batch, err.loss, history)


def _train_epoch(
    model: Any,
    loss_fn: Any,
    optimizer: Any,
    loader: Iterable[tuple[np.ndarray, np.ndarray]],
    last_good: _LastGood,
    progress: EpochProgress,
) -> tuple[float, float]:
    """One pass over ``loader``; returns the epoch's mean loss and accuracy."""
    seen, correct, loss_sum = 0, 0, 0.0
    model.train()
    for batch, (xb, yb) in enumerate(loader, start=1):
        logits = model(xb)
        check_labels(yb, logits.shape[1], "training labels")
        loss = float(loss_fn(logits, yb))
        if not math.isfinite(loss):
            last_good.restore()
            raise _NonFinite(f"the loss became {loss}", batch, loss)
        last_good.save()
        model.backward(loss_fn.backward(), need_input_grad=False)
        if not _gradients_finite(model):  # no step taken: the weights are still good
            optimizer.zero_grad()
            raise _NonFinite(f"the gradients became NaN/inf (loss {loss:.4g})", batch, loss)
        optimizer.step()
        optimizer.zero_grad()

        seen += len(yb)
        correct += count_correct(logits, yb)
        loss_sum += loss * len(yb)
        progress.update(loss_sum / seen, correct / seen)
    if seen == 0:
        raise ValueError(
            "the training loader yielded no batches this epoch (a generator runs out after one "
            "pass: give a DataLoader or a list of batches)"
        )
    return loss_sum / seen, correct / seen


def fit(
    model: Any,
    loss_fn: Any,
    optimizer: Any,
    train_loader: Iterable[tuple[np.ndarray, np.ndarray]],
    epochs: int,
    val_data: tuple[np.ndarray, np.ndarray] | None = None,
    *,
    val_name: str = "val",
    scheduler: Any = None,
    callbacks: Sequence[Callback] = (),
    verbose: bool = True,
    file: IO[str] | None = None,
    eval_batch_size: int = EVAL_BATCH_SIZE,
) -> History:
    """Train ``model`` for ``epochs`` passes over ``train_loader``.

    Args:
        model: a convlens model: ``model(x)`` gives ``(B, K)`` scores, ``model.backward``
            fills the gradients, ``train()``/``eval()`` switch modes.
        loss_fn: e.g. ``cl.CrossEntropyLoss()``: ``loss_fn(logits, y)`` returns the batch
            mean as a float and ``loss_fn.backward()`` its gradient w.r.t. the logits.
        optimizer: e.g. ``cl.optim.SGD(model.parameters(), lr=0.05)``.
        train_loader: yields ``(xb, yb)`` with ``xb`` ``(B, C, H, W)`` and ``yb`` ``(B,)``
            integer labels, e.g. a :class:`convlens.data.DataLoader`.
        epochs: number of passes, ``>= 1``.
        val_data: ``(x, y)`` evaluated (in eval mode) after every epoch.
        val_name: how the held-out data is labelled in output and history (``"test"`` when
            it is the test set).
        scheduler: a learning-rate schedule from ``convlens.optim``, stepped once after each
            epoch (``ReduceLROnPlateau`` with the held-out loss, or the training loss).
        callbacks: each is called as ``callback(epoch, history)`` after every epoch
            (1-based); returning ``True`` stops training after that epoch.
        verbose: show progress (a live bar on a terminal, one line per epoch otherwise).
        file: where progress goes, ``sys.stdout`` by default.
        eval_batch_size: batch size of the held-out evaluation.

    Returns:
        the :class:`History` of the run. The model ends in the train/eval mode it had.

    Raises:
        ValueError: labels outside ``[0, K)`` (checked before training for the loader's
            ``.y`` and ``val_data``, and on every batch), or no batches to train on.
        TrainingDiverged: the loss or the gradients became NaN/inf. The model is back at the
            last weights that gave a finite loss (the state from before the step that broke
            it), and an optimizer with ``state_dict``/``load_state_dict`` (momentum, Adam
            moments) is rolled back with it.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"expected epochs to be an integer >= 1, received {epochs!r}")
    out = sys.stdout if file is None else file
    num_batches = len(train_loader) if isinstance(train_loader, Sized) else None
    if num_batches == 0:
        raise ValueError(
            "the training loader yields no batches: expected at least batch_size examples "
            "(or drop_last=False)"
        )
    x_all = getattr(train_loader, "x", None)
    y_all = getattr(train_loader, "y", None)
    if x_all is not None and y_all is not None:
        n_out = num_outputs(model, x_all)
        check_labels(y_all, n_out, "training labels")
        if val_data is not None:
            check_labels(val_data[1], n_out, f"{val_name} labels")

    history = History(val_name=val_name)
    was_training = model.training
    last_good = _LastGood(model, optimizer)
    try:
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            lr = getattr(optimizer, "lr", None)
            progress = EpochProgress(epoch, epochs, num_batches, out, verbose)
            try:
                # overflow warnings would only repeat what the guard reports, and more obscurely
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    train_loss, train_acc = _train_epoch(
                        model, loss_fn, optimizer, train_loader, last_good, progress
                    )
            except _NonFinite as err:
                progress.abort()
                raise _diverged(err, epoch, num_batches, optimizer, history) from None
            except BaseException:
                progress.abort()
                raise
            summary = format_metrics(train_loss, train_acc)
            val_loss = val_acc = None
            if val_data is not None:
                val_loss, val_acc = evaluate(model, loss_fn, *val_data, batch_size=eval_batch_size)
                summary += "  " + format_metrics(val_loss, val_acc, prefix=f"{val_name}_")
            seconds = time.perf_counter() - start
            history.append(train_loss, train_acc, seconds, val_loss, val_acc, lr)
            progress.close(summary, seconds)
            if scheduler is not None:
                if isinstance(scheduler, ReduceLROnPlateau):
                    scheduler.step(train_loss if val_loss is None else val_loss)
                else:
                    scheduler.step()
            if any([callback(epoch, history) is True for callback in callbacks]):
                break
    finally:
        model.train(was_training)
    return history
