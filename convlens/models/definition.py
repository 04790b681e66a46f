"""Model definition files: a network written as TOML or JSON, no Python needed.

A definition lists the layers in order, one table each, ``type`` naming the layer class and
the other keys its arguments (those of ``cl.Conv2d(...)`` and so on)::

    name = "my_net"
    input_shape = [1, 28, 28]          # C, H, W of one input (used by `convlens summary`)

    [[layers]]
    type = "Conv2d"
    in_channels = 1
    out_channels = 6
    kernel_size = 5
    padding = 2

    [[layers]]
    type = "ReLU"

Layers are numbered from 0, as ``convlens summary`` and ``state_dict`` number them. A layer
that holds other layers takes them as lists of the same tables: ``Residual`` a ``body`` (and
an optional ``shortcut``; without one the input is added unchanged), ``Sequential`` its
``layers``, ``Concat`` its ``branches`` (each a list of layers, or a table with ``layers``).
In TOML a nested list is written ``[[layers.body]]`` under its ``[[layers]]`` table. A table
``{shared = "2"}`` reuses the layer at that place (its dotted name) instead of a new one:
both places then hold the same weights.

With ``input_shape``, each top-level layer is tried on a zero input as it is built: a layer
that does not fit is named with the size it receives, and the input size of a Conv, Linear or
norm layer (``in_channels``, ``in_features``, ``num_features``, ``num_channels``) may be left
out: it is read off the previous layer's output.

The architecture stored in a ``.convlens`` model file (``{"class": …, "config": …}``, see
:mod:`convlens.layers.spec`) is accepted as well, alone or under the key ``architecture``.
Errors name the file, the layer (its number and type) and the key.
"""

from __future__ import annotations

import difflib
import inspect
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from convlens.io.formats import FormatError
from convlens.io.model_info import ModelInfo
from convlens.layers.module import Module, layer_class
from convlens.layers.spec import SpecError, from_spec

SUFFIXES = (".toml", ".json")
TOP_LEVEL_KEYS = ("name", "input_shape", "class_names", "notes", "layers", "architecture")
# keys of a container that hold child layers (lists of layer tables) rather than arguments
CHILD_KEYS = {"Sequential": ("layers",), "Residual": ("body", "shortcut"), "Concat": ("branches",)}


class DefinitionError(FormatError):
    """A definition file that cannot be read or built: the message names the file, the
    layer (number and type) and the key."""


