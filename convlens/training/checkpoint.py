"""Checkpoint files: a training state as ``NAME.npz`` (arrays) + ``NAME.json`` (the rest).

A training state is a nested structure of dicts, lists, numbers, strings and arrays (model
weights, momentum buffers, the best weights early stopping keeps). :func:`flatten` moves every
array into a flat ``{"path/to/array": array}`` dict and leaves ``{"__array__": "path/to/array"}``
in its place, so the arrays go to an ``.npz`` file (read back with ``allow_pickle=False``) and
the rest to JSON. Nothing is pickled: loading a checkpoint can never run code.

Writing is atomic as a pair. Both files are first written in full to temporary files beside
the targets (a full disk fails here, before anything is replaced), then moved into place one
after the other. Both carry the same random ``save_id``; if a hard crash ever fell between the
two moves, :func:`read_checkpoint` sees two different ids and says so, instead of resuming
from a mixed state.

Random generators: :func:`generator_states` finds every ``numpy.random.Generator`` a training
run draws from (convlens's global one, a layer's own, a data loader's shuffling generator and
those of any transforms it holds) so a checkpoint can put each one back where it was.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from convlens import io, random
from convlens.layers.module import Module

FORMAT = "convlens-checkpoint"
VERSION = 1
_ARRAY = "__array__"


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable, or does not fit the training setup."""


class CheckpointSaveError(OSError):
    """Writing a checkpoint failed (e.g. a full disk); the previous checkpoint is intact.

    ``errno`` is the cause's (``errno.ENOSPC`` for a full disk).
    """

    def __str__(self) -> str:
        return str(self.strerror)


def checkpoint_paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """``(NAME.npz, NAME.json)`` for ``path`` given as ``NAME``, ``NAME.npz`` or ``NAME.json``."""
    path = Path(path)
    if path.suffix in (".npz", ".json"):
        path = path.with_suffix("")
    return path.with_name(path.name + ".npz"), path.with_name(path.name + ".json")


def checkpoint_exists(path: str | os.PathLike[str]) -> bool:
    return all(p.is_file() for p in checkpoint_paths(path))


# -- nested state <-> JSON tree + arrays ---------------------------------------------------------


def flatten(state: Any, prefix: str = "") -> tuple[Any, dict[str, np.ndarray]]:
    """Split ``state`` into a JSON-ready tree and the arrays it referenced (see module doc)."""
    arrays: dict[str, np.ndarray] = {}

    def walk(value: Any, path: str) -> Any:
        if isinstance(value, np.ndarray):
            arrays[path] = value
            return {_ARRAY: path}
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, dict):
            return {str(k): walk(v, f"{path}/{k}" if path else str(k)) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(v, f"{path}/{i}" if path else str(i)) for i, v in enumerate(value)]
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        raise TypeError(f"cannot store {type(value).__name__} at {path!r} in a checkpoint")

    return walk(state, prefix), arrays


def unflatten(tree: Any, arrays: dict[str, np.ndarray]) -> Any:
    """Inverse of :func:`flatten`."""
    if isinstance(tree, dict):
        if set(tree) == {_ARRAY}:
            key = tree[_ARRAY]
            if key not in arrays:
                raise CheckpointError(f"the checkpoint's .npz file lacks the array {key!r}")
            return arrays[key]
        return {k: unflatten(v, arrays) for k, v in tree.items()}
    if isinstance(tree, list):
        return [unflatten(v, arrays) for v in tree]
    return tree


# -- files ---------------------------------------------------------------------------------------


