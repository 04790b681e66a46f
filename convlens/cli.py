"""The ``convlens`` command line.

``convlens train`` trains a model on a dataset with the same :class:`convlens.training.Trainer`
the Python API uses (:func:`convlens.training.fit`), and keeps everything in a run folder::

    runs/20250101-120000-lenet5-mnist-5k/
        config.json      every setting and the command that repeats the run (written first)
        checkpoint.npz   the training state after the last epoch (or at Ctrl-C): weights,
        checkpoint.json  optimizer, schedule, random generators, history; --resume reads it
        log.csv          one row per finished epoch, rewritten after each
        weights.npz      model.state_dict(), load with convlens.io.load_weights
        metrics.json     status, test accuracy and loss, top-k, per-class precision/recall,
                         confusion matrix, training and wall time, per-epoch history
        curves.png       loss and accuracy per epoch

``convlens train --resume RUN_DIR`` continues an interrupted run with the settings of its
``config.json`` and ends with exactly the weights an uninterrupted run would have. Ctrl-C
stops after the current batch, saves a checkpoint and exits with code 130.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import os
import platform
import re
import shlex
import time
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

import click
import numpy as np

import convlens as cl
from convlens.data import (
    AUGMENTATIONS,
    DataLoader,
    Dataset,
    Normalize,
    available_datasets,
    check_can_normalize,
    dataset_info,
    load_dataset,
    make_augment,
    parse_options,
    train_val_split,
)
from convlens.functional.engine import use_loops
from convlens.io import save_weights, write_json
from convlens.layers.spec import to_spec
from convlens.models.definition import is_definition_path
from convlens.training import (
    CheckpointError,
    CheckpointSaveError,
    CSVLogger,
    EarlyStopping,
    History,
    ProfileLayers,
    Trainer,
    TrainingDiverged,
    TrainingInterrupted,
    evaluate_metrics,
    get_task,
    num_outputs,
    predict,
)
from convlens.training.checkpoint import checkpoint_exists

# Defaults of `convlens train`: modern LeNet-5 on mnist-5k. Measured on 2 CPU cores: 97.7 % test
# accuracy (seed 0) in about 4 s; seeds 0-9 give 97.4-98.1 %. Ten epochs of batch 32 with a
# cosine-decayed rate were the most reliable of the settings tried; 15 epochs or weight decay
# 5e-4 did not help.
DEFAULTS: dict[str, Any] = {
    "model": "lenet5",
    "dataset": "mnist-5k",
    "epochs": 10,
    "batch_size": 32,
    "optimizer": "sgd",
    "momentum": 0.9,
    "schedule": "cosine",
    "seed": 0,
    "val_fraction": 0.0,
    "augment": "none",
    "engine": "fast",
}
# learning rate when --lr is not given, per optimizer (adaptive methods want much smaller steps)
DEFAULT_LR = {"sgd": 0.05, "adam": 1e-3, "adamw": 1e-3, "rmsprop": 1e-3, "adagrad": 1e-2}
SCHEDULES = ("cosine", "constant")
ENGINES = ("fast", "loops")
RUNS_DIR = Path("runs")
# the loss each task of a dataset trains with (Dataset.task; "classification" without one)
LOSSES = {"classification": "cross_entropy", "binary": "bce_with_logits", "regression": "mse"}
_LOSS_CLASSES = {
    "cross_entropy": cl.CrossEntropyLoss,
    "bce_with_logits": cl.BCEWithLogitsLoss,
    "mse": cl.MSELoss,
}
# options that only change how a run is shown or run, not its numbers: not in config.json,
# and the only ones --resume accepts besides the folder
RUNTIME_OPTIONS = ("resume", "profile", "engine")
CHECKPOINT = "checkpoint"
EXIT_INTERRUPTED = 130  # the shell's code for a process stopped by Ctrl-C (128 + SIGINT)


def _version() -> str:
    try:
        return metadata.version("convlens")
    except metadata.PackageNotFoundError:
        return "unknown"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), prog_name="convlens")
def main() -> None:
    """convlens: convolutional neural networks on NumPy, with every number visible."""


def new_run_dir(parent: Path, stem: str) -> Path:
    """Create and return ``parent/stem``, or ``stem-2``, ``stem-3``... if taken: never reuse."""
    parent.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        path = parent / (stem if n == 1 else f"{stem}-{n}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise click.ClickException(f"could not find a free run folder name under {parent}")


def _check_out_dir(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise click.BadParameter(
            f"{out} already exists and is not an empty folder; runs are never overwritten: "
            "choose a new --out, or leave it out for a fresh folder under runs/ "
            "(to continue an interrupted run, use --resume)",
            param_hint="--out",
        )


def _command_line(settings: dict[str, Any]) -> str:
    """The ``convlens train`` command that repeats a run with ``settings``."""
    parts = ["convlens", "train"]
    for key, value in settings.items():
        if value is None or value is False:
            continue
        for one in value if isinstance(value, (list, tuple)) else [value]:  # a repeatable option
            parts.append(f"--{key.replace('_', '-')}")
            if one is not True:
                parts.append(str(one))
    return shlex.join(parts)


def _check_model(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A zoo model name, or an existing model definition file (.toml, .json)."""
    if value is None or value in cl.models.available_models():
        return value
    if is_definition_path(value):
        if Path(value).is_file():
            return value
        raise click.BadParameter(f"no model definition file {value!r}")
    raise click.BadParameter(
        f"expected a zoo model ({', '.join(cl.models.available_models())}) or a model definition "
        f"file (.toml, .json), received {value!r}")


