"""Model definitions: an architecture as a JSON file (its layer spec), read and written.

A definition is the spec of :mod:`convlens.layers.spec` on disk, so any network convlens can
build (a ``Sequential``, a ``Graph`` of the functional API) can be written by hand or saved,
then opened by ``cl.load`` and by every command that takes a model:

    {"class": "Graph", "config": {
        "inputs": [{"name": "image", "shape": [1, 28, 28]}],
        "nodes": [{"name": "conv", "layer": {"class": "Conv2d", "config": {
                       "in_channels": 1, "out_channels": 8, "kernel_size": 3}},
                   "inputs": ["image"]}, …],
        "outputs": ["logits"]}}

The layers start freshly initialized (``cl.manual_seed`` makes that repeatable); the weights
travel separately (``cl.save_weights`` / ``cl.load_weights``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from convlens.io import write_json
from convlens.io.formats import FormatError
from convlens.layers.module import Module
from convlens.layers.spec import SpecError, from_spec, to_spec


def read_definition(path: str | os.PathLike[str]) -> Module:
    """Build the model a definition file describes (fresh weights)."""
    path = Path(path)
    try:
        spec: Any = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise FormatError(f"cannot read the model definition {str(path)!r}: {error.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FormatError(f"{str(path)!r} is not a JSON model definition: {error}") from None
    try:
        return from_spec(spec)
    except SpecError as error:
        raise FormatError(f"{str(path)!r}: {error}") from None


def write_definition(model: Module, path: str | os.PathLike[str]) -> None:
    """Write ``model``'s architecture (not its weights) as a JSON definition, atomically."""
    write_json(path, to_spec(model))
