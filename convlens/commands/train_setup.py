"""What ``convlens train`` is made of: its defaults, the data, the model, and the contents of
config.json and metrics.json. The command itself (options, order of work, messages) is in
:mod:`convlens.commands.train`; the run folder in :mod:`convlens.training.run`."""

from __future__ import annotations

import platform
import shlex
import time
from datetime import datetime
from importlib import metadata
from typing import Any, NamedTuple

import click
import numpy as np

import convlens as cl
from convlens.data import (
    DataLoader,
    Dataset,
    Normalize,
    check_can_normalize,
    load_dataset,
    make_augment,
    parse_options,
    train_val_split,
)
from convlens.functional.engine import use_loops
from convlens.layers.spec import from_spec, to_spec
from convlens.models.definition import is_definition_path
from convlens.training import (
    EarlyStopping,
    Trainer,
    evaluate_metrics,
    get_task,
    num_outputs,
    predict,
)
from convlens.training.transfer import (
    TransferError,
    freeze,
    frozen_batch_norms,
    load_pretrained,
    replace_head,
    trainable_summary,
)

# Defaults of `convlens train`: modern LeNet-5 on mnist-5k. Measured on 2 CPU cores: 97.5 % test
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
# the loss each task of a dataset trains with (Dataset.task; "classification" without one)
LOSSES = {"classification": "cross_entropy", "binary": "bce_with_logits", "regression": "mse"}
LOSS_CLASSES = {
    "cross_entropy": cl.CrossEntropyLoss,
    "bce_with_logits": cl.BCEWithLogitsLoss,
    "mse": cl.MSELoss,
}
# options that only change how a run is shown or run, not its numbers: not in config.json,
# and the only ones --resume accepts besides the folder
RUNTIME_OPTIONS = ("resume", "profile", "engine")
EXIT_INTERRUPTED = 130  # the shell's code for a process stopped by Ctrl-C (128 + SIGINT)


def version() -> str:
    try:
        return metadata.version("convlens")
    except metadata.PackageNotFoundError:
        return "unknown"


def command_line(settings: dict[str, Any]) -> str:
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


class RunData(NamedTuple):
    dataset: Dataset  # test set limited by --limit-test
    loader: DataLoader  # the training data (less the validation part)
    val_data: tuple[np.ndarray, np.ndarray]  # followed after each epoch
    val_name: str  # "test" or "val"
    task: str  # the dataset's task: "classification", "binary" or "regression"
    normalizer: Normalize | None  # fitted on the training part with --normalize


def load_data(settings: dict[str, Any]) -> RunData:
    """The dataset (limited if asked), the training loader and the data followed each epoch."""
    try:
        options = parse_options(settings.get("data_option") or [])
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--data-option") from err
    try:
        dataset = load_dataset(settings["dataset"], settings["data_dir"], **options)
    except (FileNotFoundError, ValueError) as err:
        name, message = settings["dataset"], str(err)
        if name not in message:  # say which option the file came from
            message = f"cannot load --dataset {name}: {message}"
        raise click.ClickException(message) from err
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
    return RunData(dataset, loader, val_data, val_name, task, normalizer)


def _num_outputs(dataset: Dataset) -> int:
    return int(getattr(dataset, "num_outputs", dataset.num_classes))


def model_size(name: str, dataset: Dataset) -> dict[str, int]:
    """What ``get_model`` needs besides the name: the vocabulary size for a model of token ids,
    the input channels otherwise, and the number of outputs."""
    if is_definition_path(name):  # a definition fixes its sizes: resolve_model checks them
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
                f"{height}×{width}: resize them (e.g. folder:PATH --data-option image_size={height})"
            )
        size["input_size"] = height
    return size


class Built(NamedTuple):
    model: Any
    optimizer: Any
    scheduler: Any
    frozen_batch_norms: list[Any]  # kept in eval mode while training (KeepFrozenInEval)


