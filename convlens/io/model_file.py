"""One file per model: ``cl.save(model, "digits.convlens")`` and ``cl.load("digits.convlens")``.

A ``.convlens`` file is a zip archive (stored, not compressed) of plain members::

    convlens-model.json      the manifest: format and version, the architecture (the layer
                             spec of :mod:`convlens.layers.spec`), every array's member, dtype,
                             shape and SHA-256, frozen and tied parameters, and ``info``
                             (:class:`convlens.io.model_info.ModelInfo`)
    arrays/<name>.npy        each parameter and buffer of ``model.state_dict()``
    convlens-model.sha256    the SHA-256 of the manifest

Nothing is pickled: arrays are read with ``np.load(allow_pickle=False)`` and the architecture
is JSON, rebuilt from layer classes that are already imported (a file never imports code).
The manifest's checksum covers each array's checksum, so any changed byte is found; the
manifest is the first member, so the file is recognised from its first bytes. The file is
written atomically. Any problem on reading raises :class:`ModelFileError` naming the file.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

import convlens.io as clio
from convlens.io.formats import FormatError
from convlens.io.model_info import ModelInfo
from convlens.layers.module import Module
from convlens.parameter import Parameter

FORMAT = "convlens-model"
FORMAT_VERSION = 1
SUFFIX = ".convlens"
FOLDER_MODEL_FILE = "model" + SUFFIX  # the model file of a folder (a run folder's too)
MANIFEST = "convlens-model.json"
CHECKSUM = "convlens-model.sha256"
ZIP_MAGIC = b"PK\x03\x04"
_DATE = (1980, 1, 1, 0, 0, 0)  # fixed member dates: the same model gives the same bytes
_MAX_MANIFEST = 256 * 2**20  # bytes; a manifest is small (a word vocabulary makes it a few MB)
_NPY_HEADER = 4096  # at most, in bytes, before an .npy file's data


class ModelFileError(FormatError):
    """A model file (or run folder) that cannot be read: the message names it and the problem."""


def is_model_file(path: Path, head: bytes) -> bool:
    """Whether the first bytes are those of a convlens model file (its manifest comes first)."""
    return head.startswith(ZIP_MAGIC) and MANIFEST.encode() in head


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _convlens_version() -> str:
    import convlens

    return convlens.__version__


# -- writing -------------------------------------------------------------------------------
def save_model_file(model: Module, path: str | os.PathLike[str], **metadata: Any) -> Path:
    """Write ``model`` (architecture, weights, buffers, metadata) to one file; see the module
    docstring. ``metadata`` updates ``model.info`` (see :class:`ModelInfo` for the fields;
    ``dataset=`` may be a Dataset, which fills classes, input shape and preprocessing).
    A path without a suffix gets ``.convlens``. A folder (one that exists, or a path ending in
    ``/``) gets ``model.convlens`` inside it, the file ``cl.load(folder)`` reads, as ``cp``
    copies into a folder. Returns the path written."""
    from convlens.layers.spec import to_spec

    if not isinstance(model, Module):
        raise TypeError(f"cl.save expects a convlens model (a Module), received {type(model).__name__}")
    target = Path(path)
    if target.is_dir() or str(path).endswith((os.sep, "/")):
        target = target / FOLDER_MODEL_FILE
    elif not target.suffix:
        target = target.with_suffix(SUFFIX)
    info = (getattr(model, "info", None) or ModelInfo()).updated(**metadata)
    info.convlens_version = _convlens_version()
    info.format_version = FORMAT_VERSION
    info.created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    _warn_unnamed_initializers(model)

    members: list[tuple[str, bytes]] = []
    arrays = []
    parameters = dict(model.named_parameters())
    for name, value in model.state_dict().items():
        buffer = io.BytesIO()
        try:
            np.save(buffer, np.asarray(value), allow_pickle=False)
        except ValueError as error:
            raise ValueError(f"cannot save {name!r} ({value.dtype}): {error}") from None
        member = f"arrays/{name}.npy"
        data = buffer.getvalue()
        members.append((member, data))
        arrays.append({"name": name, "member": member,
                       "kind": "parameter" if name in parameters else "buffer",
                       "dtype": str(value.dtype), "shape": list(value.shape), "sha256": _sha256(data)})
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "convlens_version": info.convlens_version,
        "architecture": to_spec(model),
        "arrays": arrays,
        "frozen": [name for name, p in parameters.items() if not p.requires_grad],
        "tied": _tied_parameters(model),
        "info": info.to_dict(),
    }
    manifest_bytes = (json.dumps(manifest, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    with clio.atomic_write(target, "wb") as handle, zipfile.ZipFile(handle, "w") as archive:
        for name, data in [(MANIFEST, manifest_bytes), *members,
                           (CHECKSUM, (_sha256(manifest_bytes) + "\n").encode())]:
            archive.writestr(zipfile.ZipInfo(name, date_time=_DATE), data)
    model.info = info
    return target


def _tied_parameters(model: Module) -> dict[str, str]:
    """``{name: first_name}`` for each place that holds a parameter object met before (tied
    weights: ``b.weight = a.weight``); a shared layer's parameters are listed too."""
    first: dict[int, str] = {}
    tied: dict[str, str] = {}
    for module_name, module in model.named_modules():
        for attr, value in vars(module).items():
            if isinstance(value, Parameter):
                name = f"{module_name}.{attr}" if module_name else attr
                if id(value) in first and first[id(value)] != name:
                    tied[name] = first[id(value)]
                first.setdefault(id(value), name)
    return tied


