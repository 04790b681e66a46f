"""Checkpoint files: a training state in one ``NAME.npz`` (the arrays and, as one member, the rest as JSON).

A training state is a nested structure of dicts, lists, numbers, strings and arrays (model
weights, momentum buffers, the best weights early stopping keeps). :func:`flatten` moves every
array into a flat ``{"path/to/array": array}`` dict and leaves ``{"__array__": "path/to/array"}``
in its place; the arrays and the JSON text of the tree (as the member ``__state__``, UTF-8
bytes) go into one ``.npz`` file, read back with ``allow_pickle=False``. Nothing is pickled:
loading a checkpoint can never run code.

Crash consistency: a save is one file, written in full to a temporary file beside the target,
flushed to disk, and moved over the previous checkpoint with one ``os.replace``. Whatever
instant a process is killed at, ``NAME.npz`` is either the previous save or the new one, never
a mix (a stray ``.NAME.npz.*.tmp`` may remain; it is ignored and removed by the next save).
The write steps are numbered (:data:`SAVE_STEPS`) so a test can kill the process after each.

Checkpoints of convlens versions before this format (``NAME.npz`` + ``NAME.json`` sharing a
``save_id``) are still read.

Random generators: :func:`generator_states` finds every ``numpy.random.Generator`` a training
run draws from (convlens's global one, a layer's own, a data loader's shuffling generator and
those of any transforms it holds) so a checkpoint can put each one back where it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from convlens import io, random
from convlens.layers.module import Module

FORMAT = "convlens-checkpoint"
VERSION = 2
_ARRAY = "__array__"
_STATE = "__state__"
# The steps of one save, in order; CONVLENS_KILL_AT_SAVE="N:STEP" makes the process SIGKILL
# itself right after STEP of its N-th save (used by the crash-consistency tests only).
SAVE_STEPS = (
    "temporary file created",
    "content written",
    "flushed to disk",
    "moved into place",
    "folder synced",
)
_KILL_ENV = "CONVLENS_KILL_AT_SAVE"
_saves = 0


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable, or does not fit the training setup."""


class CheckpointSaveError(OSError):
    """Writing a checkpoint failed (e.g. a full disk); the previous checkpoint is intact.

    ``errno`` is the cause's (``errno.ENOSPC`` for a full disk).
    """

    def __str__(self) -> str:
        return str(self.strerror)


def checkpoint_file(path: str | os.PathLike[str]) -> Path:
    """``NAME.npz`` for ``path`` given as ``NAME``, ``NAME.npz`` or ``NAME.json``."""
    path = Path(path)
    if path.suffix in (".npz", ".json"):
        path = path.with_suffix("")
    return path.with_name(path.name + ".npz")


def checkpoint_paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """``(NAME.npz, NAME.json)``: the file of a checkpoint and the JSON half of the old two-file format."""
    npz = checkpoint_file(path)
    return npz, npz.with_suffix(".json")


def checkpoint_exists(path: str | os.PathLike[str]) -> bool:
    return checkpoint_file(path).is_file()


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
            if not isinstance(key, str) or key not in arrays:
                raise CheckpointError(f"the checkpoint lacks the array {key!r}")
            return arrays[key]
        return {k: unflatten(v, arrays) for k, v in tree.items()}
    if isinstance(tree, list):
        return [unflatten(v, arrays) for v in tree]
    return tree


# -- files ---------------------------------------------------------------------------------------


def _after_step(step: int) -> None:
    """Kill this process after ``step`` of the save it asks for (crash tests; see SAVE_STEPS)."""
    target = os.environ.get(_KILL_ENV)
    if target and target == f"{_saves}:{step}":
        os.kill(os.getpid(), signal.SIGKILL)


def write_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> Path:
    """Write ``state`` to ``NAME.npz`` in one atomic replace; returns the path.

    Raises:
        CheckpointSaveError: the file could not be written (full disk, permissions); the
            previous checkpoint, if any, is untouched.
    """
    global _saves
    _saves += 1
    target = checkpoint_file(path)
    tree, arrays = flatten(state)
    document = {"format": FORMAT, "version": VERSION, "state": tree}
    text = json.dumps(document, allow_nan=True).encode()
    try:
        with io.atomic_write(target, "wb") as handle:
            _after_step(1)
            np.savez(handle, **{_STATE: np.frombuffer(text, np.uint8)}, **arrays)  # type: ignore[arg-type]
            _after_step(2)
            handle.flush()
            os.fsync(handle.fileno())
            _after_step(3)
        _after_step(4)  # atomic_write moved the file into place as the block ended
        _sync_folder(target.parent)
        _after_step(5)
    except OSError as err:
        raise CheckpointSaveError(
            err.errno,
            f"could not write the checkpoint {target.name} in {target.parent}: "
            f"{err.strerror or err}. The previous checkpoint there (if any) is intact",
        ) from err
    _remove_stale_temporaries(target)
    legacy = target.with_suffix(".json")
    with contextlib.suppress(OSError):  # the JSON half of an old two-file checkpoint, now stale
        if legacy.is_file() and b'"save_id"' in legacy.read_bytes()[:4096]:
            legacy.unlink()
    return target