def _zoo_model(settings: dict[str, Any], dataset: Dataset) -> Any:
    name, kind = settings["model"], getattr(dataset, "kind", "images")
    try:
        sizes = model_size(name, dataset)
        if is_definition_path(name):
            return cl.models.resolve_model(name, **sizes)
        return cl.models.get_model(name, **sizes)
    except cl.models.DefinitionError as err:
        raise click.ClickException(str(err)) from None
    except TypeError as err:  # a builder that takes no channel/class counts: not an image classifier
        raise click.ClickException(f"{name} cannot be built for {dataset.name}'s {kind}: {err}") from err


def _pretrained_model(settings: dict[str, Any], dataset: Dataset, model_given: bool) -> Any:
    """The model of ``--init-from``, with a new head when the data set's classes differ."""
    source = settings["init_from"]
    try:
        model, info = load_pretrained(source)
    except TransferError as err:
        raise click.BadParameter(str(err), param_hint="--init-from") from None
    if model_given and info.model_name is not None and settings["model"] != info.model_name:
        raise click.BadParameter(
            f"--init-from {source} holds a {info.model_name}, but --model {settings['model']} was given: "
            "leave --model out (the architecture comes from the model you start from)",
            param_hint="--model",
        )
    settings["model"] = info.model_name or type(model).__name__
    wanted = _num_outputs(dataset)
    try:
        have = num_outputs(model, dataset.x_train[:1])
    except ValueError as err:
        raise click.ClickException(
            f"the model in {source} cannot take {dataset.name}'s inputs of shape "
            f"{tuple(dataset.input_shape)}: {err}"
        ) from None
    why = None
    task = getattr(dataset, "task", "classification")
    if have != wanted and task == "classification":
        why = f"{dataset.name} has {wanted} classes, the model {have} outputs"
    elif have != wanted:  # binary or regression: one output for the new task
        why = (f"{dataset.name} is a {task} task with {wanted} output{'s' if wanted != 1 else ''}, "
               f"the model has {have}")
    elif info.class_names and dataset.class_names and list(info.class_names) != list(dataset.class_names):
        why = (
            f"its classes ({', '.join(info.class_names[:3])}, …) are not {dataset.name}'s "
            f"({', '.join(map(str, dataset.class_names[:3]))}, …)"
        )
    if why is None:
        click.echo(f"init: weights from {source}, classifier head kept (same classes)")
    else:
        try:
            name = replace_head(model, wanted)
        except TransferError as err:
            raise click.ClickException(f"cannot start from {source}: {why}; {err}") from None
        head = "classifier head" if task == "classification" else "output head"
        click.echo(f"init: weights from {source}; new {head} (layer {name}, fresh weights): {why}")
    return model


def build_model(
    settings: dict[str, Any], dataset: Dataset, spec: dict[str, Any] | None = None, model_given: bool = False
) -> Built:
    """Model (weights drawn after ``manual_seed``), optimizer and learning-rate schedule.

    The model is the zoo's ``settings["model"]``, or the one of ``--init-from`` (with a new
    head if the classes differ), or rebuilt from ``spec`` (a resumed ``--init-from`` run: the
    checkpoint then sets the weights). ``--freeze`` freezes layers of it.
    """
    shape_text = "x".join(map(str, dataset.input_shape))
    kind = getattr(dataset, "kind", "images")
    cl.manual_seed(settings["seed"])
    if spec is not None:
        try:
            model = from_spec(spec)
        except (TypeError, ValueError, KeyError) as err:
            raise click.ClickException(
                f"cannot rebuild the model from config.json's model_spec: {err}"
            ) from None
    elif settings.get("init_from"):
        model = _pretrained_model(settings, dataset, model_given)
    else:
        model = _zoo_model(settings, dataset)
    name = settings["model"]
    try:
        num_outputs(model, dataset.x_train)
    except ValueError as err:
        raise click.ClickException(
            f"{name} cannot classify {dataset.name}'s {shape_text} {kind}: {err}"
        ) from err
    frozen_norms: list[Any] = []
    if settings.get("freeze"):
        try:
            frozen = freeze(model, settings["freeze"])
        except ValueError as err:
            raise click.BadParameter(str(err), param_hint="--freeze") from None
        frozen_norms = frozen_batch_norms(model, frozen)
        trainable, fixed = trainable_summary(model)
        click.echo(f"frozen: layers {', '.join(frozen)} ({fixed:,} parameters); {trainable:,} trainable")
        if trainable == 0:
            raise click.BadParameter(
                "freezes every parameter: nothing would be trained", param_hint="--freeze"
            )
    kwargs = {"lr": settings["lr"], "weight_decay": settings["weight_decay"]}
    if settings["momentum"] is not None:
        kwargs["momentum"] = settings["momentum"]
    optimizer = cl.optim.get_optimizer(settings["optimizer"], model.parameters(), **kwargs)
    scheduler = None
    if settings["schedule"] == "cosine":
        scheduler = cl.optim.CosineAnnealingLR(optimizer, T_max=settings["epochs"])
    return Built(model, optimizer, scheduler, frozen_norms)