def _warn_unnamed_initializers(model: Module) -> None:
    from convlens.init import initializer_name

    for name, module in model.named_modules():
        for key in ("weight_init", "bias_init"):
            spec = getattr(module, key, None)
            if spec is not None and initializer_name(spec) is None:
                warnings.warn(
                    f"layer {name or type(module).__name__}: {key} is {spec!r}, which has no name to "
                    "save (a lambda or a closure); the weights are saved, but the architecture "
                    "records the default initializer. Use a name from convlens.init.INITIALIZERS "
                    "or a function defined at the top level of a module.", stacklevel=3)


# -- reading -------------------------------------------------------------------------------
def load_model_file(path: str | os.PathLike[str]) -> Module:
    """Read a model file written by :func:`save_model_file`: the model in eval mode, with the
    saved weights, buffers and dtypes, frozen and tied parameters, and ``model.info``.

    Raises:
        ModelFileError: the file is empty, truncated, corrupt, not a convlens model file, of a
            newer format version, changed after it was written, or describes layers this
            convlens does not have; the message names the file and the problem.
    """
    target = Path(path)
    with _open_archive(target) as archive:
        manifest = _read_manifest(target, archive)
        state = _read_arrays(target, archive, manifest)
    model = _build(target, manifest)
    _load_state(target, model, state, manifest)
    model.info = _read_info(target, manifest)
    model.eval()
    return model


def _fail(path: Path, problem: str) -> ModelFileError:
    return ModelFileError(f"{str(path)!r} {problem}")


def _open_archive(path: Path) -> zipfile.ZipFile:
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(8)
    except IsADirectoryError:
        raise _fail(path, "is a folder, not a model file") from None
    except OSError as error:
        raise _fail(path, f"cannot be read: {error.strerror or error}") from None
    if size == 0:
        raise _fail(path, "is empty (0 bytes): it is not a model file; was the save interrupted?")
    if not head.startswith(ZIP_MAGIC):
        raise _fail(path, f"is not a convlens model file: expected a zip archive starting with "
                          f"{ZIP_MAGIC!r}, received {head!r}")
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile as error:
        raise _fail(path, f"is truncated or damaged: its zip directory cannot be read ({error}); "
                          f"{size} bytes on disk") from None


def _read_member(path: Path, archive: zipfile.ZipFile, name: str) -> bytes:
    try:
        return archive.read(name)
    except KeyError:
        raise _fail(path, f"is incomplete: the member {name} is missing") from None
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
        raise _fail(path, f"is corrupt: the member {name} cannot be read ({error})") from None


def _check_size(path: Path, archive: zipfile.ZipFile, member: str, limit: int) -> None:
    """Refuse a member that would unpack to more bytes than it can hold (a zip bomb)."""
    try:
        size = archive.getinfo(member).file_size
    except KeyError:
        raise _fail(path, f"is incomplete: the member {member} is missing") from None
    if size > limit:
        raise _fail(path, f"is corrupt: the member {member} unpacks to {size:,} bytes, more than the "
                          f"{limit:,} it can hold")


