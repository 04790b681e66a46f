"""Saving and loading without surprises: atomic writes, no pickle.

Every file convlens writes goes to a temporary file in the same folder first and is moved into
place with ``os.replace`` (atomic on POSIX and Windows), so a crash or a full disk never leaves a
half-written file where a good one used to be. Weights are stored as ``.npz`` and read back with
``allow_pickle=False``: loading a file can never run code.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success move it over ``path``.

    On any exception the temporary file is removed and ``path`` keeps its old content.
    """
    target = Path(path)
    if target.is_dir():  # the errors os.replace would give, before anything is written
        raise IsADirectoryError(errno.EISDIR, "Is a directory", str(target))
    if target.exists() and not target.is_file():  # never replace /dev/null (as root) by a file
        raise OSError(errno.EINVAL, "not a regular file (a device, pipe or socket), which convlens "
                      "never replaces", str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_write(path, "w") as handle:
        json.dump(obj, handle, indent=2, sort_keys=False, default=_json_default)
        handle.write("\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def save_arrays(path: str | os.PathLike[str], arrays: dict[str, np.ndarray]) -> None:
    """Save named arrays to an ``.npz`` file, atomically."""
    with atomic_write(path, "wb") as handle:
        np.savez(handle, **arrays)  # type: ignore[arg-type]  # numpy's stub mistypes **kwds


def load_arrays(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Load named arrays from an ``.npz`` file (never unpickles).

    Raises:
        FileNotFoundError: no such file.
        ValueError: naming the file, for anything that is not a zip of plain ``.npy`` arrays:
            an empty, truncated or corrupt file (bad CRC), a member that is not an array, an
            array of Python objects.
    """
    import zipfile
    import zlib

    arrays: dict[str, np.ndarray] = {}
    try:
        data = np.load(path, allow_pickle=False)
        if isinstance(data, np.ndarray):
            raise ValueError(f"{path}: expected an .npz archive of named arrays, received a single "
                             ".npy array")
        with data:
            for name in data.files:
                value = data[name]
                if not isinstance(value, np.ndarray):  # NpzFile gives other members as bytes
                    raise ValueError(f"{path}: member {name!r} is not a .npy array")
                arrays[name] = value
    except (zipfile.BadZipFile, EOFError, zlib.error) as err:
        raise ValueError(f"{path}: not a readable .npz file ({err or 'empty or truncated'})") from None
    except ValueError as err:
        if "pickle" in str(err):
            raise ValueError(f"{path}: holds Python objects (pickled data), which convlens never "
                             "loads") from None
        if str(path) in str(err):
            raise
        raise ValueError(f"{path}: not a readable .npz file ({err})") from None
    return arrays


def save_weights(model: Any, path: str | os.PathLike[str]) -> None:
    """Save ``model.state_dict()`` to ``path`` (``.npz``), atomically."""
    save_arrays(path, dict(model.state_dict()))


def load_weights(model: Any, path: str | os.PathLike[str], strict: bool = True) -> Any:
    """Load weights saved by :func:`save_weights` into ``model``; returns the model.

    Raises:
        StateDictError: the weights are another model's: names every missing and unexpected
            parameter and every shape mismatch (the model is left unchanged).
    """
    from convlens.layers.module import StateDictError

    try:
        model.load_state_dict(load_arrays(path), strict=strict)
    except StateDictError as error:
        raise StateDictError(error.model, error.missing, error.unexpected, error.mismatched,
                             source=str(path)) from None
    return model
