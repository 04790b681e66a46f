"""``cl.load(run_folder)``: the trained model of a folder written by ``convlens train``.

A run folder that holds ``model.convlens`` is read from that file (architecture, weights and
metadata in one). An older run folder holds only ``config.json`` and ``weights.npz``: the zoo
model its config names is rebuilt and the weights loaded (:func:`convlens.viz.run_folder.load_run`).
A run still training has only ``config.json`` and its checkpoint (``checkpoint.npz``, rewritten
after every epoch): the model gets the checkpoint's weights, those of the last finished epoch.
Without a model file, ``model.info`` is filled from ``config.json`` and ``metrics.json``
(classes, input shape, normalization, vocabulary, test metrics); the pictures' polarity and
framing are those of convlens's own data set the config names (mnist-5k: light digits on black,
centred as MNIST), unknown for other data.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from convlens.io.model_file import FOLDER_MODEL_FILE, ModelFileError, load_model_file
from convlens.io.model_info import KNOWN_POLARITY, MNIST_FRAMED, ModelInfo, Preprocessing
from convlens.layers.module import Module

MODEL_FILE = FOLDER_MODEL_FILE
WEIGHTS_FILE = "weights.npz"
CHECKPOINT_FILE = "checkpoint.npz"


def is_run_folder(path: Path, head: bytes = b"") -> bool:
    """A folder holding ``model.convlens``, or ``config.json`` with ``weights.npz`` or a
    checkpoint."""
    return path.is_dir() and ((path / MODEL_FILE).is_file() or (
        (path / "config.json").is_file()
        and any((path / name).is_file() for name in (WEIGHTS_FILE, CHECKPOINT_FILE))))


def checkpoint_weights(path: Path) -> dict[str, Any]:
    """The model weights of a training checkpoint (``{"model": {"state": …}}``)."""
    from convlens.training.checkpoint import read_checkpoint

    state = read_checkpoint(path)
    model = state.get("model") if isinstance(state, dict) else None
    if not isinstance(model, dict) or not isinstance(model.get("state"), dict):
        raise ValueError(f"{path} holds no model weights (expected a 'model' entry with a 'state')")
    return model["state"]


def load_run_folder(path: str | os.PathLike[str]) -> Module:
    """The trained model of a run folder, in eval mode, with ``model.info``; see the module
    docstring. Raises :class:`ModelFileError` naming the folder and what is missing or wrong."""
    from convlens.viz.run_folder import RunFolderError, build_run_model, load_run, read_config, read_metrics

    run = Path(path)
    if (run / MODEL_FILE).is_file():
        return load_model_file(run / MODEL_FILE)
    try:
        if (run / WEIGHTS_FILE).is_file():
            model, config = load_run(run)
        else:
            config = read_config(run)
            checkpoint = run / CHECKPOINT_FILE
            if not checkpoint.is_file():
                raise RunFolderError(f"it has neither {MODEL_FILE}, {WEIGHTS_FILE} nor {CHECKPOINT_FILE}: "
                                     "the run has not finished an epoch yet")
            model = build_run_model(run, config, checkpoint, lambda: checkpoint_weights(checkpoint))
    except RunFolderError as error:
        raise ModelFileError(f"cannot open the run folder {str(run)!r}: {error}") from None
    try:
        metrics = read_metrics(run)
    except (RunFolderError, OSError):
        metrics = {}
    model.info = info_from_run_config(config, metrics)
    return model


def info_from_run_config(config: dict[str, Any], metrics: dict[str, Any]) -> ModelInfo:
    """What ``config.json`` and ``metrics.json`` of a run tell about its model."""
    vocabulary = tuple(config.get("vocabulary") or ())
    input_shape = config.get("input_shape")
    normalization = config.get("normalization") or {}
    kind = "tokens" if vocabulary else {2: "signals", 3: "images", 4: "volumes"}.get(len(input_shape or ()))
    dataset = config.get("dataset")
    images = kind == "images" and not vocabulary
    pre = Preprocessing(
        kind=kind,
        value_range=(0.0, 1.0) if images else None,
        polarity=KNOWN_POLARITY.get(dataset) if images else None,
        framing="mnist" if images and dataset in MNIST_FRAMED else None,
        channels=None if vocabulary or not input_shape else int(input_shape[0]),
        size=None if vocabulary or not input_shape else tuple(input_shape[1:]),
        mean=normalization.get("mean"), std=normalization.get("std"),
        length=int(input_shape[0]) if vocabulary and input_shape else None,
        vocabulary=vocabulary,
    )
    if vocabulary:
        pre.tokens, pre.lowercase = _tokenization(str(dataset), config.get("data_option") or [])
    per_class = metrics.get("test_per_class") or []
    return ModelInfo(
        name=config.get("model"),
        task=config.get("task", "classification"),
        class_names=tuple(str(row.get("class")) for row in per_class if isinstance(row, dict)),
        input_shape=input_shape,
        input_dtype="int64" if vocabulary else "float32",
        preprocessing=pre,
        dataset=dataset,
        dataset_description=config.get("dataset_description", ""),
        metrics={k: metrics[k] for k in ("test_accuracy", "test_loss") if metrics.get(k) is not None},
        convlens_version=(config.get("versions") or {}).get("convlens"),
        created=config.get("created"),
    )


def _tokenization(dataset: str, data_options: list[str]) -> tuple[str, bool]:
    """How the run's text became tokens: words-lang reads lowercase characters; a ``text:``
    file words unless ``--data-option tokens=chars``, lowercased with ``lowercase=true``."""
    from convlens.data import parse_options

    if dataset == "words-lang":
        return "chars", True
    try:
        options = parse_options(data_options)
    except ValueError:
        options = {}
    return str(options.get("tokens", "words")), bool(options.get("lowercase", False))