def _model_label(name: str) -> str:
    """MODEL in run folder names: a definition file's stem."""
    return Path(name).stem if is_definition_path(name) else name


def _check_dataset(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        try:
            dataset_info(value)
        except ValueError as err:
            raise click.BadParameter(str(err)) from None
    return value


@main.command()
@click.option(
    "--model",
    default=DEFAULTS["model"],
    show_default=True,
    callback=_check_model,
    help="Architecture to train: a zoo model (" + ", ".join(cl.models.available_models()) + ") "
    "or a model definition file (.toml, .json; a graph model is its JSON spec).",
)
@click.option(
    "--dataset",
    default=DEFAULTS["dataset"],
    show_default=True,
    callback=_check_dataset,
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
    type=click.IntRange(min=1),
    help="Passes over the training set.",
)
@click.option(
    "--batch-size",
    default=DEFAULTS["batch_size"],
    show_default=True,
    type=click.IntRange(min=1),
    help="Examples per gradient step.",
)
@click.option(
    "--lr",
    default=None,
    type=click.FloatRange(min=0, min_open=True),
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
    type=click.FloatRange(min=0, max=1, max_open=True),
    help="Momentum (--optimizer sgd only).",
)
@click.option(
    "--weight-decay",
    default=None,
    type=click.FloatRange(min=0),
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
    type=int,
    help="Seeds weight initialization, shuffling and the validation split: the same seed repeats the run.",
)
@click.option(
    "--val-fraction",
    default=DEFAULTS["val_fraction"],
    show_default=True,
    type=click.FloatRange(min=0, max=1, max_open=True),
    help="Hold out this share of the training set to follow each epoch "
    "(0: follow the test set; the test set is then evaluated after every epoch, "
    "so do not use those curves to choose settings).",
)
@click.option(
    "--early-stopping",
    "early_stopping",
    type=click.IntRange(min=1),
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
    type=click.IntRange(min=1),
    default=None,
    help="Use only the first N training examples (quick experiments).",
)
@click.option(
    "--limit-test",
    type=click.IntRange(min=1),
    default=None,
    help="Use only the first N test examples (quick experiments).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Run folder to write (must not exist or be empty). "
    "Default: a new folder under runs/ named after the time, model and dataset.",
)
@click.option(
    "--resume",
    type=click.Path(path_type=Path),
    default=None,
    metavar="RUN_DIR",
    help="Continue the interrupted run in RUN_DIR from its checkpoint, with the settings of its "
    "config.json; it ends with the weights an uninterrupted run would have.",
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
def train(**options: Any) -> None:
    """Train a model and write weights, metrics, config, log and curves to a run folder.

    \b
    Examples:
      convlens train                                   # LeNet-5 on mnist-5k
      convlens train --dataset fashion-mnist --epochs 5
      convlens train --model text_cnn --dataset words-lang --optimizer adam --lr 0.002 --epochs 20
      convlens train --lr 0.01 --seed 1 --out runs/low-lr
      convlens train --resume runs/low-lr              # after Ctrl-C
      convlens train --engine loops --limit-train 320 --limit-test 100 --epochs 1 --profile
    """
    session_start = time.perf_counter()
    ctx = click.get_current_context()
    resume: Path | None = options["resume"]
    if resume is not None:
        settings, out = _resume_settings(ctx, resume, options)
    else:
        settings = _resolve_settings(ctx, options)
        settings["data_option"] = list(settings["data_option"])  # as config.json gives it back
        out = settings.pop("out")
        if out is not None:
            _check_out_dir(out)
    data = _load_data(settings)
    model, optimizer, scheduler = _build(settings, data.dataset)
    task = get_task(data.task)
    loss_fn = _LOSS_CLASSES[LOSSES[task.name]]()
    probe = Trainer(model, loss_fn, optimizer, data.loader, val_data=data.val_data, task=task, verbose=False)
    try:
        probe.check()  # targets against the model's outputs, before any folder is made
    except ValueError as err:
        raise click.ClickException(str(err)) from err
    _describe(settings, data, model, optimizer)
    if settings["engine"] == "loops":
        _warn_loops(settings)

    if out is None:
        stem = f"{datetime.now():%Y%m%d-%H%M%S}-{_model_label(settings['model'])}-{data.dataset.name}"
        out = new_run_dir(RUNS_DIR, re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-"))
    if resume is None:
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "config.json", _config(settings, data, task.name))

    profiler = ProfileLayers() if options["profile"] else None
    callbacks: list[Any] = []
    if settings["early_stopping"]:
        callbacks.append(EarlyStopping("val_loss", patience=settings["early_stopping"]))
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
        scheduler=scheduler,
        callbacks=callbacks,
        task=task,
        checkpoint=out / CHECKPOINT,
        metadata=_run_identity(settings),
        verbose=True,
    )
    previous_wall_time = 0.0
    if resume is not None:
        previous_wall_time = _resume_trainer(trainer, out, settings)

    status, error = "completed", None
    try:
        with use_loops(settings["engine"] == "loops"):
            trainer.fit(settings["epochs"])  # completed, or stopped early: both "completed"
    except TrainingDiverged as err:
        status, error = "diverged", str(err)
    except TrainingInterrupted as err:
        status, error = "interrupted", str(err)
    except CheckpointSaveError as err:
        status, error = "failed", str(err)
    finally:
        if profiler is not None:
            click.echo(profiler.table())

    if status == "failed":
        # the disk may be full: try to say so in metrics.json, but keep the previous checkpoint
        with contextlib.suppress(OSError):
            write_json(
                out / "metrics.json",
                _metrics(status, error, trainer, model, None, session_start, previous_wall_time),
            )
        raise click.ClickException(
            f"{error}. Free some space, then continue with: convlens train --resume {out}"
        )
    report = None
    if status != "interrupted":
        report = _test_report(model, loss_fn, task, data.dataset)
        _echo_test(report, task.name, len(data.dataset.y_test), trainer.train_time)
    metrics = _metrics(status, error, trainer, model, report, session_start, previous_wall_time)
    written = _write_run(out, settings, data, model, metrics, trainer.history)
    click.echo(f"wrote {out}{os.sep}: {', '.join(written)}")
    if status == "interrupted":
        click.echo(f"{error}\ncontinue with: convlens train --resume {out}", err=True)
        ctx.exit(EXIT_INTERRUPTED)
    if status == "diverged":
        raise click.ClickException(f"{error} The run folder holds those weights.")


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


def _resolve_settings(ctx: click.Context, options: dict[str, Any]) -> dict[str, Any]:
    """Fill the defaults that depend on other options; keep the order of ``--help``."""
    settings = {
        param.name: options[param.name]
        for param in ctx.command.params
        if param.name and param.name not in ("resume", "profile")
    }
    if settings["optimizer"] != "sgd":
        if ctx.get_parameter_source("momentum") is not click.core.ParameterSource.DEFAULT:
            raise click.BadParameter("applies to --optimizer sgd only", param_hint="--momentum")
        settings["momentum"] = None
    if settings["lr"] is None:
        settings["lr"] = DEFAULT_LR.get(settings["optimizer"], 1e-3)
    if settings["weight_decay"] is None:
        signature = inspect.signature(cl.optim.OPTIMIZERS[settings["optimizer"]])
        settings["weight_decay"] = signature.parameters["weight_decay"].default
    if settings["early_stopping"] is not None and settings["val_fraction"] == 0:
        raise click.BadParameter(
            "needs a validation set: add --val-fraction (e.g. 0.1); stopping on the test set "
            "would tune the run to it",
            param_hint="--early-stopping",
        )
    return settings


def _resume_settings(
    ctx: click.Context, run_dir: Path, options: dict[str, Any]
) -> tuple[dict[str, Any], Path]:
    """The settings of the run in ``run_dir``, checked to be a resumable run folder."""
    given = sorted(
        f"--{name.replace('_', '-')}"
        for name in options
        if name not in RUNTIME_OPTIONS
        and ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT
    )
    if given:
        raise click.BadParameter(
            f"takes every setting from RUN_DIR/config.json, so it cannot be combined with "
            f"{', '.join(given)} (only --engine and --profile may change)",
            param_hint="--resume",
        )
    if not run_dir.is_dir():
        raise click.ClickException(f"cannot resume: there is no run folder {run_dir}")
    config_path = run_dir / "config.json"
    if not config_path.is_file():
        raise click.ClickException(
            f"cannot resume: {run_dir} has no config.json; is it a run folder written by `convlens train`?"
        )
    if not checkpoint_exists(run_dir / CHECKPOINT):
        raise click.ClickException(
            f"cannot resume: {run_dir} has no checkpoint ({CHECKPOINT}.npz and {CHECKPOINT}.json); "
            "it was written before convlens saved checkpoints, or the run never started training"
        )
    try:
        config = json.loads(config_path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise click.ClickException(f"cannot resume: cannot read {config_path}: {err}") from None
    settings = {}
    for param in ctx.command.params:
        name = param.name
        if not name or name in ("resume", "profile", "out"):
            continue
        if name == "engine" and ctx.get_parameter_source("engine") is not click.core.ParameterSource.DEFAULT:
            settings[name] = options[name]
        elif name in config:
            settings[name] = config[name]
        else:
            settings[name] = param.get_default(ctx)
    if settings["data_dir"] is not None:
        settings["data_dir"] = Path(settings["data_dir"])
    return settings, run_dir


def _run_identity(settings: dict[str, Any]) -> dict[str, Any]:
    """What must match between a checkpoint and the run resuming it (all but the engine)."""
    return {k: v for k, v in settings.items() if k not in ("engine", "data_dir")}


def _resume_trainer(trainer: Trainer, run_dir: Path, settings: dict[str, Any]) -> float:
    """Load the checkpoint into ``trainer``; returns the wall time of the earlier sessions."""
    try:
        trainer.load_checkpoint()
    except CheckpointError as err:
        raise click.ClickException(f"cannot resume {run_dir}: {err}") from err
    epochs = settings["epochs"]
    if trainer.epoch >= epochs or trainer.stop_training:
        why = "stopped early" if trainer.stop_training else f"finished all {epochs} epochs"
        click.echo(f"nothing to resume: {run_dir} {why}; start a new run to train longer")
        click.get_current_context().exit(0)
    click.echo(f"resuming {run_dir} from {trainer.describe_position()}")
    previous = 0.0
    with contextlib.suppress(OSError, ValueError, TypeError):
        previous = float(json.loads((run_dir / "metrics.json").read_text())["wall_time_seconds"])
    return previous


class _Data(NamedTuple):
    dataset: Dataset  # test set limited by --limit-test
    loader: DataLoader  # the training data (less the validation part)
    val_data: tuple[np.ndarray, np.ndarray]  # followed after each epoch
    val_name: str  # "test" or "val"
    task: str  # the dataset's task: "classification", "binary" or "regression"
    normalizer: Normalize | None  # fitted on the training part with --normalize


def _load_data(settings: dict[str, Any]) -> _Data:
    """The dataset (limited if asked), the training loader and the data followed each epoch."""
    try:
        options = parse_options(settings.get("data_option") or [])
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--data-option") from err
    try:
        dataset = load_dataset(settings["dataset"], settings["data_dir"], **options)
    except (FileNotFoundError, ValueError) as err:
        raise click.ClickException(str(err)) from err
    dataset = dataset.subset(settings["limit_train"], settings["limit_test"])
    task = getattr(dataset, "task", "classification")
    try:
        kind = getattr(dataset, "kind", None) or {3: "signals", 4: "images"}.get(
            dataset.x_train.ndim, "inputs"
        )
        augment = make_augment(settings.get("augment"), kind, seed=settings["seed"])
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--augment") from err
    x_train, y_train = dataset.x_train, dataset.y_train
    val_name, val_data = "test", (dataset.x_test, dataset.y_test)
    if settings["val_fraction"] > 0:
        try:
            (x_train, y_train), val_data = train_val_split(
                x_train, y_train, settings["val_fraction"], seed=settings["seed"]
            )
        except ValueError as err:
            raise click.BadParameter(str(err), param_hint="--val-fraction") from err
        val_name = "val"
    normalizer = None
    if settings.get("normalize"):
        try:
            check_can_normalize(dataset)
        except ValueError as err:
            raise click.BadParameter(str(err), param_hint="--normalize") from err
        # statistics of the training part only; the same arrays feed training, the per-epoch
        # validation and the final test report
        normalizer = Normalize().fit(x_train)
        x_train = normalizer(x_train)
        val_data = (normalizer(val_data[0]), val_data[1])
        dataset = dataset.replace(
            x_train=normalizer(dataset.x_train),
            x_test=val_data[0] if val_name == "test" else normalizer(dataset.x_test),
        )
    # The augmentations go on the training loader only; the trainer saves and restores the
    # random generators a transform holds, so resume stays exact.
    loader = DataLoader(
        x_train, y_train, settings["batch_size"], shuffle=True, seed=settings["seed"], transform=augment
    )
    return _Data(dataset, loader, val_data, val_name, task, normalizer)


def _num_outputs(dataset: Dataset) -> int:
    return int(getattr(dataset, "num_outputs", dataset.num_classes))


def _model_size(name: str, dataset: Dataset) -> dict[str, int]:
    """What ``get_model`` needs besides the name: the vocabulary size for a model of token ids,
    the input channels otherwise, and the number of outputs."""
    if is_definition_path(name):   # a definition fixes its sizes: resolve_model checks them
        if getattr(dataset, "kind", None) == "tokens":
            return {"vocab_size": dataset.vocab_size, "num_classes": _num_outputs(dataset)}
        return {"in_channels": dataset.input_shape[0], "num_classes": _num_outputs(dataset)}
    tokens, text_model = getattr(dataset, "kind", None) == "tokens", cl.models.takes_tokens(name)
    if tokens and not text_model:
        raise click.ClickException(
            f"{name} reads channel-first arrays, but {dataset.name} holds (N, {dataset.input_shape[0]}) "
            f"token ids: train a model that starts with an Embedding ("
            + ", ".join(m for m in cl.models.available_models() if cl.models.takes_tokens(m))
            + ")"
        )
    if text_model and not tokens:
        raise click.ClickException(
            f"{name} reads token ids (N, L) through an Embedding, but {dataset.name} holds "
            f"{dataset.kind}: choose a text dataset (words-lang, or text:FILE for your own)"
        )
    if tokens:
        return {"vocab_size": dataset.vocab_size, "num_classes": _num_outputs(dataset)}
    size = {"in_channels": dataset.input_shape[0], "num_classes": _num_outputs(dataset)}
    if cl.models.takes_argument(name, "input_size") and len(dataset.input_shape) == 3:
        # models with a dense head sized for the image (lenet5, vgg_small, fmnist_cnn)
        height, width = dataset.input_shape[1:]
        if height != width:
            raise click.ClickException(
                f"{name} is built for square images (input_size), but {dataset.name}'s images are "
                f"{height}×{width}: resize them (e.g. folder:PATH --data-option image_size={height})")
        size["input_size"] = height
    return size


def _build(settings: dict[str, Any], dataset: Dataset) -> tuple[Any, Any, Any]:
    """Model (weights drawn after ``manual_seed``), optimizer and learning-rate schedule."""
    name, shape = settings["model"], dataset.input_shape
    shape_text = "x".join(map(str, shape))
    kind = getattr(dataset, "kind", "images")
    cl.manual_seed(settings["seed"])
    try:
        sizes = _model_size(name, dataset)
        model = (cl.models.resolve_model(name, **sizes) if is_definition_path(name)
                 else cl.models.get_model(name, **sizes))
    except cl.models.DefinitionError as err:
        raise click.ClickException(str(err)) from None
    except TypeError as err:  # a builder that takes no channel/class counts: not an image classifier
        raise click.ClickException(f"{name} cannot be built for {dataset.name}'s {kind}: {err}") from err
    try:
        num_outputs(model, dataset.x_train)
    except ValueError as err:
        raise click.ClickException(
            f"{name} cannot classify {dataset.name}'s {shape_text} {kind}: {err}"
        ) from err
    kwargs = {"lr": settings["lr"], "weight_decay": settings["weight_decay"]}
    if settings["momentum"] is not None:
        kwargs["momentum"] = settings["momentum"]
    optimizer = cl.optim.get_optimizer(settings["optimizer"], model.parameters(), **kwargs)
    scheduler = None
    if settings["schedule"] == "cosine":
        scheduler = cl.optim.CosineAnnealingLR(optimizer, T_max=settings["epochs"])
    return model, optimizer, scheduler


def _describe(settings: dict[str, Any], data: _Data, model: Any, optimizer: Any) -> None:
    click.echo(data.dataset.summary())
    if data.val_name == "val":
        click.echo(
            f"training on {data.loader.num_samples}, following {len(data.val_data[1])} "
            "held-out training examples each epoch"
        )
    if data.normalizer is not None or data.loader.transform is not None:
        normalized = "standardized per channel with training statistics"
        augmented = f"; training batches augmented with {settings['augment']}"
        click.echo(
            "inputs: "
            + (normalized if data.normalizer is not None else "raw")
            + (augmented if data.loader.transform is not None else "")
        )
    click.echo(
        f"model {settings['model']}: {model.num_parameters():,} parameters; {optimizer!r}; "
        f"{settings['schedule']} schedule; batch size {settings['batch_size']}, "
        f"{settings['epochs']} epoch{'s' if settings['epochs'] != 1 else ''}, seed {settings['seed']}"
        + (
            ""
            if data.task == "classification"
            else f"; {data.task} task, {LOSSES[get_task(data.task).name]} loss"
        )
    )


def _test_report(model: Any, loss_fn: Any, task: Any, dataset: Dataset) -> dict[str, Any]:
    """Loss and the task's detailed metrics on the test set (always with the fast engine)."""
    x, y = dataset.x_test, dataset.y_test
    with use_loops(False):
        scores = evaluate_metrics(model, loss_fn, x, y, task)
        details = task.report(predict(model, x), y, dataset.class_names or None)
    return {"loss": scores["loss"], **scores, **details}


def _echo_test(report: dict[str, Any], task: str, n: int, train_time: float) -> None:
    if "accuracy" in report:
        extra = "".join(f", top-{k} {v:.2%}" for k, v in report.get("top_k_accuracy", {}).items())
        line = f"test: loss {report['loss']:.4f}, accuracy {report['accuracy']:.2%}{extra}"
    else:
        line = f"test: loss {report['loss']:.4f}, MAE {report['mae']:.4f}, RMSE {report['rmse']:.4f}"
    click.echo(f"{line} ({n} examples; {train_time:.1f} s of training)")


def _metrics(
    status: str,
    error: str | None,
    trainer: Trainer,
    model: Any,
    report: dict[str, Any] | None,
    session_start: float,
    previous_wall_time: float,
) -> dict[str, Any]:
    """The content of metrics.json."""
    history = trainer.history
    report = report or {}
    metrics: dict[str, Any] = {
        "status": status,
        "error": error,
        "test_accuracy": report.get("accuracy"),
        "test_loss": report.get("loss"),
        "train_time_seconds": trainer.train_time,
        "epochs": history.epochs,
        "num_parameters": model.num_parameters(),
        "history": history.to_dict(),
        "task": trainer.task.name,
        "wall_time_seconds": previous_wall_time + time.perf_counter() - session_start,
    }
    if status == "interrupted":
        metrics["interrupted_at"] = trainer.describe_position()
    for callback in trainer.callbacks:
        if isinstance(callback, EarlyStopping):
            metrics["early_stopping"] = {
                "monitor": callback.monitor,
                "best": callback.best if callback.best_epoch else None,
                "best_epoch": callback.best_epoch,
                "stopped_epoch": callback.stopped_epoch or None,
            }
    for key in (
        "top_k_accuracy",
        "per_class",
        "confusion_matrix",
        "precision",
        "recall",
        "f1",
        "mae",
        "rmse",
    ):
        if key in report:
            metrics[f"test_{key}"] = report[key]
    return metrics


def _config(settings: dict[str, Any], data: _Data, task: str) -> dict[str, Any]:
    """The content of config.json."""
    dataset = data.dataset
    return {
        **settings,
        "command": _command_line(settings),
        "loss": LOSSES[task],
        "task": task,
        "dataset_description": dataset.description,
        "num_train": data.loader.num_samples,
        "num_val": len(data.val_data[1]) if data.val_name == "val" else 0,
        "num_test": len(dataset.y_test),
        # what get_model received besides the name: enough to rebuild the model from this file
        **_model_size(settings["model"], dataset),
        # a JSON model definition: its spec, so the run folder rebuilds the model on its own
        **({"model_spec": to_spec(cl.models.load_definition(settings["model"]))}
           if is_definition_path(settings["model"]) else {}),
        "input_shape": list(dataset.input_shape),
        # token ids: the token each id stands for, to encode new text the same way
        **({"vocabulary": list(dataset.vocabulary)} if getattr(dataset, "vocabulary", ()) else {}),
        # --normalize: the per-channel statistics, so the run's inputs can be rebuilt exactly
        "normalization": data.normalizer.get_config() if data.normalizer is not None else None,
        "augmentation": repr(data.loader.transform) if data.loader.transform is not None else None,
        "created": datetime.now().isoformat(timespec="seconds"),
        "versions": {"convlens": _version(), "numpy": np.__version__, "python": platform.python_version()},
    }


def _write_run(
    run_dir: Path,
    settings: dict[str, Any],
    data: _Data,
    model: Any,
    metrics: dict[str, Any],
    history: History,
) -> list[str]:
    """Write the results into the run folder; returns the names of the files it holds."""
    from convlens.viz import plot_history  # matplotlib: imported only when needed

    save_weights(model, run_dir / "weights.npz")
    write_json(run_dir / "metrics.json", metrics)
    written = ["weights.npz", "metrics.json", "config.json"]
    if history.epochs and history.train_accuracy:
        title = f"{settings['model']} on {data.dataset.name}"
        plot_history(history, run_dir / "curves.png", title=title)
        written.append("curves.png")
    written += [
        name for name in ("log.csv", f"{CHECKPOINT}.npz", f"{CHECKPOINT}.json") if (run_dir / name).is_file()
    ]
    return written


def _register_commands() -> None:
    """The inspection commands live in ``convlens.commands``; put them on the group."""
    from convlens.commands import export as export_commands
    from convlens.commands import inspect as inspect_commands
    from convlens.commands import visualize as visualize_commands

    for command in [*inspect_commands.COMMANDS, *visualize_commands.COMMANDS]:
        main.add_command(command)
    main.add_command(importlib.import_module("convlens.commands.predict").predict)
    main.add_command(importlib.import_module("convlens.commands.serve").serve)
    for command in export_commands.COMMANDS:
        main.add_command(command)


_register_commands()


if __name__ == "__main__":
    main()
