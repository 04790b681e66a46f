"""``convlens train --resume``: put a run's checkpoint back and decide what is left to do:
train on (to the planned or a new number of epochs), write only the final files a finished run
lacks, or nothing."""

from __future__ import annotations

import contextlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from convlens.commands import train_setup as setup
from convlens.io import write_json
from convlens.training import CheckpointError, Trainer
from convlens.training.run import RunFolder, missing_final_outputs


def resume_trainer(
    trainer: Trainer,
    folder: RunFolder,
    settings: dict[str, Any],
    config: dict[str, Any],
    scheduler: Any,
    option_names: list[str],
) -> tuple[float, bool]:
    """Load the checkpoint into ``trainer``. Returns the wall time of the earlier sessions and
    whether to train (False: the run is finished and only its missing outputs are written)."""
    run_dir = folder.path
    try:
        trainer.load_checkpoint()
    except CheckpointError as err:
        raise click.ClickException(f"cannot resume {run_dir}: {err}") from err
    epochs, planned = settings["epochs"], config.get("epochs")
    if trainer.epoch > epochs:
        raise click.BadParameter(
            f"{run_dir} has already trained {trainer.epoch} epochs; --epochs counts all epochs of the "
            f"run, so give at least {trainer.epoch}",
            param_hint="--epochs",
        )
    finished = trainer.epoch >= epochs or trainer.stop_training
    if trainer.stop_training and isinstance(planned, int) and epochs > planned:
        raise click.BadParameter(
            f"{run_dir} was stopped early at epoch {trainer.epoch} by --early-stopping (it kept the "
            f"best epoch's weights); to train further, start a new run from them: "
            f"convlens train --init-from {run_dir} …",
            param_hint="--epochs",
        )
    if finished:
        missing = missing_final_outputs(run_dir, trainer.history)
        if not missing:
            why = "stopped early" if trainer.stop_training else f"finished all {epochs} epochs"
            click.echo(
                f"nothing to resume: {run_dir} {why}; to train longer: "
                f"convlens train --resume {run_dir} --epochs {trainer.epoch + max(1, trainer.epoch)}"
            )
            click.get_current_context().exit(0)
        click.echo(f"finishing {run_dir}: writing {', '.join(missing)} from its checkpoint")
    else:
        if isinstance(planned, int) and epochs != planned:
            _extend(trainer, run_dir, config, epochs, scheduler, option_names)
        click.echo(f"resuming {run_dir} from {trainer.describe_position()}")
    previous = 0.0
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
        previous = float(json.loads((run_dir / "metrics.json").read_text())["wall_time_seconds"])
    return previous, not finished


def _extend(
    trainer: Trainer,
    run_dir: Path,
    config: dict[str, Any],
    epochs: int,
    scheduler: Any,
    option_names: list[str],
) -> None:
    """Plan the run for ``epochs`` epochs in all: config.json records it, and a schedule that
    depends on the length (cosine) is re-planned over the new total from the current epoch on."""
    planned = config["epochs"]
    if scheduler is not None and hasattr(scheduler, "T_max"):
        scheduler.T_max = epochs
        scheduler.optimizer.lr = scheduler.lr_at(scheduler.last_epoch)
    config.setdefault("continued", []).append(
        {
            "from_epochs": planned,
            "to_epochs": epochs,
            "at_epoch": trainer.epoch,
            "when": datetime.now().isoformat(timespec="seconds"),
        }
    )
    config["epochs"] = epochs
    repeat = [k for k in option_names if k in config and not (k == "model" and "model_spec" in config)]
    config["command"] = setup.command_line({k: config[k] for k in repeat})
    try:
        write_json(run_dir / "config.json", config)
    except OSError as err:
        raise click.ClickException(
            f"could not write {run_dir / 'config.json'}: {err.strerror or err}"
        ) from None
    click.echo(
        f"continuing {run_dir} to {epochs} epochs in all (planned: {planned})"
        + (
            f"; the cosine schedule is re-planned over {epochs} epochs from epoch {trainer.epoch + 1} on"
            if scheduler is not None and hasattr(scheduler, "T_max")
            else ""
        )
    )
