"""The MODEL argument of ``summary``, ``explain`` and ``visualize``: besides a zoo name, a model
definition (``.toml`` / ``.json``), a ``.convlens`` model file or a run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

#: what MODEL may be, for --help texts
MODEL_HELP = "a zoo model name, a model definition (.toml, .json), a .convlens model file or a run folder"


def is_zoo_name(text: str) -> bool:
    from convlens.models import available_models

    return text in available_models()


def open_model(text: str, param_hint: str = "MODEL") -> Any:
    """The model a MODEL argument that is not a zoo name stands for (``model.info`` says its
    input shape); click errors for anything else."""
    from convlens.io.formats import FormatError, MissingExtraError, load
    from convlens.models import available_models
    from convlens.models.definition import is_definition_path, load_definition

    path = Path(text)
    try:
        if is_definition_path(text) and (path.is_file() or not path.exists()) and not _is_tfjs(path):
            return load_definition(path)
        if path.exists():
            return load(path)
    except (FormatError, MissingExtraError) as error:
        raise click.ClickException(str(error)) from None
    raise click.BadParameter(
        f"expected {MODEL_HELP}; received {text!r}, which is none of these (zoo models: "
        f"{', '.join(available_models())})", param_hint=param_hint)


def _is_tfjs(path: Path) -> bool:
    """A TensorFlow.js ``model.json`` is a model file, not a convlens definition."""
    from convlens.io.keras.tfjs import is_tfjs_model

    return path.is_file() and is_tfjs_model(path, b"")


def reads_tokens(model: Any) -> bool:
    """Whether ``model`` starts with an ``Embedding`` (it reads integer token ids)."""
    from convlens.layers import Embedding

    leaves = [m for m in model.modules() if not any(True for _ in m.children())]
    return bool(leaves) and isinstance(leaves[0], Embedding)


def info_input_shape(model: Any) -> tuple[int, ...] | None:
    """The input shape ``model.info`` records, else a graph model's (first) ``cl.Input``."""
    from convlens.layers.graph import Graph

    info = getattr(model, "info", None)
    shape = getattr(info, "input_shape", None)
    if shape:
        return tuple(shape)
    return tuple(model.input_shapes[0]) if isinstance(model, Graph) else None