def describe(settings: dict[str, Any], data: RunData, model: Any, optimizer: Any) -> None:
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


def test_report(model: Any, loss_fn: Any, task: Any, dataset: Dataset) -> dict[str, Any]:
    """Loss and the task's detailed metrics on the test set (always with the fast engine)."""
    x, y = dataset.x_test, dataset.y_test
    with use_loops(False):
        scores = evaluate_metrics(model, loss_fn, x, y, task)
        details = task.report(predict(model, x), y, dataset.class_names or None)
    return {"loss": scores["loss"], **scores, **details}


def echo_test(report: dict[str, Any], task: str, n: int, train_time: float) -> None:
    if "accuracy" in report:
        extra = "".join(f", top-{k} {v:.2%}" for k, v in report.get("top_k_accuracy", {}).items())
        line = f"test: loss {report['loss']:.4f}, accuracy {report['accuracy']:.2%}{extra}"
    else:
        line = f"test: loss {report['loss']:.4f}, MAE {report['mae']:.4f}, RMSE {report['rmse']:.4f}"
    click.echo(f"{line} ({n} examples; {train_time:.1f} s of training)")


def metrics_content(
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


def config_content(settings: dict[str, Any], data: RunData, task: str, model: Any) -> dict[str, Any]:
    """The content of config.json."""
    dataset = data.dataset
    started_from = bool(settings.get("init_from"))
    # the architecture of an --init-from run comes from its source: not repeated as --model
    repeat = {k: v for k, v in settings.items() if not (started_from and k == "model")}
    return {
        **settings,
        "command": command_line(repeat),
        "loss": LOSSES[task],
        "task": task,
        "dataset_description": dataset.description,
        "num_train": data.loader.num_samples,
        "num_val": len(data.val_data[1]) if data.val_name == "val" else 0,
        "num_test": len(dataset.y_test),
        # what get_model received besides the name: enough to rebuild the model from this file
        # (after --init-from: the whole architecture, as convlens.layers.spec.to_spec gives it)
        **({} if started_from else model_size(settings["model"], dataset)),
        # a JSON model definition: its spec, so the run folder rebuilds the model on its own
        **({"model_spec": to_spec(model)} if started_from or is_definition_path(settings["model"]) else {}),
        "class_names": [str(c) for c in dataset.class_names] if dataset.class_names else None,
        "input_shape": list(dataset.input_shape),
        # token ids: the token each id stands for, to encode new text the same way
        **({"vocabulary": list(dataset.vocabulary)} if getattr(dataset, "vocabulary", ()) else {}),
        # --normalize: the per-channel statistics, so the run's inputs can be rebuilt exactly
        "normalization": data.normalizer.get_config() if data.normalizer is not None else None,
        "augmentation": repr(data.loader.transform) if data.loader.transform is not None else None,
        "created": datetime.now().isoformat(timespec="seconds"),
        "versions": {"convlens": version(), "numpy": np.__version__, "python": platform.python_version()},
    }
