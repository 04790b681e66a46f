"""`Trainer`: the training loop shared by :func:`convlens.training.fit` and ``convlens train``.

One epoch, batch by batch::

    outputs = model(xb)                         # forward, (B, K)
    loss = loss_fn(outputs, yb)                 # mean over the batch
    model.backward(loss_fn.backward(), need_input_grad=False)   # fills every .grad
    optimizer.step(); optimizer.zero_grad()     # update, then clear for the next batch

followed by an evaluation on the held-out data, if any, and the callbacks (learning-rate
schedule, early stopping, logs). Guards make failures readable: targets that do not fit the
model's outputs are refused before the first step, and a loss that turns NaN or infinite
stops the run and puts back the last weights that gave a finite loss.

Checkpoints and exact resume
----------------------------
With ``checkpoint=PATH`` the trainer writes ``PATH.npz`` (one file, atomically) when
training starts, after every epoch and when it is interrupted. A checkpoint holds everything
the rest of the run depends on: weights and buffers, the optimizer's state (momentum, Adam
moments, step counts), every callback's state (the schedule, early stopping's best weights),
the state of every random generator (convlens's global one, layers' own, the loader's
shuffling generator and its transforms'), the epoch counter and the history. A run resumed
from it ends with exactly the weights of an uninterrupted run.

Ctrl-C: the first Ctrl-C asks training to stop after the current batch; the trainer then
saves a checkpoint *in the middle of the epoch* (with the position in the epoch and the
random states from the epoch's start) and raises :class:`TrainingInterrupted`. Resuming
replays the loader up to that batch and continues from there. A second Ctrl-C stops at once:
a step may then be half done, so nothing new is saved and resuming continues from the last
checkpoint written (the end of the previous epoch at worst).
"""

from __future__ import annotations

