"""Reading a run folder written by ``convlens train``: the model, its settings, its data.

A run folder holds ``config.json`` (the model's name and every setting), ``weights.npz``
(``model.state_dict()``) and ``metrics.json`` (test results and the per-epoch history).
:func:`load_run` rebuilds the zoo model the config names and loads the weights into it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from convlens.data import Dataset, load_dataset, parse_options
from convlens.io import load_arrays
from convlens.layers.module import Module

CONFIG, WEIGHTS, METRICS = "config.json", "weights.npz", "metrics.json"


class RunFolderError(ValueError):
    """A run folder that is missing, incomplete, or does not fit the model it names."""


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise RunFolderError(f"{path} is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise RunFolderError(f"{path}: expected a JSON object, received {type(data).__name__}")
    return data


def read_config(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """``config.json`` of a run folder, checked to name a model."""
    run = Path(run_dir)
    if not run.is_dir():
        raise RunFolderError(
            f"{run} is not a folder: expected a run folder written by `convlens train` "
            f"(with {WEIGHTS}, {CONFIG} and {METRICS})"
        )
    path = run / CONFIG
    if not path.is_file():
        raise RunFolderError(f"{run} has no {CONFIG}: is it a run folder written by `convlens train`?")
    config = _read_json(path)
    if not isinstance(config.get("model"), str):
        raise RunFolderError(f"{path} does not say which model was trained (no \"model\" entry)")
    return config


def read_metrics(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """``metrics.json`` of a run folder (``RunFolderError`` when it is missing)."""
    path = Path(run_dir) / METRICS
    if not path.is_file():
        raise RunFolderError(f"{Path(run_dir)} has no {METRICS}")
    return _read_json(path)


def _shapes_from_weights(state: dict[str, np.ndarray]) -> dict[str, int]:
    """``in_channels`` and ``num_classes`` read off the weights: the first convolution's
    input channels and the last matrix's rows (used when config.json does not record them)."""
    found: dict[str, int] = {}
    arrays = list(state.values())
    for a in arrays:
        if a.ndim >= 3:
            found["in_channels"] = int(a.shape[1])
            break
    for a in reversed(arrays):
        if a.ndim == 2:
            found["num_classes"] = int(a.shape[0])
            break
    return found


def _load_defined(run: Path, config: dict[str, Any], weights_path: Path,
                  state: dict[str, np.ndarray]) -> Module:
    """The model of a run trained from a JSON definition: its spec, then its weights."""
    from convlens.layers.spec import SpecError, from_spec

    try:
        model = from_spec(config["model_spec"])
        model.load_state_dict(state)
    except SpecError as err:
        raise RunFolderError(f"{run / CONFIG}: the model_spec does not describe a model: {err}") from None
    except (OSError, KeyError, ValueError) as err:
        message = err.args[0] if err.args else str(err)
        raise RunFolderError(f"{weights_path} does not fit the model of {run / CONFIG}: {message}") from None
    return model


def load_run(run_dir: str | os.PathLike[str]) -> tuple[Module, dict[str, Any]]:
    """Rebuild the trained model of a run folder: ``(model, config)``.

    The model is ``convlens.models.get_model(config["model"], in_channels=…, num_classes=…)``
    (``vocab_size=…`` instead of ``in_channels`` for a model of token ids)
    with the weights of ``weights.npz`` loaded into it (strictly: every array must fit). The
    channel and class counts come from ``config.json`` when it records them, otherwise from
    the shapes in ``weights.npz``.

    Raises:
        RunFolderError: a missing folder or file, an unknown model name, or weights that do
            not fit the model (the message names the keys or shapes).
    """
    run = Path(run_dir)
    config = read_config(run)
    weights_path = run / WEIGHTS
    if not weights_path.is_file():
        raise RunFolderError(f"{run} has no {WEIGHTS}: the run did not save its weights")
    return build_run_model(run, config, weights_path, lambda: load_arrays(weights_path)), config


def build_run_model(run: Path, config: dict[str, Any], weights_path: Path,
                    read_state: Callable[[], dict[str, np.ndarray]]) -> Module:
    """The model ``config.json`` describes (a zoo name or a ``model_spec``) with the weights
    ``read_state()`` reads from ``weights_path`` (``weights.npz``, or the checkpoint of a run
    still training), in eval mode. Raises :class:`RunFolderError` as :func:`load_run`."""
    import convlens as cl

    name = config["model"]
    if "model_spec" not in config and name not in cl.models.available_models():
        raise RunFolderError(
            f"{run / CONFIG} names the model {name!r}, which this convlens does not know; "
            f"known models: {', '.join(cl.models.available_models())}"
        )
    try:
        state = read_state()
    except (OSError, ValueError) as err:
        raise RunFolderError(f"cannot read {weights_path}: {err}") from None
    if "model_spec" in config:   # trained from a JSON model definition: its spec is kept here
        return _load_defined(run, config, weights_path, state).eval()
    kwargs = {} if "vocab_size" in config else _shapes_from_weights(state)  # token models: no channels
    kwargs.update({k: int(config[k]) for k in ("in_channels", "vocab_size", "num_classes", "input_size")
                   if k in config})
    try:
        model = cl.models.get_model(name, **kwargs)
    except TypeError:  # a builder without these arguments
        model = cl.models.get_model(name)
    try:
        model.load_state_dict(state)
    except (KeyError, ValueError) as err:
        message = err.args[0] if err.args else str(err)
        raise RunFolderError(
            f"{weights_path} does not fit the model {name!r} named in {CONFIG}: {message}") from None
    return model.eval()


def load_run_dataset(config: dict[str, Any]) -> Dataset:
    """The dataset of a run, cut to the run's ``limit_train``/``limit_test`` if it had them."""
    name = config.get("dataset")
    if not isinstance(name, str):
        raise RunFolderError("config.json does not say which dataset was used (no \"dataset\" entry)")
    try:
        dataset = load_dataset(name, config.get("data_dir"), **parse_options(config.get("data_option") or []))
    except (FileNotFoundError, ValueError) as err:
        raise RunFolderError(f"cannot load the run's dataset {name!r}: {err}") from None
    dataset = dataset.subset(config.get("limit_train"), config.get("limit_test"))
    stats = config.get("normalization")
    if config.get("normalize") and stats:
        # the run trained on standardized inputs (`convlens train --normalize`): use its statistics
        from convlens.data import Normalize

        normalizer = Normalize(stats["mean"], stats["std"])
        dataset = dataset.replace(x_train=normalizer(dataset.x_train), x_test=normalizer(dataset.x_test))
    return dataset
