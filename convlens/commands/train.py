"""``convlens train``: train a model and keep everything in a run folder.

::

    convlens train                                   # LeNet-5 on mnist-5k, into runs/…
    convlens train --resume RUN [--epochs N]         # continue (to N epochs in all), or finish
    convlens train --init-from RUN --freeze 0,3 --dataset fashion-mnist     # fine-tune

Order of work: every option is checked first (numbers finite and in range, the run folder
creatable and free); then the run folder is claimed (:func:`convlens.training.run.claim`: one
writer per folder); then the data is loaded, the model built, and training runs. A command
that fails before training leaves no file behind. Exit codes: 2 for a usage error, 1 for a
failure, 130 for Ctrl-C (one line, never a traceback). The run folder itself is described in
:mod:`convlens.training.run`; what goes into it in :mod:`convlens.commands.train_setup`.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import click

import convlens as cl
from convlens.commands import train_setup as setup
from convlens.commands.guard import SEED, FiniteFloat, no_traceback
from convlens.commands.train_resume import resume_trainer
from convlens.commands.train_settings import (
    MAX_COUNT,
    MAX_EPOCHS,
    check_dataset,
    check_model,
    model_label,
    option_given,
    resolve_settings,
    resume_settings,
    run_identity,
)
from convlens.commands.train_setup import DEFAULT_LR, DEFAULTS, ENGINES, EXIT_INTERRUPTED, SCHEDULES
from convlens.data import AUGMENTATIONS, available_datasets
from convlens.functional.engine import use_loops
from convlens.io import write_json
from convlens.training import (
    CSVLogger,
    EarlyStopping,
    ProfileLayers,
    Trainer,
    TrainingDiverged,
    TrainingInterrupted,
    get_task,
)
from convlens.training.run import (
    FinalOutputError,
    RunFolder,
    RunFolderBusy,
    RunFolderError,
    RunFolderTaken,
    RunResults,
    claim,
    describe_unstarted,
    write_final_outputs,
)
from convlens.training.transfer import KeepFrozenInEval

RUNS_DIR = Path("runs")


def new_run_folder(parent: Path, stem: str) -> RunFolder:
    """Claim ``parent/stem``, or ``stem-2``, ``stem-3``... if taken: a run folder is never reused."""
    for n in range(1, 1000):
        path = parent / (stem if n == 1 else f"{stem}-{n}")
        if path.exists():
            continue
        try:
            return claim(path)
        except (RunFolderBusy, RunFolderTaken):
            continue  # another process took this name a moment ago
    raise click.ClickException(f"could not find a free run folder name under {parent}")


@click.command()
@click.option(
    "--model",
    default=DEFAULTS["model"],
    show_default=True,
    callback=check_model,
    help="Architecture to train: a zoo model (" + ", ".join(cl.models.available_models()) + ") "
    "or a model definition file (.toml, .json; a graph model is its JSON spec).",
)
@click.option(
    "--dataset",
    default=DEFAULTS["dataset"],
    show_default=True,
    callback=check_dataset,
    help="Dataset to train and test on: " + ", ".join(available_datasets()) + ". Its task "
    "(classification, binary, regression) chooses the loss: cross-entropy, binary "
    "cross-entropy on one logit, or mean squared error.",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to search for dataset files first (e.g. the Fashion-MNIST IDX files).",
)
@click.option(
    "--data-option",
    "data_option",
    multiple=True,
    metavar="KEY=VALUE",
    help="An option of the dataset's loader, repeatable: e.g. for text:FILE --data-option "
    "tokens=chars --data-option length=40 (an unknown key lists the ones the loader takes).",
)
@click.option(
    "--epochs",
    default=DEFAULTS["epochs"],
    show_default=True,
    type=click.IntRange(min=1, max=MAX_EPOCHS),
    help="Passes over the training set.",
)
@click.option(
    "--batch-size",
    default=DEFAULTS["batch_size"],
    show_default=True,
    type=click.IntRange(min=1, max=MAX_COUNT),
    help="Examples per gradient step.",
)
@click.option(
    "--lr",
    default=None,
    type=FiniteFloat(0, min_open=True),
    help="Learning rate. [default: " + ", ".join(f"{v:g} for {k}" for k, v in DEFAULT_LR.items()) + "]",
)
@click.option(
    "--optimizer",
    default=DEFAULTS["optimizer"],
    show_default=True,
    type=click.Choice(sorted(cl.optim.OPTIMIZERS)),
    help="Optimization algorithm.",
)
@click.option(
    "--momentum",
    default=DEFAULTS["momentum"],
    show_default=True,
    type=FiniteFloat(0, 1, max_open=True),
    help="Momentum (--optimizer sgd only).",
)
@click.option(
    "--weight-decay",
    default=None,
    type=FiniteFloat(0),
    help="Weight decay (an L2 penalty; decoupled for adamw). [default: the optimizer's own, "
    "0 except 0.01 for adamw]",
)
@click.option(
    "--schedule",
    default=DEFAULTS["schedule"],
    show_default=True,
    type=click.Choice(SCHEDULES),
    help="Learning-rate schedule: cosine decays it to 0 over the epochs.",
)
@click.option(
    "--seed",
    default=DEFAULTS["seed"],
    show_default=True,
    type=SEED,
    help="Seeds weight initialization, shuffling and the validation split: the same seed repeats the run.",
)
@click.option(
    "--val-fraction",
    default=DEFAULTS["val_fraction"],
    show_default=True,
    type=FiniteFloat(0, 1, max_open=True),
    help="Hold out this share of the training set to follow each epoch "
    "(0: follow the test set; the test set is then evaluated after every epoch, "
    "so do not use those curves to choose settings).",
)
@click.option(
    "--early-stopping",
    "early_stopping",
    type=click.IntRange(min=1, max=MAX_EPOCHS),
    default=None,
    metavar="PATIENCE",
    help="Stop when the validation loss has not improved for PATIENCE epochs, and keep the "
    "weights of the best epoch (needs --val-fraction).",
)
@click.option(
    "--augment",
    default=DEFAULTS["augment"],
    show_default=True,
    metavar="LIST",
    help="Random augmentations of the training batches (never of validation or test data): "
    "'none' or a comma list applied in that order. Images: "
    + ", ".join(AUGMENTATIONS["images"])
    + " (crop: pad 2 px and cut back to size; flip: mirror left-right with p=0.5; shift: up to "
    "2 px; rotate: up to 10 degrees; erase: random rectangle with p=0.5). Signals: "
    + ", ".join(AUGMENTATIONS["signals"])
    + " (shift: up to 4 steps; scale: amplitude x0.8-1.2; noise: Gaussian, std 0.05). "
    "Seeded by --seed, so runs repeat and --resume stays exact.",
)
@click.option(
    "--normalize",
    is_flag=True,
    help="Standardize inputs per channel with the mean and std of the training part (after "
    "any --val-fraction split), applied to training, validation and test inputs; the "
    "statistics are saved in config.json. Augmentations act on the normalized inputs.",
)
@click.option(
    "--limit-train",
    type=click.IntRange(min=1, max=MAX_COUNT),
    default=None,
    help="Use only the first N training examples (quick experiments).",
)
@click.option(
    "--limit-test",
    type=click.IntRange(min=1, max=MAX_COUNT),
    default=None,
    help="Use only the first N test examples (quick experiments).",
)
@click.option(
    "--init-from",
    "init_from",
    type=click.Path(path_type=Path),
    default=None,
    metavar="MODEL_OR_RUN",
    help="Start from the trained weights of a run folder (or a model file) instead of random ones "
    "(fine-tuning). The architecture comes from it; the last Linear layer is replaced by a fresh "
    "classifier head when the data set's classes differ from the model's.",
)
@click.option(
    "--freeze",
    default=None,
    metavar="LAYERS",
    help="With --init-from: layers to keep fixed, as `convlens summary` names them: a comma list of "
    "names, globs or ranges (e.g. 0,3 or 0-5 or 'features.*'). Frozen weights stay bit-identical "
    "and their BatchNorm statistics do not move.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Run folder to write (must not exist or be empty; one process writes it at a time). "
    "Default: a new folder under runs/ named after the time, model and dataset.",
)
@click.option(
    "--resume",
    type=click.Path(path_type=Path),
    default=None,
    metavar="RUN_DIR",
    help="Continue the run in RUN_DIR from its checkpoint, with the settings of its config.json: "
    "an interrupted run ends with the weights an uninterrupted run would have; with --epochs N a "
    "run (finished or not) goes on to N epochs in all; a finished run whose final files are "
    "missing gets them written.",
)
@click.option(
    "--engine",
    default=DEFAULTS["engine"],
    show_default=True,
    type=click.Choice(ENGINES),
    help="Convolution and pooling: fast (im2col, vectorized) or loops (the plain Python loops "
    "of the seeds, same numbers, about 1000x slower: to see what vectorization buys).",
)
@click.option(
    "--profile",
    is_flag=True,
    help="After training, print each layer's forward and backward time per step and its share of the step.",
)
@no_traceback  # the net under everything: an unexpected error is one line, exit status 1
def train(**options: Any) -> None:
    """Train a model and write it to a run folder: model.convlens, metrics, config, log, curves.

    The run folder's model.convlens is the trained model in one file: `convlens predict`,
    `summary`, `visualize`, `serve`, `export` and `train --init-from` open it (or the folder).

    \b
    Examples:
      convlens train                                   # LeNet-5 on mnist-5k
      convlens train --dataset fashion-mnist --epochs 5
      convlens train --model text_cnn --dataset words-lang --optimizer adam --lr 0.002 --epochs 20
      convlens train --lr 0.01 --seed 1 --out runs/low-lr
      convlens train --resume runs/low-lr              # after Ctrl-C
      convlens train --resume runs/low-lr --epochs 20  # train a run longer
      convlens train --init-from runs/low-lr --freeze 0-5 --dataset fashion-mnist   # fine-tune
      convlens train --model my_net.toml               # a network defined in a file
      convlens train --engine loops --limit-train 320 --limit-test 100 --epochs 1 --profile
    """
    session_start = time.perf_counter()
    ctx = click.get_current_context()
    config: dict[str, Any] | None = None
    if options["resume"] is not None:
        settings, config = resume_settings(ctx, options)
        folder = _claim(options["resume"], resume=True)
    else:
        settings = resolve_settings(ctx, options)
        folder = _claim_new(settings.pop("out"), settings)
    with folder:
        if folder.note:
            click.echo(folder.note, err=True)
        try:
            _run(ctx, settings, folder, config, session_start, options)
        except KeyboardInterrupt:  # Ctrl-C outside training (start-up, evaluation, writing)
            _quiet_sigint()
            if folder.has_checkpoint():
                line = f"interrupted (Ctrl-C); continue with: convlens train --resume {folder.path}"
            else:
                line = "interrupted (Ctrl-C) before training started; nothing was kept"
            click.echo(f"\n{line}", err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None


def _quiet_sigint() -> None:
    """Ignore further Ctrl-C while the process winds down (a double Ctrl-C stays one line)."""
    with contextlib.suppress(ValueError):  # not the main thread
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _claim(path: Path, resume: bool) -> RunFolder:
    try:
        return claim(path, resume=resume)
    except RunFolderBusy as err:
        raise click.ClickException(str(err)) from None
    except RunFolderError as err:
        if resume:
            raise click.ClickException(str(err)) from None
        raise click.BadParameter(str(err), param_hint="--out") from None


def _claim_new(out: Path | None, settings: dict[str, Any]) -> RunFolder:
    if out is not None:
        return _claim(out, resume=False)
    model = model_label(settings["model"])
    if settings.get("init_from"):
        model = f"from-{Path(settings['init_from']).name}"
    dataset = settings["dataset"]
    if ":" in dataset:
        prefix, _, rest = dataset.partition(":")
        dataset = f"{prefix}-{Path(rest).name or rest}"
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{datetime.now():%Y%m%d-%H%M%S}-{model}-{dataset}").strip("-")
    try:
        return new_run_folder(RUNS_DIR, stem)
    except RunFolderError as err:
        raise click.ClickException(
            f"{err} (the default run folder is under {RUNS_DIR}/; choose one with --out)"
        ) from None


def _run(
    ctx: click.Context,
    settings: dict[str, Any],
    folder: RunFolder,
    config: dict[str, Any] | None,
    session_start: float,
    options: dict[str, Any],
) -> None:
    resume = config is not None
    out = folder.path
    if resume and not folder.has_checkpoint():
        raise click.ClickException(
            "cannot resume: "
            + (
                describe_unstarted(out)
                or f"{out} has no checkpoint (checkpoint.npz); the run never started training"
            )
        )
    data = setup.load_data(settings)
    model_given = option_given(ctx, "model")
    spec = config.get("model_spec") if config is not None else None
    built = setup.build_model(settings, data.dataset, spec if isinstance(spec, dict) else None, model_given)
    model, optimizer = built.model, built.optimizer
    task = get_task(data.task)
    loss_fn = setup.LOSS_CLASSES[setup.LOSSES[task.name]]()
    probe = Trainer(model, loss_fn, optimizer, data.loader, val_data=data.val_data, task=task, verbose=False)
    try:
        probe.check()  # targets against the model's outputs, before anything is written
    except ValueError as err:
        raise click.ClickException(str(err)) from err
    setup.describe(settings, data, model, optimizer)
    if settings["engine"] == "loops":
        _warn_loops(settings)
    if config is None:
        config = setup.config_content(settings, data, task.name, model)
        _write_config(out, config)

    profiler = ProfileLayers() if options["profile"] else None
    callbacks: list[Any] = []
    if settings["early_stopping"]:
        callbacks.append(EarlyStopping("val_loss", patience=settings["early_stopping"]))
    if built.frozen_batch_norms:
        callbacks.append(KeepFrozenInEval(built.frozen_batch_norms))
    callbacks.append(CSVLogger(out / "log.csv"))
    if profiler is not None:
        callbacks.append(profiler)
    trainer = Trainer(
        model,
        loss_fn,
        optimizer,
        data.loader,
        val_data=data.val_data,
        val_name=data.val_name,
        scheduler=built.scheduler,
        callbacks=callbacks,
        task=task,
        checkpoint=folder.checkpoint,
        metadata=run_identity(settings),
        verbose=True,
    )
    previous_wall_time, train = 0.0, True
    if resume:
        names = [p.name for p in ctx.command.params if p.name not in ("resume", "profile", "out", "engine")]
        previous_wall_time, train = resume_trainer(trainer, folder, settings, config, built.scheduler, names)

    status, error = "completed", None
    if train:
        try:
            with use_loops(settings["engine"] == "loops"):
                trainer.fit(settings["epochs"])  # completed, or stopped early: both "completed"
        except TrainingDiverged as err:
            status, error = "diverged", str(err)
        except TrainingInterrupted as err:
            status, error = "interrupted", str(err)
        except OSError as err:  # a checkpoint or the log could not be written (full disk…)
            status, error = "failed", _write_error(err)
        finally:
            if profiler is not None:
                click.echo(profiler.table())

    if status == "failed":
        if folder.has_checkpoint():
            # the disk may be full: try to say so in metrics.json, but keep the previous checkpoint
            with contextlib.suppress(OSError):
                write_json(
                    out / "metrics.json",
                    setup.metrics_content(
                        status, error, trainer, model, None, session_start, previous_wall_time
                    ),
                )
            raise click.ClickException(
                f"{error}. Free some space, then continue with: convlens train --resume {out}"
            )
        raise click.ClickException(
            f"{error}. Nothing was trained yet: free some space, then start the run again with: "
            f"{config['command']} --out {out}"
        )
    report = None
    if status != "interrupted":
        report = setup.test_report(model, loss_fn, task, data.dataset)
        setup.echo_test(report, task.name, len(data.dataset.y_test), trainer.train_time)
    metrics = setup.metrics_content(status, error, trainer, model, report, session_start, previous_wall_time)
    title = f"{settings['model']} on {data.dataset.name}"
    results = RunResults(model, metrics, trainer.history, config, title, data.dataset)
    try:
        written = write_final_outputs(out, results)
    except FinalOutputError as err:
        if status == "interrupted":
            click.echo(f"Error: {err}", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        raise click.ClickException(str(err)) from None
    kept = [name for name in ("config.json", "checkpoint.npz") if (out / name).is_file()]
    click.echo(f"wrote {out}{os.sep}: {', '.join(written + kept)}")
    if status == "interrupted":
        click.echo(f"{error}\ncontinue with: convlens train --resume {out}", err=True)
        ctx.exit(EXIT_INTERRUPTED)
    if status == "diverged":
        raise click.ClickException(f"{error} The run folder holds those weights.")


def _write_error(err: OSError) -> str:
    """A failed write during training: the checkpoint's own message, or the file and the cause."""
    if getattr(err, "filename", None) is None:
        return str(err)
    return (
        f"could not write {err.filename}: {err.strerror or err}. The previous checkpoint there "
        "(if any) is intact"
    )


def _write_config(out: Path, config: dict[str, Any]) -> None:
    try:
        write_json(out / "config.json", config)
    except OSError as err:
        raise click.ClickException(f"could not write {out / 'config.json'}: {err.strerror or err}") from None


def _warn_loops(settings: dict[str, Any]) -> None:
    hint = ""
    if settings["limit_train"] is None or settings["limit_train"] > 1000:
        hint = " Try --limit-train 320 --limit-test 100 --epochs 1 to see it finish in about a minute."
    click.echo(
        "warning: --engine loops runs convolution and pooling as plain Python loops, about 1000x "
        f"slower than --engine fast (same numbers).{hint} Ctrl-C stops after the current batch "
        "and keeps a checkpoint.",
        err=True,
    )


COMMANDS = [train]