def _sync_folder(folder: Path) -> None:
    """Make the rename durable (a no-op where folders cannot be opened, e.g. Windows)."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove_stale_temporaries(target: Path) -> None:
    """Temporary files a killed save left behind (``.NAME.npz.*.tmp``; one writer per folder)."""
    for stale in target.parent.glob(f".{target.name}.*.tmp"):
        with contextlib.suppress(OSError):
            stale.unlink()


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    try:
        return io.load_arrays(path)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as err:
        reason = str(err) or type(err).__name__
        raise CheckpointError(
            f"cannot read {path}: {reason} (the file is damaged or is not a checkpoint)"
        ) from None


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The state saved by :func:`write_checkpoint` at ``path``.

    Raises:
        CheckpointError: the file is missing, unreadable, damaged or of another format.
    """
    npz_path, json_path = checkpoint_paths(path)
    if not npz_path.is_file():
        where = npz_path.parent
        if not where.is_dir():
            raise CheckpointError(f"no checkpoint: the folder {where} does not exist")
        raise CheckpointError(f"no checkpoint in {where}: missing {npz_path.name}")
    arrays = _read_arrays(npz_path)
    if _STATE in arrays:
        raw = arrays.pop(_STATE)
        try:
            document = json.loads(raw.tobytes().decode())
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise CheckpointError(f"cannot read {npz_path}: its {_STATE} member is not JSON: {err}") from None
    elif "__save_id__" in arrays:
        document = _legacy_document(npz_path, json_path, arrays)
    else:
        raise CheckpointError(f"{npz_path} is not a convlens checkpoint (it has no {_STATE} member)")
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CheckpointError(f'{npz_path} is not a convlens checkpoint (no "format": "{FORMAT}")')
    if document.get("version") not in (1, VERSION):
        raise CheckpointError(
            f"{npz_path} is a version {document.get('version')} checkpoint; "
            f"this convlens reads versions 1 and {VERSION}"
        )
    if not isinstance(document.get("state"), dict):
        raise CheckpointError(f"{npz_path} holds no training state (expected an object under \"state\")")
    return unflatten(document["state"], arrays)


def read_checkpoint_tree(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The state's JSON tree without its arrays (each array left as ``{"__array__": key}``):
    cheap to read, e.g. the history of a run that is still training.

    Raises:
        CheckpointError: as :func:`read_checkpoint`.
    """
    npz_path = checkpoint_file(path)
    try:
        with np.load(npz_path, allow_pickle=False) as data:
            if _STATE not in data.files:
                return read_checkpoint(path) if "__save_id__" in data.files else {}
            raw = data[_STATE]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as err:
        raise CheckpointError(f"cannot read {npz_path}: {err or type(err).__name__}") from None
    try:
        document = json.loads(raw.tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"cannot read {npz_path}: its {_STATE} member is not JSON: {err}") from None
    state = document.get("state") if isinstance(document, dict) else None
    if not isinstance(state, dict):
        raise CheckpointError(f"{npz_path} holds no training state")
    return state


def _legacy_document(npz_path: Path, json_path: Path, arrays: dict[str, np.ndarray]) -> Any:
    """The JSON half of a version-1 checkpoint (two files sharing a ``save_id``)."""
    if not json_path.is_file():
        raise CheckpointError(f"{npz_path} is an old two-file checkpoint whose {json_path.name} is missing")
    try:
        document = json.loads(json_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"cannot read {json_path}: {err}") from None
    save_id = arrays.pop("__save_id__")
    if not isinstance(document, dict) or str(save_id) != document.get("save_id"):
        raise CheckpointError(
            f"{npz_path.name} and {json_path.name} in {npz_path.parent} come from different saves "
            "(an old two-file checkpoint whose process stopped between its two moves); it cannot be used"
        )
    return document


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
