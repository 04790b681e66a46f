"""One door for every model file: ``cl.load(path)`` finds the reader by suffix or by content.

Each format lives in its own module of this package (``convlens.io.<format>``) and is named
here by a :class:`Reader` row: the suffixes it answers to, an optional ``sniff`` test on the
first bytes (for files whose suffix says nothing, such as a run folder or ``model.json``), the
function that reads it, and the optional extra that brings its dependencies. The module is
imported only when a file of its format is opened, so ``import convlens`` stays free of onnx,
torch and keras. Adding a format is one row here and one module.

Writers work the same way for :func:`export`.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class FormatError(ValueError):
    """A file that is not a model file convlens can read, or that is damaged; the message names
    the file and the problem."""


class MissingExtraError(ImportError):
    """A format needs an optional dependency that is not installed; the message gives the
    ``pip install`` command."""


@dataclass(frozen=True)
class Reader:
    """How to recognise and read one format.

    ``function`` is ``"module:attribute"`` inside convlens; it is called as
    ``function(path, **options)`` and returns a :class:`convlens.Module`.
    ``sniff(path, head)`` gets the path and the first 64 bytes (``b""`` for a folder) and says
    whether the file is of this format when its suffix did not decide.
    """

    name: str
    function: str
    suffixes: tuple[str, ...] = ()
    sniff: Callable[[Path, bytes], bool] | None = None
    extra: str | None = None
    requires: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Writer:
    """How to write one format: ``function(model, path, **options)``."""

    name: str
    function: str
    suffixes: tuple[str, ...] = ()
    extra: str | None = None
    requires: tuple[str, ...] = field(default_factory=tuple)


READERS: list[Reader] = []
WRITERS: list[Writer] = []


def register_reader(reader: Reader) -> Reader:
    """Add a reader (formats register at import of this module: see the end of the file)."""
    READERS.append(reader)
    return reader


def register_writer(writer: Writer) -> Writer:
    WRITERS.append(writer)
    return writer


def _resolve(function: str, requires: tuple[str, ...], extra: str | None, what: str) -> Callable[..., Any]:
    for package in requires:
        try:
            importlib.import_module(package)
        except ImportError:
            hint = f'pip install "convlens[{extra}]"' if extra else f"pip install {package}"
            raise MissingExtraError(
                f"{what} needs the package {package!r}, which is not installed; install it with: {hint}"
            ) from None
    module_name, _, attribute = function.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def _head(path: Path) -> bytes:
    if path.is_dir():
        return b""
    with open(path, "rb") as handle:
        return handle.read(64)


def find_reader(path: str | os.PathLike[str]) -> Reader:
    """The reader for ``path``: by suffix first, then by each reader's sniff test."""
    target = Path(path)
    if not target.exists():
        raise FileNotFoundError(f"no such file or folder: {str(target)!r}")
    name = target.name.lower()
    for reader in READERS:
        if any(name.endswith(suffix) for suffix in reader.suffixes):
            return reader
    try:
        head = _head(target)
    except OSError as error:
        raise FormatError(f"cannot read {str(target)!r}: {error.strerror or error}") from None
    for reader in READERS:
        if reader.sniff is not None and reader.sniff(target, head):
            return reader
    known = ", ".join(f"{r.name} ({', '.join(r.suffixes) or 'by content'})" for r in READERS)
    raise FormatError(f"{str(target)!r} is not a model file convlens can read; expected one of: {known}")


def load(path: str | os.PathLike[str], **options: Any) -> Any:
    """Open any model convlens reads (see :data:`READERS`) and return it as a convlens model."""
    reader = find_reader(path)
    function = _resolve(reader.function, reader.requires, reader.extra, f"reading a {reader.name} file")
    return function(Path(path), **options)


def export(model: Any, path: str | os.PathLike[str], format: str | None = None, **options: Any) -> Path:
    """Write ``model`` in ``format`` (or the format the suffix of ``path`` names)."""
    target = Path(path)
    if format is not None:
        matches = [w for w in WRITERS if w.name == format]
    else:
        matches = [w for w in WRITERS if any(target.name.lower().endswith(s) for s in w.suffixes)]
    if not matches:
        known = ", ".join(f"{w.name} ({', '.join(w.suffixes)})" for w in WRITERS)
        received = f"format {format!r}" if format is not None else f"the file name {target.name!r}"
        raise FormatError(f"cannot tell which format to write from {received}; formats: {known}")
    writer = matches[0]
    function = _resolve(writer.function, writer.requires, writer.extra, f"writing a {writer.name} file")
    function(model, target, **options)
    return target


# -- the formats -------------------------------------------------------------------------------
# One row per format; keep them in this order (the first suffix match wins).
register_reader(Reader("convlens", "convlens.io.model_file:load_model_file", (".convlens",),
                       sniff=lambda path, head: head[:4] == b"PK\x03\x04" and b"convlens-model.json" in head))
register_writer(Writer("convlens", "convlens.io.model_file:save_model_file", (".convlens",)))
register_reader(Reader("run folder", "convlens.io.run_folder:load_run_folder",
                       sniff=lambda path, head: path.is_dir() and any(
                           (path / name).is_file() for name in ("model.convlens", "config.json"))))
register_reader(Reader("keras", "convlens.io.keras.keras_file:load_keras", suffixes=(".keras",),
                       extra="keras", requires=("h5py",)))
register_reader(Reader("keras-h5", "convlens.io.keras.h5:load_h5", suffixes=(".h5", ".hdf5"),
                       extra="keras", requires=("h5py",)))
register_reader(Reader("tfjs-layers-model", "convlens.io.keras.tfjs:load_tfjs", sniff=lambda path, head:
                       importlib.import_module("convlens.io.keras.tfjs").is_tfjs_model(path, head)))
register_reader(Reader("onnx", "convlens.io.onnx:from_onnx", suffixes=(".onnx",),
                       sniff=None, extra="onnx", requires=("onnx",)))
register_writer(Writer("onnx", "convlens.io.onnx:export_onnx", suffixes=(".onnx",),
                       extra="onnx", requires=("onnx",)))