def write_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``state`` as ``NAME.npz`` + ``NAME.json``, atomically as a pair.

    Raises:
        CheckpointSaveError: the files could not be written (full disk, permissions); both
            files of the previous checkpoint, if any, are untouched.
    """
    npz_path, json_path = checkpoint_paths(path)
    save_id = uuid.uuid4().hex
    tree, arrays = flatten(state)
    document = {"format": FORMAT, "version": VERSION, "save_id": save_id, "state": tree}
    try:
        text = json.dumps(document, indent=1, allow_nan=True) + "\n"
        # the JSON file is staged completely first; it is moved into place only after the
        # arrays have been written and moved, so every byte is on disk before any rename
        with io.atomic_write(json_path, "w") as json_file:
            json_file.write(text)
            json_file.flush()
            os.fsync(json_file.fileno())
            with io.atomic_write(npz_path, "wb") as npz_file:
                np.savez(npz_file, __save_id__=np.array(save_id), **arrays)  # type: ignore[arg-type]
    except OSError as err:
        raise CheckpointSaveError(
            err.errno,
            f"could not write the checkpoint {npz_path.name}/{json_path.name} in "
            f"{npz_path.parent}: {err.strerror or err}. The previous checkpoint there (if any) is intact",
        ) from err
    return npz_path, json_path


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The state saved by :func:`write_checkpoint` at ``path``.

    Raises:
        CheckpointError: a file is missing, unreadable, of another format, or the two files
            come from different saves.
    """
    npz_path, json_path = checkpoint_paths(path)
    missing = [p.name for p in (npz_path, json_path) if not p.is_file()]
    if missing:
        where = npz_path.parent
        if not where.is_dir():
            raise CheckpointError(f"no checkpoint: the folder {where} does not exist")
        raise CheckpointError(
            f"no checkpoint in {where}: missing {' and '.join(missing)} (a checkpoint is "
            f"{npz_path.name} with the arrays and {json_path.name} with the rest)"
        )
    try:
        document = json.loads(json_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"cannot read {json_path}: {err}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CheckpointError(f'{json_path} is not a convlens checkpoint (no "format": "{FORMAT}")')
    if document.get("version") != VERSION:
        raise CheckpointError(
            f"{json_path} is a version {document.get('version')} checkpoint; "
            f"this convlens reads version {VERSION}"
        )
    try:
        arrays = io.load_arrays(npz_path)
    except (OSError, ValueError, EOFError) as err:
        raise CheckpointError(f"cannot read {npz_path}: {err}") from None
    save_id = arrays.pop("__save_id__", None)
    if save_id is None or str(save_id) != document.get("save_id"):
        raise CheckpointError(
            f"{npz_path.name} and {json_path.name} in {npz_path.parent} come from different saves "
            "(the process stopped between moving the two files into place); the checkpoint cannot be used"
        )
    return unflatten(document["state"], arrays)


# -- random generators ---------------------------------------------------------------------------


def _generators_in(obj: Any, prefix: str, found: dict[str, np.random.Generator], depth: int) -> None:
    """Generators among ``obj``'s attributes, list items and dict values, a few levels deep."""
    if isinstance(obj, np.random.Generator):
        found[prefix] = obj
        return
    if depth == 0 or isinstance(obj, (np.ndarray, str, bytes, int, float, type(None))):
        return
    if isinstance(obj, dict):
        items = list(obj.items())
    elif isinstance(obj, (list, tuple)):
        items = list(enumerate(obj))
    elif hasattr(obj, "__dict__") and not isinstance(obj, Module):
        items = list(vars(obj).items())
    else:
        return
    for key, value in items:
        _generators_in(value, f"{prefix}.{key}", found, depth - 1)


def find_generators(model: Any, loader: Any) -> dict[str, np.random.Generator]:
    """Every generator a training run draws from, by a stable name.

    The model's layers (e.g. ``Dropout(seed=…)``) are searched attribute by attribute, the
    loader (its shuffling generator, a ``transform`` and what that holds) three levels deep.
    convlens's global generator is handled separately (it is replaced by ``manual_seed``).
    """
    found: dict[str, np.random.Generator] = {}
    for name, module in model.named_modules():
        for attr, value in vars(module).items():
            if isinstance(value, np.random.Generator):
                found[f"model.{name or '<root>'}.{attr}"] = value
    _generators_in(loader, "loader", found, depth=4)
    return found


def generator_states(generators: dict[str, np.random.Generator]) -> dict[str, Any]:
    """JSON-ready states of ``generators`` and of convlens's global generator."""
    states = {name: gen.bit_generator.state for name, gen in generators.items()}
    states["global"] = random.get_rng_state()
    return states


def set_generator_states(generators: dict[str, np.random.Generator], states: dict[str, Any]) -> None:
    """Put back states from :func:`generator_states` (the names must match)."""
    for name, gen in generators.items():
        gen.bit_generator.state = states[name]
    random.set_rng_state(states["global"])
