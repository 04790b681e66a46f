"""The MODEL of a command: a zoo model's name, or a JSON model definition file.

A definition is a layer spec on disk (:mod:`convlens.io.definition`): any ``Sequential`` or
``Graph`` built with the functional API, saved with ``cl.io.formats.export(model,
"net.json")`` or written by hand. Commands that build a model from MODEL accept either.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from convlens.layers.module import Module


def model_names() -> list[str]:
    from convlens.models import available_models

    return available_models()


def is_definition(value: str) -> bool:
    """Whether MODEL names a definition file rather than a zoo model."""
    return value.lower().endswith(".json")


class ModelArgument(click.ParamType):
    """A zoo model name or the path of an existing ``.json`` model definition."""

    name = "model"

    def get_metavar(self, param: click.Parameter, *args: Any, **kwargs: Any) -> str:
        return "MODEL"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        value = str(value)
        if value in model_names():
            return value
        if is_definition(value):
            if Path(value).is_file():
                return value
            self.fail(f"no model definition file {value!r}", param, ctx)
        self.fail(f"expected a zoo model ({', '.join(model_names())}) or a model definition "
                  f"file (.json), received {value!r}", param, ctx)


def load_definition(value: str) -> Module:
    """The model a definition file describes; a bad file is one clear error, no traceback."""
    from convlens.io.definition import read_definition
    from convlens.io.formats import FormatError

    try:
        return read_definition(value)
    except FormatError as err:
        raise click.ClickException(str(err)) from None


def read_spec_json(value: str) -> Any:
    """The spec a definition file holds, as JSON data (a run folder keeps a copy)."""
    import json

    return json.loads(Path(value).read_text(encoding="utf-8"))


def model_label(value: str) -> str:
    """A short name for MODEL in folder names and titles: the file's stem for a definition."""
    return Path(value).stem if is_definition(value) else value


def definition_input_shape(model: Module) -> tuple[int, ...] | None:
    """The input shape a graph model declares (its first ``cl.Input``), else ``None``."""
    from convlens.layers.graph import Graph

    return tuple(model.input_shapes[0]) if isinstance(model, Graph) else None
