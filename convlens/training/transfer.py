"""Building on a trained model: start from its weights, freeze layers, give it a new head.

>>> model, source = load_pretrained("runs/mnist")  # a run folder or a model file  # doctest: +SKIP
>>> replace_head(model, num_classes=5)  # the last Linear, fresh weights           # doctest: +SKIP
>>> frozen = freeze(model, "0,3")  # layers by their summary names, globs, ranges  # doctest: +SKIP
>>> norms = frozen_batch_norms(model, frozen)                                      # doctest: +SKIP
>>> trainer = Trainer(..., callbacks=[KeepFrozenInEval(norms)])                    # doctest: +SKIP

Frozen parameters get ``requires_grad=False`` (optimizers skip them, so they stay bit-identical)
and the BatchNorm layers among the frozen ones stay in eval mode, so their running statistics do
not move either.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from convlens.training.callbacks import Callback


class TransferError(ValueError):
    """A model to start from that cannot be read or used; the message names the file."""


@dataclass
class Pretrained:
    """Where the starting weights came from and what is known about them."""

    source: Path
    model_name: str | None  # the zoo name, for a run folder of a zoo model
    class_names: list[str] | None


def _from_run_folder(folder: Path) -> tuple[Any, Pretrained]:
    """A run folder without ``model.convlens`` (made before that file existed): the model its
    config.json names, with its ``weights.npz`` (:func:`convlens.viz.run_folder.load_run`)."""
    from convlens.viz.run_folder import RunFolderError, load_run

    if not (folder / "weights.npz").is_file():
        raise TransferError(
            f"{folder} has no weights.npz (the run did not finish; finish it with "
            f"`convlens train --resume {folder}` first)"
        )
    try:
        model, config = load_run(folder)
    except RunFolderError as err:
        raise TransferError(str(err)) from None
    name, names = config.get("model"), config.get("class_names")
    return model.train(), Pretrained(folder, name if isinstance(name, str) else None,
                                      [str(c) for c in names] if isinstance(names, list) else None)


def load_pretrained(path: str | os.PathLike[str]) -> tuple[Any, Pretrained]:
    """The model in ``path`` (a run folder, or any file :func:`convlens.io.formats.load` reads).

    Raises:
        TransferError: missing, unreadable or unusable; the message names the file.
    """
    source = Path(path)
    if not source.exists():
        raise TransferError(f"no such run folder or model file: {source}")
    if source.is_dir() and (source / "model.convlens").is_file():
        source = source / "model.convlens"  # a run folder with its model file: architecture and all
    if source.is_dir():
        if not (source / "config.json").is_file():
            raise TransferError(
                f"{source} is a folder without config.json: not a run folder of `convlens train`"
            )
        return _from_run_folder(source)
    from convlens.io import formats

    try:
        model = formats.load(source)
    except (OSError, ValueError, ImportError) as err:
        raise TransferError(f"cannot start from {source}: {err}") from None
    info = getattr(model, "info", None)  # a model file's metadata
    names = getattr(info, "class_names", None)
    zoo_name = getattr(info, "name", None)
    from convlens import models

    return model, Pretrained(source.parent if source.name == "model.convlens" else source,
                             zoo_name if zoo_name in models.available_models() else None,
                             [str(c) for c in names] if names else None)


def _parent_of(model: Any, name: str) -> tuple[Any, str]:
    parent_name, _, attribute = name.rpartition(".")
    parent = dict(model.named_modules())[parent_name]
    return parent, attribute


def replace_head(model: Any, num_classes: int) -> str:
    """Replace the last ``Linear`` by a freshly initialized one with ``num_classes`` outputs;
    returns its name (as ``summary`` shows it).

    Raises:
        TransferError: the model has no Linear layer.
    """
    from convlens.layers.container import Sequential
    from convlens.layers.linear import Linear

    linears = [(name, m) for name, m in model.named_modules() if isinstance(m, Linear) and name]
    if not linears:
        raise TransferError(f"{type(model).__name__} has no Linear layer to replace by a new classifier head")
    name, old = linears[-1]
    new = Linear(old.in_features, num_classes, bias=old.bias is not None, dtype=old.weight.data.dtype)
    parent, attribute = _parent_of(model, name)
    if isinstance(parent, Sequential):
        parent.layers[int(attribute)] = new
    else:
        setattr(parent, attribute, new)
    return name


def _matches(item: str, name: str) -> bool:
    if "-" in item and all(part.isdigit() for part in item.split("-", 1)):
        low, high = (int(part) for part in item.split("-", 1))
        return name.isdigit() and low <= int(name) <= high
    return fnmatch.fnmatchcase(name, item)


def freeze(model: Any, pattern: str) -> list[str]:
    """Freeze the layers ``pattern`` names: a comma list of layer names as ``summary`` shows
    them (``0``, ``3``, ``features.0``), globs (``features.*``) or ranges (``0-5``). Returns
    the frozen layers' names.

    Raises:
        ValueError: an item matches no layer (the message lists the layers).
    """
    items = [item.strip() for item in pattern.split(",")]
    modules = [(name, m) for name, m in model.named_modules() if name]
    if not items or any(not item for item in items):
        raise ValueError(f"expected a comma list of layer names, received {pattern!r}")
    chosen: dict[str, Any] = {}
    for item in items:
        hits = [(name, m) for name, m in modules if _matches(item, name)]
        if not hits:
            listing = ", ".join(f"{name} {type(m).__name__}" for name, m in modules[:40])
            raise ValueError(f"{item!r} matches no layer; the layers are: {listing}")
        chosen.update(hits)
    for module in chosen.values():
        for parameter in module.parameters():
            parameter.requires_grad = False
    return sorted(chosen, key=[name for name, _ in modules].index)


def frozen_batch_norms(model: Any, frozen: list[str]) -> list[Any]:
    """The BatchNorm layers inside the frozen layers."""
    from convlens.layers.normalization import _BatchNorm

    named = dict(model.named_modules())
    found: dict[int, Any] = {}
    for name in frozen:
        for module in named[name].modules():
            if isinstance(module, _BatchNorm):
                found[id(module)] = module
    return list(found.values())


class KeepFrozenInEval(Callback):
    """Keep frozen BatchNorm layers in eval mode during training (their running statistics stay)."""

    def __init__(self, layers: list[Any]) -> None:
        self.layers = layers

    def on_epoch_begin(self, trainer: Any, epoch: int) -> None:
        for layer in self.layers:
            layer.training = False


def trainable_summary(model: Any) -> tuple[int, int]:
    """``(trainable, frozen)`` parameter counts."""
    trainable = sum(int(np.prod(p.shape)) for p in model.parameters() if p.requires_grad)
    return trainable, model.num_parameters() - trainable