def _read_manifest(path: Path, archive: zipfile.ZipFile) -> dict[str, Any]:
    names = archive.namelist()
    if MANIFEST not in names:
        shown = ", ".join(names[:5]) + (", …" if len(names) > 5 else "")
        hint = ""
        if names and all(n.endswith(".npy") for n in names):
            hint = ("; it looks like an .npz file of arrays (weights only): load those into a model "
                    "with cl.load_weights(model, path)")
        raise _fail(path, f"is a zip archive but not a convlens model file: it has no {MANIFEST} "
                          f"(members: {shown or 'none'}){hint}")
    _check_size(path, archive, MANIFEST, _MAX_MANIFEST)
    raw = _read_member(path, archive, MANIFEST)
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _fail(path, f"is corrupt: {MANIFEST} is not valid JSON ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise _fail(path, f"is not a convlens model file: {MANIFEST} says format {found!r}, "
                          f"expected {FORMAT!r}")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise _fail(path, f"is corrupt: format_version is {version!r}, expected a whole number")
    if version > FORMAT_VERSION:
        raise _fail(path, f"has format version {version} (written by convlens "
                          f"{manifest.get('convlens_version', '?')}); this convlens "
                          f"{_convlens_version()} reads format versions up to {FORMAT_VERSION}: "
                          "upgrade convlens (pip install -U convlens)")
    _check_size(path, archive, CHECKSUM, 1024)
    stored = _read_member(path, archive, CHECKSUM).decode("ascii", "replace").strip()
    if stored != _sha256(raw):
        raise _fail(path, f"was changed after it was written: the SHA-256 of {MANIFEST} is "
                          f"{_sha256(raw)[:16]}…, the file records {stored[:16]}…")
    for key, kind in (("architecture", dict), ("arrays", list), ("info", dict)):
        if not isinstance(manifest.get(key), kind):
            raise _fail(path, f"is corrupt: {MANIFEST} has no valid {key!r} entry")
    return manifest


def _read_arrays(path: Path, archive: zipfile.ZipFile, manifest: dict[str, Any]) -> dict[str, np.ndarray]:
    state: dict[str, np.ndarray] = {}
    for entry in manifest["arrays"]:
        try:
            name, member, digest = entry["name"], entry["member"], entry["sha256"]
            dtype, shape = np.dtype(entry["dtype"]), tuple(entry["shape"])
        except (KeyError, TypeError) as error:
            raise _fail(path, f"is corrupt: an array entry of {MANIFEST} is incomplete ({error})") from None
        _check_size(path, archive, member, dtype.itemsize * int(np.prod(shape, dtype=np.int64)) + _NPY_HEADER)
        data = _read_member(path, archive, member)
        if _sha256(data) != digest:
            raise _fail(path, f"was changed after it was written: the SHA-256 of {member} does not "
                              "match the one the manifest records")
        try:
            value = np.load(io.BytesIO(data), allow_pickle=False)
        except ValueError as error:
            raise _fail(path, f"is corrupt: {member} is not a plain .npy array ({error})") from None
        if value.dtype != dtype or value.shape != shape:
            raise _fail(path, f"is corrupt: {member} holds {value.dtype} {value.shape}, the manifest "
                              f"says {dtype} {shape}")
        state[name] = value
    return state


def _build(path: Path, manifest: dict[str, Any]) -> Module:
    from convlens.layers.spec import SpecError, from_spec

    try:
        return from_spec(manifest["architecture"])
    except SpecError as error:
        hint = ""
        if "unknown layer class" in str(error) and ":" in str(error).rsplit("class", 1)[-1]:
            hint = " (a layer defined outside convlens: import the module that defines it first)"
        raise _fail(path, f"describes a model this convlens cannot build: {error}{hint}") from None


def _load_state(path: Path, model: Module, state: dict[str, np.ndarray], manifest: dict[str, Any]) -> None:
    modules = dict(model.named_modules())
    for name, source in (manifest.get("tied") or {}).items():  # tie before counting parameters
        owner, _, attr = name.rpartition(".")
        source_owner, _, source_attr = source.rpartition(".")
        if owner in modules and source_owner in modules:
            tied = getattr(modules[source_owner], source_attr, None)
            if isinstance(tied, Parameter) and getattr(modules[owner], attr, None) is not tied:
                setattr(modules[owner], attr, tied)
    try:
        model.load_state_dict(state)
    except (KeyError, ValueError) as error:
        message = error.args[0] if error.args else str(error)
        raise _fail(path, f"is inconsistent: its weights do not fit its architecture: {message}") from None
    # keep each array's saved dtype (a float64 model stays float64)
    for name, p in model.named_parameters():
        if p.data.dtype != state[name].dtype:
            p.data = state[name].copy()
    for name, value in model.named_buffers():
        if np.asarray(value).dtype != state[name].dtype:
            owner, _, attr = name.rpartition(".")
            setattr(modules[owner], attr, state[name].copy())
    parameters = dict(model.named_parameters())
    for name in manifest.get("frozen") or []:
        if name in parameters:
            parameters[name].requires_grad = False


def _read_info(path: Path, manifest: dict[str, Any]) -> ModelInfo:
    try:
        info = ModelInfo.from_dict(manifest["info"])
    except (TypeError, ValueError) as error:
        raise _fail(path, f"is corrupt: its model information cannot be read ({error})") from None
    info.format_version = manifest["format_version"]
    info.convlens_version = manifest.get("convlens_version", info.convlens_version)
    return info