def read_definition(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The parsed content of a ``.toml`` or ``.json`` file (a table)."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in SUFFIXES:
        raise DefinitionError(f"{target}: expected a model definition ending in .toml or .json, "
                              f"received {target.suffix or 'no suffix'}")
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DefinitionError(f"{target}: no such model definition file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise DefinitionError(f"{target}: cannot be read: {error}") from None
    if suffix == ".toml":
        toml = _toml_module()
        try:
            data = toml.loads(text)
        except toml.TOMLDecodeError as error:
            raise DefinitionError(f"{target}: not valid TOML: {error}") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise DefinitionError(f"{target}: not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise DefinitionError(f"{target}: expected a table with a 'layers' list, "
                              f"received {type(data).__name__}")
    return data


def _toml_module() -> Any:
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    import tomli  # Python 3.10: the same parser, from PyPI (a dependency there)

    return tomli


def load_definition(path: str | os.PathLike[str]) -> Module:
    """Build the network a definition file describes, freshly initialized (seed it with
    ``cl.manual_seed`` first). ``model.info`` holds its name, input shape and class names.

    Raises:
        DefinitionError: the file is missing, not valid TOML/JSON, or a layer has an unknown
            type, an unknown or missing key, or a value its class refuses.
    """
    target = Path(path)
    data = read_definition(target)
    model = build_definition(data, str(target))
    return model


def build_definition(data: dict[str, Any], source: str = "definition") -> Module:
    """:func:`load_definition` for content already parsed (``source`` names it in errors)."""
    unknown = [k for k in data if k not in TOP_LEVEL_KEYS and k not in ("class", "config")]
    if unknown:
        raise DefinitionError(f"{source}: unknown top-level key {unknown[0]!r}; expected "
                              f"{', '.join(TOP_LEVEL_KEYS)}")
    if "class" in data:
        spec, root = data, "model"
    elif isinstance(data.get("architecture"), dict):
        spec, root = data["architecture"], "model"
    elif "layers" in data:
        if not isinstance(data["layers"], list) or not data["layers"]:
            raise DefinitionError(f"{source}: 'layers' must be a non-empty list of layer tables "
                                  "([[layers]] in TOML)")
    else:
        raise DefinitionError(f"{source}: no layers: expected a 'layers' list ([[layers]] tables in "
                              "TOML), each with a 'type'")
    if "layers" in data and "class" not in data and not isinstance(data.get("architecture"), dict):
        model = _build_in_order(data["layers"], _input_shape(data.get("input_shape"), source), source)
    else:
        try:
            model = from_spec(spec, root)
        except SpecError as error:
            raise DefinitionError(f"{source}: {_friendly(str(error))}") from None
    try:
        model.info = ModelInfo(name=data.get("name") or Path(source).stem,
                               input_shape=data.get("input_shape"),
                               class_names=tuple(data.get("class_names") or ()),
                               notes=str(data.get("notes") or ""))
    except (TypeError, ValueError) as error:
        raise DefinitionError(f"{source}: input_shape must be a list of sizes such as [1, 28, 28], "
                              f"class_names a list of names ({error})") from None
    return model


# the size a layer can read off its input when the file leaves it out: (argument, axis)
_SIZE_FROM_INPUT = {
    **{f"Conv{n}d": ("in_channels", 1) for n in (1, 2, 3)},
    **{f"{kind}{n}d": ("num_features", 1) for kind in ("BatchNorm", "InstanceNorm") for n in (1, 2, 3)},
    "GroupNorm": ("num_channels", 1),
    "Linear": ("in_features", -1),
}


def _input_shape(value: Any, source: str) -> tuple[int, ...] | None:
    if value is None:
        return None
    if (not isinstance(value, list) or not value
            or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in value)):
        raise DefinitionError(f"{source}: input_shape must be a list of positive sizes without the batch "
                              f"axis, such as [1, 28, 28], received {_short(value)}")
    return tuple(value)


def _build_in_order(entries: list[Any], input_shape: tuple[int, ...] | None, source: str) -> Module:
    """The layers of a flat definition, built one after the other. With ``input_shape``, a zero
    input goes through each new layer: a layer that does not fit is named with the size it
    receives, and a Conv / Linear / norm layer may leave out its input size (``in_channels``,
    ``in_features``, ``num_features``), which is read off that input."""
    import numpy as np

    from convlens.functional.engine import no_grad
    from convlens.layers.container import Sequential
    from convlens.layers.spec import _BUILDING, _Building

    x = None
    if input_shape is not None:
        first = entries[0] if isinstance(entries[0], dict) else {}
        x = np.zeros((1, *input_shape), np.int64 if first.get("type") == "Embedding" else np.float32)
    layers = []
    token = _BUILDING.set(_Building("layers"))  # one tree: `shared` may name any earlier layer
    try:
        for i, entry in enumerate(entries):
            where = f"layers.{i}"
            kind = entry.get("type") if isinstance(entry, dict) else None
            if x is not None and kind in _SIZE_FROM_INPUT:
                key, axis = _SIZE_FROM_INPUT[kind]
                if key not in entry and x.ndim >= 2:
                    entry = {**entry, key: int(x.shape[axis])}
            try:
                layer = from_spec(_to_spec(entry, where, source), where)
            except SpecError as error:
                raise DefinitionError(f"{source}: {_friendly(str(error))}") from None
            layers.append(layer)
            if x is None:
                continue
            received = tuple(x.shape[1:])
            try:
                with no_grad():
                    layer.eval()
                    x = layer(x)
            except (ValueError, TypeError, IndexError) as error:
                raise DefinitionError(
                    f"{source}: {_place(where, type(layer).__name__)}: {error} (with input_shape "
                    f"{list(input_shape or ())}, this layer receives {received} per example)") from None
            finally:
                layer.train()
    finally:
        _BUILDING.reset(token)
    return Sequential(*layers)


def _friendly(message: str) -> str:
    """``layers.3 (Conv2d): …`` → ``layer 3 (Conv2d): …``."""
    return re.sub(r"^layers\.(\d+)", r"layer \1", message)


def _place(where: str, kind: str | None = None) -> str:
    text = _friendly(where)
    return f"{text} ({kind})" if kind else text


def _children(value: Any, where: str, source: str) -> list[dict[str, Any]]:
    items = value if isinstance(value, list) else [value]
    return [_to_spec(item, f"{where}.{i}", source) for i, item in enumerate(items)]


def _child(value: Any, where: str, source: str) -> dict[str, Any]:
    """One child place: a layer table, a spec, a shared reference, or a list (a Sequential)."""
    if isinstance(value, list):
        return {"class": "Sequential", "config": {"layers": _children(value, where, source)}}
    if isinstance(value, dict) and set(value) == {"layers"}:
        return {"class": "Sequential", "config": {"layers": _children(value["layers"], where, source)}}
    return _to_spec(value, where, source)


def _to_spec(entry: Any, where: str, source: str) -> dict[str, Any]:
    """A layer table ``{type = …, arguments…}`` as a spec, its keys checked against the class."""
    if isinstance(entry, dict) and ("class" in entry or set(entry) == {"shared"}):
        return entry  # already a spec, or a shared reference (checked when built)
    if not isinstance(entry, dict) or "type" not in entry:
        raise DefinitionError(f"{source}: {_place(where)}: expected a table with a 'type' (the layer "
                              f"class, e.g. type = \"Conv2d\"), received {_short(entry)}")
    kind = entry["type"]
    cls = layer_class(kind) if isinstance(kind, str) else None
    if cls is None or not issubclass(cls, Module):
        raise DefinitionError(f"{source}: {_place(where)}: unknown layer type {kind!r}{_suggest(kind)}")
    arguments = {k: v for k, v in entry.items() if k != "type"}
    accepted, required = _signature(cls)
    for key in arguments:
        if key not in accepted:
            hint = _suggest(key, accepted)
            raise DefinitionError(f"{source}: {_place(where, kind)}: unknown key {key!r}{hint}; "
                                  f"{kind} takes {', '.join(accepted) or 'no arguments'}")
    for key in required:
        if key not in arguments:
            raise DefinitionError(f"{source}: {_place(where, kind)}: missing key {key!r}; {kind} needs "
                                  f"{', '.join(required)}")
    for key in CHILD_KEYS.get(cls.__name__, ()):
        if key in arguments and arguments[key] is not None:
            value = arguments[key]
            if key in ("layers", "branches"):
                if not isinstance(value, list):
                    raise DefinitionError(f"{source}: {_place(where, kind)}: {key!r} must be a list, "
                                          f"received {_short(value)}")
                make = _to_spec if key == "layers" else _child
                arguments[key] = [make(v, f"{where}.{'branches.' if key == 'branches' else ''}{i}", source)
                                  for i, v in enumerate(value)]
            else:
                arguments[key] = _child(value, f"{where}.{key}", source)
    return {"class": kind, "config": arguments}


def _signature(cls: type) -> tuple[list[str], list[str]]:
    """The keys a layer class takes (its constructor's arguments; ``*args`` under their name,
    as its config names them) and those it needs."""
    accepted, required = [], []
    for p in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        if p.kind is p.VAR_KEYWORD or p.name.startswith("_"):
            continue
        accepted.append(p.name)
        if p.kind is p.VAR_POSITIONAL:
            required.append(p.name)
        elif p.default is p.empty:
            required.append(p.name)
    return accepted, required


def _suggest(word: Any, choices: list[str] | None = None) -> str:
    if not isinstance(word, str):
        return ""
    if choices is None:
        from convlens.layers import __all__ as layer_names

        choices = list(layer_names)
    lowered = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return f" (did you mean {lowered[close[0]]!r}?)" if close else ""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- a zoo name or a file ------------------------------------------------------------------
# the builder arguments `convlens train` passes, and how to read each off a built model
_SIZE_ARGUMENTS = ("in_channels", "num_classes", "vocab_size", "input_size")


def is_definition_path(text: str | os.PathLike[str]) -> bool:
    return Path(text).suffix.lower() in SUFFIXES


def resolve_model(name_or_path: str | os.PathLike[str], **builder_kwargs: Any) -> Module:
    """A zoo model by name (``builder_kwargs`` go to its builder) or the network of a ``.toml``
    / ``.json`` definition file.

    For a definition, ``builder_kwargs`` may give the sizes the data needs (``in_channels``,
    ``num_classes``, ``vocab_size``, ``input_size``): they are checked against the file
    (the first layer's input channels or vocabulary, the last layer's outputs, the input
    shape) and a mismatch is a :class:`DefinitionError` that names both.
    """
    from convlens.models.registry import available_models, get_model

    text = os.fspath(name_or_path)
    if text in available_models():
        return get_model(text, **builder_kwargs)
    if not is_definition_path(text):
        raise ValueError(f"unknown model {text!r}: expected a zoo model ({', '.join(available_models())}) "
                         "or a model definition file ending in .toml or .json")
    unknown = sorted(set(builder_kwargs) - set(_SIZE_ARGUMENTS))
    if unknown:
        raise TypeError(f"a model definition takes no {', '.join(unknown)} (only "
                        f"{', '.join(_SIZE_ARGUMENTS)}, which are checked against the file)")
    model = load_definition(text)
    check_sizes(model, text, **builder_kwargs)
    return model


def check_sizes(model: Module, source: str, **sizes: Any) -> None:
    """Raise :class:`DefinitionError` when ``model`` does not fit the data's sizes."""
    from convlens.layers import Conv1d, Conv2d, Conv3d, Embedding, Linear

    leaves = [(name, m) for name, m in model.named_modules() if not any(True for _ in m.children())]
    first = next(((n, m) for n, m in leaves if isinstance(m, (Conv1d, Conv2d, Conv3d, Linear, Embedding))),
                 None)
    last = next(((n, m) for n, m in reversed(leaves) if isinstance(m, (Conv1d, Conv2d, Conv3d, Linear))),
                None)
    checks = []
    if first is not None:
        name, layer = first
        if isinstance(layer, Embedding):
            checks.append(("vocab_size", layer.num_embeddings, name, layer, "num_embeddings"))
        else:
            key = "in_features" if isinstance(layer, Linear) else "in_channels"
            checks.append(("in_channels", getattr(layer, key), name, layer, key))
    if last is not None:
        name, layer = last
        key = "out_features" if isinstance(layer, Linear) else "out_channels"
        checks.append(("num_classes", getattr(layer, key), name, layer, key))
    for argument, has, name, layer, key in checks:
        wanted = sizes.get(argument)
        if wanted is not None and int(wanted) != int(has) and not (
                argument == "in_channels" and isinstance(layer, Linear)):
            place = _place("layers." + name, type(layer).__name__)
            raise DefinitionError(f"{source}: the data needs {argument} = {wanted}, but {place} "
                                  f"has {key} = {has}; change it in the file")
    info = getattr(model, "info", None)
    if sizes.get("input_size") is not None and info is not None and info.input_shape:
        if tuple(info.input_shape[-2:]) != (sizes["input_size"],) * 2:
            raise DefinitionError(f"{source}: input_shape is {list(info.input_shape)}, but the data's "
                                  f"images are {sizes['input_size']}×{sizes['input_size']}")
