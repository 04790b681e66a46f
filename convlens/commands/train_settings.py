"""The settings of a ``convlens train`` run, checked before any work: the defaults that depend
on other options, and the settings ``--resume`` reads back from ``config.json`` (each value
checked as its option would be; the option types are in :mod:`convlens.commands.guard`)."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import click

import convlens as cl
from convlens.commands.train_setup import DEFAULT_LR
from convlens.data import AUGMENTATIONS, parse_options
from convlens.data.registry import parse_dataset_spec
from convlens.models.definition import is_definition_path

MAX_EPOCHS = 1_000_000
MAX_COUNT = 2**31 - 1  # batch size, example limits: beyond any data set that fits in memory
# options that only change how a run is shown or run, not its numbers (not in config.json),
# and --epochs: the only ones --resume accepts besides the folder
RESUME_OPTIONS = ("resume", "profile", "engine", "epochs")
# settings config.json may hold as null (everything else has a value in every run)
NULLABLE = ("data_dir", "early_stopping", "limit_train", "limit_test", "init_from", "freeze")
NEW_RUN_ONLY = ("init_from", "freeze")


def check_model(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A zoo model name, or an existing model definition file (.toml, .json)."""
    if value is None or value in cl.models.available_models():
        return value
    if is_definition_path(value):
        if Path(value).is_file():
            return value
        raise click.BadParameter(f"no model definition file {value!r}")
    raise click.BadParameter(
        f"expected a zoo model ({', '.join(cl.models.available_models())}) or a model definition "
        f"file (.toml, .json), received {value!r}"
    )


def model_label(name: str) -> str:
    """MODEL in run folder names: a definition file's stem."""
    return Path(name).stem if is_definition_path(name) else name


def check_dataset(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        if not value.strip():
            raise click.BadParameter("expected a dataset name or SOURCE:PATH, received ''")
        try:
            _, path = parse_dataset_spec(value)
        except ValueError as err:
            raise click.BadParameter(str(err)) from None
        if path is not None and not path.exists():
            raise click.BadParameter(f"{path}: no such file or folder")
    return value


def option_given(ctx: click.Context, name: str) -> bool:
    return ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT


def resolve_settings(ctx: click.Context, options: dict[str, Any]) -> dict[str, Any]:
    """Every setting of a new run, checked; fills the defaults that depend on other options
    and keeps the order of ``--help``. Reads and writes no file."""
    settings = {
        param.name: options[param.name]
        for param in ctx.command.params
        if param.name and param.name not in ("resume", "profile")
    }
    settings["data_option"] = list(settings["data_option"])  # as config.json gives it back
    if settings["optimizer"] != "sgd":
        if option_given(ctx, "momentum"):
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
    if settings["freeze"] is not None and settings["init_from"] is None:
        raise click.BadParameter(
            "needs --init-from: freezing layers of fresh random weights trains nothing useful",
            param_hint="--freeze",
        )
    if settings["init_from"] is not None:
        if not settings["init_from"].exists():
            raise click.BadParameter(
                f"no such run folder or model file: {settings['init_from']}", param_hint="--init-from"
            )
        settings["init_from"] = str(settings["init_from"])
    check_data_options(settings)
    return settings


def check_data_options(settings: dict[str, Any]) -> None:
    """--data-option and --augment, as far as they can be checked without the data."""
    try:
        parse_options(settings.get("data_option") or [])
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--data-option") from None
    augment = settings.get("augment")
    known = {name for names in AUGMENTATIONS.values() for name in names}
    if augment is None or not augment.strip():
        raise click.BadParameter(
            f"expected 'none' or a comma list of {', '.join(sorted(known))}, received {augment!r}",
            param_hint="--augment",
        )
    unknown = [a for a in (x.strip() for x in augment.split(",")) if a not in known and a != "none"]
    if unknown:
        raise click.BadParameter(
            f"unknown augmentation {', '.join(map(repr, unknown))}; expected 'none' or a comma list of "
            + ", ".join(sorted(known)),
            param_hint="--augment",
        )


def resume_settings(ctx: click.Context, options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The settings of the run in ``--resume RUN_DIR``, from its config.json, checked value by
    value with the option types (a hand-edited or damaged file gets a message, not a traceback)."""
    run_dir: Path = options["resume"]
    given = sorted(
        f"--{name.replace('_', '-')}"
        for name in options
        if name not in RESUME_OPTIONS and option_given(ctx, name)
    )
    if given:
        raise click.BadParameter(
            f"takes every setting from RUN_DIR/config.json, so it cannot be combined with "
            f"{', '.join(given)} (only --epochs, --engine and --profile may change)",
            param_hint="--resume",
        )
    if not run_dir.is_dir():
        raise click.ClickException(f"cannot resume: there is no run folder {run_dir}")
    config_path = run_dir / "config.json"
    if not config_path.is_file():
        raise click.ClickException(
            f"cannot resume: {run_dir} has no config.json; is it a run folder written by `convlens train`?"
        )
    try:
        config = json.loads(config_path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise click.ClickException(f"cannot resume: cannot read {config_path}: {err}") from None
    if not isinstance(config, dict):
        raise click.ClickException(
            f"cannot resume: {config_path} holds a JSON {type(config).__name__}, "
            "expected an object of settings"
        )
    settings: dict[str, Any] = {}
    for param in ctx.command.params:
        name = param.name
        if not name or name in ("resume", "profile", "out"):
            continue
        if name in ("engine", "epochs") and option_given(ctx, name):
            settings[name] = options[name]
        elif name in config:
            settings[name] = config_value(ctx, param, config, config_path)
        else:
            settings[name] = param.get_default(ctx)
    if settings.get("data_dir") is not None:
        settings["data_dir"] = Path(settings["data_dir"])
    if settings.get("init_from") is not None:
        settings["init_from"] = str(settings["init_from"])
    settings["data_option"] = list(settings.get("data_option") or [])
    return settings, config


def config_value(ctx: click.Context, param: click.Parameter, config: dict[str, Any], path: Path) -> Any:
    """``config[param.name]`` converted and checked as the option would be."""
    value = config[param.name]
    if value is None:
        if param.name in NULLABLE or (param.name == "momentum" and config.get("optimizer") != "sgd"):
            return None
        raise click.ClickException(
            f'cannot resume: {path} has a bad "{param.name}": expected a {param.type.name}, received null'
        )
    if param.name == "model" and isinstance(config.get("model_spec"), dict):
        if isinstance(value, str):
            return value  # a model of --init-from: its architecture is in model_spec
    try:
        if getattr(param, "multiple", False):
            if not isinstance(value, list):
                raise click.BadParameter(f"expected a list, received {value!r}")
            return [param.type.convert(v, param, ctx) for v in value]
        if isinstance(value, (dict, list)) or (
            isinstance(value, bool) and not isinstance(param.type, click.types.BoolParamType)
        ):
            raise click.BadParameter(f"expected a {param.type.name}, received {value!r}")
        converted = param.type.convert(value, param, ctx)
        return param.callback(ctx, param, converted) if param.callback is not None else converted
    except click.BadParameter as err:
        raise click.ClickException(f'cannot resume: {path} has a bad "{param.name}": {err.message}') from None


def run_identity(settings: dict[str, Any]) -> dict[str, Any]:
    """What must match between a checkpoint and the run resuming it (all but the engine, the
    data folder, and the number of epochs, which --resume --epochs may raise)."""
    return {k: v for k, v in settings.items() if k not in ("engine", "data_dir", "epochs")}
