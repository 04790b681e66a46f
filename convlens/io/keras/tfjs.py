"""TensorFlow.js layers-models: ``model.json`` plus binary weight shards (the format CNN
Explainer ships its Tiny VGG in).

``model.json`` holds ``modelTopology`` (a Keras model config, usually Keras 2 style) and
``weightsManifest``: groups of ``{"paths": [shard files], "weights": [{"name", "shape",
"dtype", "quantization"?}]}``. A group's shards, concatenated in order, hold its weights one
after another, little-endian, with no header. Both are parsed here with ``json`` and NumPy;
shard paths must stay inside the model's folder, and the byte counts must add up exactly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from convlens.io.formats import FormatError
from convlens.io.keras.model import build_model

MAX_JSON_BYTES = 64 * 2**20
_DTYPES = {"float32": "<f4", "int32": "<i4", "bool": "u1", "float16": "<f2", "uint8": "u1",
           "uint16": "<u2", "int8": "i1"}


def _model_json(path: Path) -> Path:
    return path / "model.json" if path.is_dir() else path


def is_tfjs_model(path: Path, head: bytes) -> bool:
    """Sniff: a JSON file (or a folder with ``model.json``) describing a layers-model."""
    target = _model_json(path)
    if not target.is_file() or target.suffix.lower() != ".json" or target.stat().st_size > MAX_JSON_BYTES:
        return False
    try:
        document = json.loads(target.read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(document, dict) and "modelTopology" in document and (
        document.get("format", "layers-model") == "layers-model")


def _read_json(target: Path, where: str) -> dict[str, Any]:
    if target.stat().st_size > MAX_JSON_BYTES:
        raise FormatError(f"{where!r} is larger than {MAX_JSON_BYTES} bytes; not a model.json")
    try:
        document = json.loads(target.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise FormatError(f"{where!r} is not valid JSON ({error}); it may be truncated") from None
    if not isinstance(document, dict) or "modelTopology" not in document:
        raise FormatError(f"{where!r}: expected a TensorFlow.js layers-model (keys 'modelTopology' "
                          f"and 'weightsManifest'), received "
                          f"{sorted(document) if isinstance(document, dict) else type(document).__name__}")
    fmt = document.get("format", "layers-model")
    if fmt != "layers-model":
        raise FormatError(f"{where!r}: format {fmt!r} is not supported; expected 'layers-model' "
                          "(graph-models hold TensorFlow ops, not Keras layers)")
    return document


def _shard(folder: Path, name: Any, where: str) -> bytes:
    if not isinstance(name, str) or not name or Path(name).is_absolute() or ".." in Path(name).parts:
        raise FormatError(f"{where!r}: weight shard path {name!r} must be a file name inside the "
                          "model's folder")
    file = folder / name
    try:
        return file.read_bytes()
    except OSError as error:
        raise FormatError(f"{where!r}: cannot read the weight shard {name!r}: "
                          f"{error.strerror or error}") from None


def _decode(spec: Any, buffer: bytes, offset: int, where: str) -> tuple[np.ndarray, int]:
    if not isinstance(spec, dict) or "name" not in spec or "shape" not in spec:
        raise FormatError(f"{where!r}: expected weight entries {{'name', 'shape', 'dtype'}}, "
                          f"received {str(spec)[:60]}")
    name = spec["name"]
    shape = tuple(int(s) for s in spec["shape"])
    if any(s < 0 for s in shape):
        raise FormatError(f"{where!r}: weight {name!r} has a negative dimension {shape}")
    quant = spec.get("quantization")
    stored = (quant or {}).get("dtype", spec.get("dtype", "float32"))
    if stored not in _DTYPES:
        raise FormatError(f"{where!r}: weight {name!r} has dtype {stored!r}; supported: {', '.join(_DTYPES)}")
    count = int(np.prod(shape, dtype=np.int64))
    nbytes = count * np.dtype(_DTYPES[stored]).itemsize
    if offset + nbytes > len(buffer):
        raise FormatError(f"{where!r}: the weight shards end after {len(buffer)} bytes, but weight "
                          f"{name!r} {shape} needs bytes {offset}…{offset + nbytes}: the shards are "
                          "truncated")
    array = np.frombuffer(buffer, _DTYPES[stored], count, offset).reshape(shape)
    if quant and stored in ("uint8", "uint16"):
        array = array.astype(np.float32) * float(quant["scale"]) + float(quant.get("min", 0.0))
    return np.array(array, dtype=np.float32 if array.dtype.kind == "f" else array.dtype), offset + nbytes


def read_weights(document: dict[str, Any], folder: Path, where: str) -> dict[str, list[np.ndarray]]:
    """Every weight of the manifest, grouped by the path of its layer (the name before its
    last ``/``), in manifest order."""
    by_layer: dict[str, list[np.ndarray]] = {}
    manifest = document.get("weightsManifest", [])
    if not isinstance(manifest, list):
        raise FormatError(f"{where!r}: weightsManifest must be a list of groups")
    for group in manifest:
        if not isinstance(group, dict):
            raise FormatError(f"{where!r}: expected weight groups {{'paths', 'weights'}}, "
                              f"received {str(group)[:60]}")
        buffer = b"".join(_shard(folder, name, where) for name in group.get("paths", []))
        offset = 0
        for spec in group.get("weights", []):
            array, offset = _decode(spec, buffer, offset, where)
            parts = str(spec["name"]).split(":")[0].split("/")
            layer = "/".join(parts[:-1]) if len(parts) >= 2 else parts[0]
            by_layer.setdefault(layer, []).append(array)
        if offset != len(buffer):
            raise FormatError(f"{where!r}: the shards {group.get('paths')} hold {len(buffer)} bytes, "
                              f"the manifest describes {offset}")
    return by_layer


def load_tfjs(path: str | os.PathLike[str], **options: Any) -> Any:
    """Open a TensorFlow.js layers-model (``model.json`` or the folder holding it)."""
    target = _model_json(Path(path))
    where = str(target)
    if not target.is_file():
        raise FileNotFoundError(f"no such file: {where!r}")
    document = _read_json(target, where)
    weights = read_weights(document, target.parent, where)
    return build_model(document["modelTopology"], lambda path: _weights_of(weights, path), where)


def _weights_of(weights: dict[str, list[np.ndarray]], path: str) -> list[np.ndarray]:
    """A layer's weights by its path (``inner/conv``). Converters name weights by a path that
    may start higher (``model/inner/conv/kernel``) or lower (``conv/kernel``, the variable's
    own name): the exact path first, then a longer one ending in it, then its own end."""
    if path in weights:
        return weights[path]
    longer = [key for key in weights if key.endswith("/" + path)]
    if len(longer) == 1:
        return weights[longer[0]]
    parts = path.split("/")
    for k in range(1, len(parts)):
        if "/".join(parts[k:]) in weights:
            return weights["/".join(parts[k:])]
    return []