import contextlib
import inspect
import math
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence, Sized
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from convlens.training.callbacks import Callback, LearningRateSchedule, as_callback
from convlens.training.checkpoint import (
    CheckpointError,
    checkpoint_file,
    find_generators,
    generator_states,
    read_checkpoint,
    set_generator_states,
    write_checkpoint,
)
from convlens.training.evaluate import EVAL_BATCH_SIZE, evaluate_metrics
from convlens.training.history import History
from convlens.training.labels import example_output_shape
from convlens.training.progress import EpochProgress, resolve_verbose
from convlens.training.tasks import Task, get_task


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


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped on Ctrl-C (a ``KeyboardInterrupt``).

    Attributes:
        history: the epochs finished so far.
        checkpoint: the ``.npz`` of the checkpoint written at the interruption, or ``None``
            when none was written (no ``checkpoint=`` given, or a second Ctrl-C that stopped
            in the middle of a step).
        epoch, batch: where training stood: ``batch`` batches into epoch ``epoch`` (``batch``
            0: at the start of that epoch).
    """

    def __init__(self, message: str, history: History, checkpoint: Path | None, epoch: int, batch: int):
        super().__init__(message)
        self.message = message
        self.history = history
        self.checkpoint = checkpoint
        self.epoch = epoch
        self.batch = batch

    def __str__(self) -> str:
        return self.message


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


def _parameters_finite(model: Any) -> bool:
    return all(bool(np.isfinite(p.data).all()) for p in model.parameters() if p.requires_grad)


def _gradients_finite(model: Any) -> bool:
    return all(p.grad is None or bool(np.isfinite(p.grad).all()) for p in model.parameters())


class _NonFinite(Exception):
    """Raised inside an epoch; turned into a `TrainingDiverged` with the context."""

    def __init__(self, what: str, batch: int, loss: float) -> None:
        super().__init__(what)
        self.what, self.batch, self.loss = what, batch, loss


class _StopRequested(Exception):
    """Ctrl-C was pressed once; raised at the next point where the state is consistent."""


@dataclass
class _Position:
    """How far the current epoch has got: enough to continue it from a checkpoint."""

    epoch: int
    lr: float | None
    rng_at_start: dict[str, Any]
    batches_done: int = 0
    seen: int = 0
    loss_sum: float = 0.0
    sums: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0  # time spent on this epoch's batches so far


def lower_lr_hint(optimizer: Any) -> str:
    """The hint after a divergence: a tenth of the rate when it is of the usual size for the
    optimizer (within 10× its default, e.g. 0.1 for SGD), else the optimizer's default rate and
    usual range (``--lr 1e308`` gets "try 0.01", not "try 1e+307")."""
    lr = getattr(optimizer, "lr", None)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)):
        return "lower the learning rate"
    default = inspect.signature(type(optimizer).__init__).parameters.get("lr")
    usual = default.default if default is not None else None
    if isinstance(usual, float) and usual > 0 and lr > 10 * usual:
        return (f"lower the learning rate (it is {lr:g}, far above the usual {usual / 10:g} to "
                f"{usual * 10:g} for {type(optimizer).__name__}; try {usual:g})")
    return f"lower the learning rate (it is {lr:g}; try {lr / 10:g})"


class Trainer:
    """Train a model; keep its epoch counter, history and everything needed to resume.

    >>> trainer = Trainer(model, cl.CrossEntropyLoss(), opt, loader, val_data=(x_val, y_val),
    ...                   scheduler=sched, callbacks=[EarlyStopping(patience=3)],
    ...                   checkpoint="runs/a/checkpoint")                  # doctest: +SKIP
    >>> history = trainer.fit(epochs=10)                                     # doctest: +SKIP

    and later, or in a new process after Ctrl-C, with the same objects built anew::

    >>> trainer.load_checkpoint(); trainer.fit(epochs=10)                    # doctest: +SKIP

    Args:
        model: a convlens model: ``model(x)`` gives the outputs, ``model.backward`` fills the
            gradients, ``train()``/``eval()`` switch modes.
        loss_fn: e.g. ``cl.CrossEntropyLoss()``: ``loss_fn(outputs, y)`` returns the batch
            mean as a float and ``loss_fn.backward()`` its gradient w.r.t. the outputs.
        optimizer: e.g. ``cl.optim.SGD(model.parameters(), lr=0.05)``.
        train_loader: yields ``(xb, yb)`` batches, e.g. a :class:`convlens.data.DataLoader`
            (anything iterable again each epoch; ``len()`` gives the bar its length).
        val_data: ``(x, y)`` evaluated (in eval mode) after every epoch.
        val_name: how the held-out data is labelled in output and history (``"test"`` when
            it is the test set).
        scheduler: a learning-rate schedule from ``convlens.optim``, stepped once after each
            epoch (``ReduceLROnPlateau`` with the held-out loss, or the training loss).
        callbacks: :class:`~convlens.training.callbacks.Callback` objects, or functions
            ``f(epoch, history)`` called after every epoch; ``True`` stops training.
        task: ``"classification"``, ``"binary"`` or ``"regression"``; by default implied by the loss
            (:func:`~convlens.training.tasks.get_task`).
        checkpoint: ``PATH`` to write ``PATH.npz`` (see the module doc).
        metadata: JSON-ready facts saved in checkpoints and compared on loading (e.g. the
            model's name): a checkpoint whose metadata differs is refused.
        verbose: progress output (``None``: shown; tqdm's widget in a Jupyter notebook).
        file: where progress goes, ``sys.stdout`` by default.
        eval_batch_size: batch size of the held-out evaluation.
        catch_sigint: turn the first Ctrl-C into "stop after this batch" (main thread only).

    Attributes:
        epoch: finished epochs. history: their :class:`History`. status: ``"new"``,
        ``"running"``, ``"completed"``, ``"stopped"`` (by a callback), ``"interrupted"``,
        ``"diverged"`` or ``"failed"``. train_time: seconds spent in :meth:`fit`, over all
        sessions of a resumed run.
    """

    def __init__(
        self,
        model: Any,
        loss_fn: Any,
        optimizer: Any,
        train_loader: Iterable[tuple[np.ndarray, np.ndarray]],
        *,
        val_data: tuple[np.ndarray, np.ndarray] | None = None,
        val_name: str = "val",
        scheduler: Any = None,
        callbacks: Sequence[Callback | Any] = (),
        task: str | Task | None = None,
        checkpoint: str | Path | None = None,
        metadata: dict[str, Any] | None = None,
        verbose: bool | None = None,
        file: IO[str] | None = None,
        eval_batch_size: int = EVAL_BATCH_SIZE,
        catch_sigint: bool = True,
    ) -> None:
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.loader = train_loader
        self.val_data, self.val_name = val_data, val_name
        self.task = get_task(task, loss_fn)
        self.scheduler = scheduler
        schedule = [LearningRateSchedule(scheduler)] if scheduler is not None else []
        self.callbacks: list[Callback] = schedule + [as_callback(c) for c in callbacks]
        self.checkpoint = None if checkpoint is None else checkpoint_file(checkpoint).with_suffix("")
        self.metadata = dict(metadata or {})
        self.verbose = resolve_verbose(verbose)
        self.out = sys.stdout if file is None else file
        self.eval_batch_size = eval_batch_size
        self.catch_sigint = catch_sigint

        self.epoch = 0
        self.history = History(val_name=val_name, task=self.task.name)
        self.status = "new"
        self.train_time = 0.0
        self.stop_training = False  # set by a callback returning True
        self._position: _Position | None = None
        self._replay = False  # the position came from a checkpoint: replay the loader to it
        self._at_boundary = True  # no step is half done: the state may be saved
        self._stop_requested = False
        self._session_start: float | None = None
        self._last_good: _LastGood | None = None

    # -- small helpers ---------------------------------------------------------------------

    @property
    def num_batches(self) -> int | None:
        return len(self.loader) if isinstance(self.loader, Sized) else None

    @property
    def in_epoch(self) -> bool:
        """Whether training stands inside an epoch (batches of it done, not finished)."""
        return self._position is not None and self._position.batches_done > 0

    def log(self, message: str) -> None:
        """Print a line with the progress output (unless quiet)."""
        if self.verbose:
            print(message, file=self.out, flush=True)

    def elapsed(self) -> float:
        """Seconds of training so far, over all sessions."""
        now = 0.0 if self._session_start is None else time.perf_counter() - self._session_start
        return self.train_time + now

    def check(self) -> None:
        """Check the data against the model before any time is spent on training.

        Raises:
            ValueError: a loader with no batches, or targets that do not fit the model's
                output (labels beyond its outputs, wrong target shapes), for the loader's
                ``.x``/``.y`` and ``val_data``.
        """
        if self.num_batches == 0:
            raise ValueError(
                "the training loader yields no batches: expected at least batch_size examples "
                "(or drop_last=False)"
            )
        x_all, y_all = getattr(self.loader, "x", None), getattr(self.loader, "y", None)
        if x_all is None or y_all is None:
            return
        shape = example_output_shape(self.model, x_all)
        self.task.check_targets(y_all, shape, "training labels")
        if self.val_data is not None:
            self.task.check_targets(self.val_data[1], shape, f"{self.val_name} labels")

    # -- training --------------------------------------------------------------------------

    def fit(self, epochs: int) -> History:
        """Train until ``epochs`` epochs in all are finished (fewer if a callback stops it).

        A trainer restored from a checkpoint continues where the checkpoint was written; one
        that a callback stopped (early stopping) stays stopped.

        Returns:
            the :class:`History`. The model ends in the train/eval mode it had.

        Raises:
            ValueError: data that does not fit the model (see :meth:`check`), ``epochs``
                smaller than the epochs already done.
            TrainingDiverged: the loss or the gradients became NaN/inf. The model is back at
                the last weights that gave a finite loss, and an optimizer with
                ``state_dict``/``load_state_dict`` is rolled back with it.
            TrainingInterrupted: Ctrl-C (see the module doc), after the checkpoint is saved.
            CheckpointSaveError: a checkpoint could not be written (e.g. a full disk); the
                previous checkpoint is intact.
        """
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise ValueError(f"expected epochs to be an integer >= 1, received {epochs!r}")
        if epochs < self.epoch:
            raise ValueError(
                f"expected epochs >= {self.epoch}: this trainer has finished {self.epoch} epochs "
                "already (epochs is the total, not the number of further epochs)"
            )
        self.check()
        was_training = self.model.training
        # a run a callback stopped stays stopped, also when resumed from its checkpoint
        self.status, self._stop_requested = "running", False
        self._session_start = time.perf_counter()
        self._last_good = _LastGood(self.model, self.optimizer)
        with self._sigint_as_request():
            try:
                for callback in self.callbacks:
                    callback.on_train_begin(self)
                if self.checkpoint is not None and self.epoch == 0 and self._position is None:
                    self.save_checkpoint()  # so that a resume is possible from the very start
                while self.epoch < epochs and not self.stop_training:
                    self._run_epoch(epochs)
                    if self._stop_requested and self.epoch < epochs and not self.stop_training:
                        raise _StopRequested
                self.status = "stopped" if self.epoch < epochs else "completed"
            except (KeyboardInterrupt, _StopRequested) as err:
                self.status = "interrupted"
                raise self._interrupted(err) from None
            except TrainingDiverged:
                self.status = "diverged"
                raise
            except BaseException:
                self.status = "failed"
                raise
            finally:
                self.train_time = self.elapsed()
                self._session_start = None
                self.model.train(was_training)
                for callback in self.callbacks:
                    callback.on_train_end(self)
        return self.history

    @contextlib.contextmanager
    def _sigint_as_request(self) -> Iterator[None]:
        """First Ctrl-C: stop at the next batch boundary. Second: ``KeyboardInterrupt`` now."""
        usable = (
            self.catch_sigint
            and threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        )
        if not usable:
            yield
            return

        def request_stop(signum: int, frame: Any) -> None:
            if self._stop_requested:
                raise KeyboardInterrupt
            self._stop_requested = True
            print(
                "\nCtrl-C: stopping after this batch and saving a checkpoint "
                "(press Ctrl-C again to stop at once)",
                file=sys.stderr,
                flush=True,
            )

        previous = signal.signal(signal.SIGINT, request_stop)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def _interrupted(self, err: BaseException) -> TrainingInterrupted:
        consistent = isinstance(err, _StopRequested) or self._at_boundary
        pos = self._position
        epoch, batch = (pos.epoch, pos.batches_done) if pos is not None else (self.epoch + 1, 0)
        of = f" of {self.num_batches}" if self.num_batches else ""
        where = f"in epoch {epoch} after batch {batch}{of}" if batch else f"at the start of epoch {epoch}"
        saved = None
        if self.checkpoint is None:
            message = f"training interrupted {where}; no checkpoint was asked for, so nothing is saved"
        elif consistent:
            saved = self.save_checkpoint()
            message = (
                f"training interrupted {where}; checkpoint saved to {saved}: resuming continues from there"
            )
        else:
            message = (
                f"training interrupted {where}, in the middle of a step: that state is not saved; "
                f"resuming continues from the last checkpoint, {self.checkpoint}.npz"
            )
        return TrainingInterrupted(message, self.history, saved, epoch, batch)

    def _batches(self, pos: _Position) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """An iterator over the epoch's batches, positioned after ``pos.batches_done``."""
        if not self._replay:
            return iter(self.loader)
        # Replay the epoch from the random states it began with, so the loader draws the same
        # order (and augmentations), skip the batches already trained on, then put back the
        # states saved at the interruption for everything that follows.
        self._at_boundary = False  # the generators are switched meanwhile: nothing may be saved
        generators = find_generators(self.model, self.loader)
        now = generator_states(generators)
        set_generator_states(generators, pos.rng_at_start)
        batches = iter(self.loader)
        for done in range(pos.batches_done):
            if next(batches, None) is None:
                raise CheckpointError(
                    f"the checkpoint stands {pos.batches_done} batches into epoch {pos.epoch}, "
                    f"but the training loader yields only {done} batches per epoch"
                )
        set_generator_states(generators, now)
        self._replay, self._at_boundary = False, True
        return batches

    def _run_epoch(self, epochs: int) -> None:
        if self._position is None:
            generators = find_generators(self.model, self.loader)
            self._position = _Position(
                epoch=self.epoch + 1,
                lr=getattr(self.optimizer, "lr", None),
                rng_at_start=generator_states(generators),
            )
        pos = self._position
        self._at_boundary = True
        self.model.train()  # before the callbacks: one may keep some layers in eval mode
        for callback in self.callbacks:
            callback.on_epoch_begin(self, pos.epoch)
        progress = EpochProgress(
            pos.epoch, epochs, self.num_batches, self.out, self.verbose, pos.batches_done
        )
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                # overflow warnings would only repeat what the guard reports, more obscurely
                self._train_batches(pos, progress)
        except _NonFinite as err:
            progress.abort()
            raise self._diverged(err, pos.epoch) from None
        except BaseException:
            progress.abort()
            raise
        train = {"loss": pos.loss_sum / pos.seen, **self.task.metrics(pos.sums, pos.seen)}
        summary = self.task.format(train["loss"], train)
        for callback in self.callbacks:
            callback.on_validation_begin(self, pos.epoch)
        val = None
        eval_start = time.perf_counter()
        if self.val_data is not None:
            try:
                val = evaluate_metrics(
                    self.model, self.loss_fn, *self.val_data, self.task, self.eval_batch_size
                )
            except BaseException:
                progress.abort()
                raise
            summary += "  " + self.task.format(val["loss"], val, prefix=f"{self.val_name}_")
        epoch_time = pos.seconds + time.perf_counter() - eval_start
        rate = pos.seen / max(pos.seconds, 1e-9)

        self._at_boundary = False  # from here the state changes in several places
        self.history.record(train, val, epoch_time, pos.lr, rate)
        self.epoch, self._position = pos.epoch, None
        progress.close(summary, epoch_time, rate)
        logs = self.history.last()
        stops = [callback.on_epoch_end(self, self.epoch, logs) is True for callback in self.callbacks]
        self.stop_training = any(stops)
        if self.checkpoint is not None:
            self.save_checkpoint()
        self._at_boundary = True

    def _train_batches(self, pos: _Position, progress: EpochProgress) -> None:
        """The epoch's remaining batches; updates ``pos`` after every step."""
        model, loss_fn, optimizer, task = self.model, self.loss_fn, self.optimizer, self.task
        last_good = self._last_good or _LastGood(model, optimizer)
        batches = self._batches(pos)
        seconds_before, start = pos.seconds, time.perf_counter()
        while True:
            self._at_boundary = False
            batch = next(batches, None)
            if batch is None:
                break
            xb, yb = batch
            number = pos.batches_done + 1
            outputs = model(xb)
            task.check_targets(yb, outputs.shape[1:], "training labels")
            targets = task.targets(yb, outputs)
            loss = float(loss_fn(outputs, targets))
            if not math.isfinite(loss):
                last_good.restore()
                raise _NonFinite(f"the loss became {loss}", number, loss)
            last_good.save()
            model.backward(loss_fn.backward(), need_input_grad=False)
            if not _gradients_finite(model):  # no step taken: the weights are still good
                optimizer.zero_grad()
                raise _NonFinite(f"the gradients became NaN/inf (loss {loss:.4g})", number, loss)
            optimizer.step()
            optimizer.zero_grad()
            if not _parameters_finite(model):  # e.g. a huge rate: caught before anything uses them
                last_good.restore()
                raise _NonFinite(f"the weights became NaN/inf in the update (loss {loss:.4g})", number, loss)

            for key, value in task.batch_sums(outputs, targets).items():
                pos.sums[key] = pos.sums.get(key, 0) + value
            pos.seen += len(yb)
            pos.loss_sum += loss * len(yb)
            pos.seconds = seconds_before + time.perf_counter() - start
            pos.batches_done = number
            self._at_boundary = True

            progress.update(task.format(pos.loss_sum / pos.seen, task.metrics(pos.sums, pos.seen)), len(yb))
            for callback in self.callbacks:
                callback.on_batch_end(self, number, {"loss": loss, "size": len(yb)})
            if self._stop_requested:
                raise _StopRequested
        self._at_boundary = True  # evaluation changes nothing a checkpoint holds
        if pos.seen == 0:
            raise ValueError(
                "the training loader yielded no batches this epoch (a generator runs out after one "
                "pass: give a DataLoader or a list of batches)"
            )

    def _diverged(self, err: _NonFinite, epoch: int) -> TrainingDiverged:
        of = f" of {self.num_batches}" if self.num_batches else ""
        hint = lower_lr_hint(self.optimizer)
        message = (
            f"training diverged: {err.what} at epoch {epoch}, batch {err.batch}{of}. "
            f"The model keeps the last weights that gave a finite loss. Hint: {hint}, "
            "or check the inputs for NaN/inf and their scale (images in [0, 1])."
        )
        return TrainingDiverged(message, epoch, err.batch, err.loss, self.history)

    # -- state -----------------------------------------------------------------------------

    def _stateful_callbacks(self) -> list[tuple[Callback, dict[str, Any]]]:
        return [(cb, state) for cb in self.callbacks if (state := cb.state_dict()) is not None]

    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs, as nested dicts with arrays (see the module doc).

        Only meaningful between steps (the trainer saves at those points itself).
        """
        has_optimizer_state = hasattr(self.optimizer, "state_dict")
        return {
            "epoch": self.epoch,
            "position": None if self._position is None else asdict(self._position),
            "stopped": self.stop_training,
            "train_time": self.elapsed(),
            "task": self.task.name,
            "metadata": self.metadata,
            "num_samples": getattr(self.loader, "num_samples", None),
            "num_batches": self.num_batches,
            "model": {"class": type(self.model).__name__, "state": self.model.state_dict()},
            "optimizer": self.optimizer.state_dict() if has_optimizer_state else None,
            "callbacks": [
                {"type": type(cb).__name__, "state": state} for cb, state in self._stateful_callbacks()
            ],
            "generators": generator_states(find_generators(self.model, self.loader)),
            "history": self.history.to_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`; everything is checked before anything changes.

        Raises:
            CheckpointError: the state comes from another model (names the keys and shapes
                that differ), optimizer, task, callbacks, data size or metadata.
        """
        try:
            self._check_compatible(state)
            history = History.from_dict(state["history"])
            position = state["position"]
            position = None if position is None else _Position(**position)
            epoch, stopped = int(state["epoch"]), bool(state["stopped"])
            train_time = float(state["train_time"])
            callbacks = self._stateful_callbacks()
            self.model.load_state_dict(state["model"]["state"])
            if state["optimizer"] is not None:
                self.optimizer.load_state_dict(state["optimizer"])
            for (callback, _), saved in zip(callbacks, state["callbacks"]):
                callback.load_state_dict(saved["state"])
            set_generator_states(find_generators(self.model, self.loader), state["generators"])
        except CheckpointError:
            raise
        except (KeyError, TypeError, AttributeError, IndexError, ValueError, OverflowError) as err:
            raise CheckpointError(
                f"the checkpoint's content is not what convlens writes ({type(err).__name__}: {err}); "
                "it was edited or damaged"
            ) from None
        self.history, self.epoch, self.stop_training, self.train_time = history, epoch, stopped, train_time
        self._position = position
        self._replay = self._position is not None

    def _check_compatible(self, state: dict[str, Any]) -> None:
        problems = []
        for key, value in self.metadata.items():
            saved = state.get("metadata", {}).get(key)
            if key in state.get("metadata", {}) and saved != value:
                problems.append(f"{key} is {saved!r} in the checkpoint, {value!r} here")
        if problems:
            raise CheckpointError("the checkpoint comes from another run: " + "; ".join(problems))
        if state["task"] != self.task.name:
            raise CheckpointError(
                f"the checkpoint is from a {state['task']!r} task, this trainer's is {self.task.name!r}"
            )

        own = {k: v.shape for k, v in self.model.state_dict().items()}
        saved_model = {k: np.shape(v) for k, v in state["model"]["state"].items()}
        missing, unexpected = sorted(set(own) - set(saved_model)), sorted(set(saved_model) - set(own))
        shapes = [
            f"{k} {saved_model[k]} in the checkpoint, {own[k]} in the model"
            for k in own
            if k in saved_model and tuple(saved_model[k]) != tuple(own[k])
        ]
        not_numbers = [
            f"{k} ({np.asarray(v).dtype})"
            for k, v in state["model"]["state"].items()
            if not np.issubdtype(np.asarray(v).dtype, np.number)
        ]
        if not_numbers:
            raise CheckpointError(
                "the checkpoint's weights must be numeric arrays; these are not: "
                + ", ".join(not_numbers[:5])
            )
        if missing or unexpected or shapes:
            parts = []
            if missing:
                parts.append(f"the model has {missing} that the checkpoint lacks")
            if unexpected:
                parts.append(f"the checkpoint has {unexpected} that the model lacks")
            if shapes:
                parts.append("shapes differ: " + "; ".join(shapes[:5]) + (" …" if len(shapes) > 5 else ""))
            raise CheckpointError(
                f"the checkpoint holds a different model ({state['model']['class']}) than this "
                f"{type(self.model).__name__}: " + "; ".join(parts)
            )

        saved_opt = state["optimizer"]
        if saved_opt is not None and hasattr(self.optimizer, "state_dict"):
            mine = type(self.optimizer).__name__
            if saved_opt.get("type") != mine:
                raise CheckpointError(
                    f"the checkpoint holds {saved_opt.get('type')} state, this run's optimizer is {mine}"
                )
            params = getattr(self.optimizer, "params", None)
            if params is not None and len(saved_opt["state"]) != len(params):
                raise CheckpointError(
                    f"the checkpoint's optimizer updates {len(saved_opt['state'])} parameters, "
                    f"this one {len(params)}"
                )

        mine_cbs = [type(cb).__name__ for cb, _ in self._stateful_callbacks()]
        saved_cbs = [entry["type"] for entry in state["callbacks"]]
        if mine_cbs != saved_cbs:
            raise CheckpointError(
                f"the checkpoint was saved with the callbacks {saved_cbs} (schedule, early stopping…), "
                f"this trainer has {mine_cbs}: give the same ones to resume exactly"
            )
        for key in ("num_samples", "num_batches"):
            mine_n = getattr(self.loader, "num_samples", None) if key == "num_samples" else self.num_batches
            if state.get(key) is not None and mine_n is not None and state[key] != mine_n:
                what = "training examples" if key == "num_samples" else "batches per epoch"
                raise CheckpointError(
                    f"the checkpoint was saved with {state[key]} {what}, this training loader has {mine_n}"
                )
        names = set(find_generators(self.model, self.loader)) | {"global"}
        if names != set(state["generators"]):
            raise CheckpointError(
                f"the checkpoint holds the random generators {sorted(state['generators'])}, this "
                f"run has {sorted(names)} (a layer or loader built with or without its own seed?)"
            )

    def save_checkpoint(self, path: str | Path | None = None) -> Path:
        """Write the state to ``PATH.npz`` (default: the ``checkpoint`` path); returns that file."""
        target = self._checkpoint_path(path)
        return write_checkpoint(target, self.state_dict())

    def load_checkpoint(self, path: str | Path | None = None) -> None:
        """Restore the state from ``PATH.npz`` (default: ``checkpoint``).

        Raises:
            CheckpointError: files missing or unreadable, or from an incompatible setup.
        """
        self.load_state_dict(read_checkpoint(self._checkpoint_path(path)))

    def _checkpoint_path(self, path: str | Path | None) -> Path:
        if path is not None:
            return Path(path)
        if self.checkpoint is None:
            raise ValueError("no checkpoint path: pass one, or build the Trainer with checkpoint=PATH")
        return self.checkpoint

    def describe_position(self) -> str:
        """Where training stands, e.g. ``"epoch 3, after batch 40 of 125"``."""
        pos = self._position
        if pos is None:
            return f"the end of epoch {self.epoch}" if self.epoch else "the start"
        of = f" of {self.num_batches}" if self.num_batches else ""
        return f"epoch {pos.epoch}, after batch {pos.batches_done}{of}"
