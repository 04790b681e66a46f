"""`fit`: train a model in one call (a :class:`~convlens.training.Trainer` underneath).

``convlens train`` and this function run the same :class:`~convlens.training.Trainer`, so
what one does the other does: progress output, callbacks, checkpoints, exact resume.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from convlens.training.callbacks import Callback
from convlens.training.evaluate import EVAL_BATCH_SIZE
from convlens.training.history import History
from convlens.training.tasks import Task
from convlens.training.trainer import Trainer, TrainingDiverged, TrainingInterrupted

__all__ = ["fit", "TrainingDiverged", "TrainingInterrupted"]


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
    callbacks: Sequence[Callback | Any] = (),
    task: str | Task | None = None,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    verbose: bool | None = None,
    file: IO[str] | None = None,
    eval_batch_size: int = EVAL_BATCH_SIZE,
) -> History:
    """Train ``model`` for ``epochs`` passes over ``train_loader``; returns the :class:`History`.

    The arguments are :class:`~convlens.training.Trainer`'s (see there), plus:

    Args:
        epochs: number of passes in all, ``>= 1``.
        resume: continue from the checkpoint at ``checkpoint`` (which must exist), built
            with the same model, optimizer, schedule and callbacks: the run ends with
            exactly the weights an uninterrupted run would have.

    Example::

        history = fit(model, cl.CrossEntropyLoss(), opt, DataLoader(x, y, 64, seed=0), 10,
                      val_data=(x_val, y_val), scheduler=cl.optim.CosineAnnealingLR(opt, 10),
                      callbacks=[EarlyStopping(patience=3)])

    Raises:
        ValueError, TrainingDiverged, TrainingInterrupted, CheckpointSaveError: as
            :meth:`Trainer.fit`; CheckpointError: ``resume`` from a missing or incompatible
            checkpoint.
    """
    trainer = Trainer(
        model,
        loss_fn,
        optimizer,
        train_loader,
        val_data=val_data,
        val_name=val_name,
        scheduler=scheduler,
        callbacks=callbacks,
        task=task,
        checkpoint=checkpoint,
        verbose=verbose,
        file=file,
        eval_batch_size=eval_batch_size,
    )
    if resume:
        if checkpoint is None:
            raise ValueError("resume=True needs checkpoint=PATH: the checkpoint to continue from")
        trainer.load_checkpoint()
    return trainer.fit(epochs)
