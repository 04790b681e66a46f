"""Keras 3 ``.keras`` files: a zip archive holding ``config.json`` (the architecture) and
``model.weights.h5`` (each layer's variables at ``layers/<name>/vars/<i>``, in the order of
``layer.weights``).

Only JSON and plain HDF5 arrays are read (never the Python objects a config may name); member
sizes are checked before anything is decompressed.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from convlens.io.extras import require
from convlens.io.formats import FormatError
from convlens.io.keras.h5 import MAX_ARRAY_BYTES, read_dataset
from convlens.io.keras.model import MODEL_CLASSES, build_model, model_layers

MAX_CONFIG_BYTES = 64 * 2**20


def _member(archive: zipfile.ZipFile, name: str, limit: int, where: str) -> bytes:
    try:
        info = archive.getinfo(name)
    except KeyError:
        found = ", ".join(archive.namelist()) or "nothing"
        raise FormatError(f"{where!r}: the archive has no {name} (found: {found}); expected a "
                          "Keras 3 .keras file") from None
    if info.file_size > limit:
        raise FormatError(f"{where!r}: {name} would unpack to {info.file_size} bytes, more than {limit}")
    try:
        return archive.read(name)
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise FormatError(f"{where!r}: cannot unpack {name} ({error}); the file may be truncated") from None


def snake_case(class_name: str) -> str:
    """Keras's own rule (``keras.src.utils.naming.to_snake_case``): ``MaxPooling2D`` ->
    ``max_pooling2d``."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def weight_groups(config: dict[str, Any], where: str, prefix: str = "", base: str = "") -> dict[str, str]:
    """Layer path -> its group in ``model.weights.h5``. Keras 3 names the groups after the
    layer's class in snake case, numbered in the order of ``model.layers`` (``conv2d``,
    ``conv2d_1``, …), not after the layer's own name; a Sequential's ``model.layers`` leaves
    the InputLayer out, a functional model's keeps it. A nested model's layers are in its
    group's ``layers`` (``sequential/layers/conv2d``), and their paths are ``inner/layer``."""
    class_name, layers = model_layers(config, where)
    used: dict[str, int] = {}
    groups = {}
    for spec in layers:
        if class_name == "Sequential" and spec.get("class_name") == "InputLayer":
            continue
        key = snake_case(str(spec.get("class_name")))
        used[key] = used.get(key, -1) + 1
        group = base + (key if used[key] == 0 else f"{key}_{used[key]}")
        name = str(spec.get("config", {}).get("name"))
        groups[prefix + name] = group
        if spec.get("class_name") in MODEL_CLASSES and isinstance(spec.get("config", {}).get("layers"), list):
            groups.update(weight_groups(spec, where, f"{prefix}{name}/", f"{group}/layers/"))
    return groups


def load_keras(path: str | os.PathLike[str], **options: Any) -> Any:
    """Open a Keras 3 ``.keras`` model (saved with ``model.save("x.keras")``)."""
    h5py = require("h5py", "keras", "reading Keras .keras files")
    where = str(Path(path))
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise FormatError(f"{where!r} is not a .keras archive (a zip file): {error}") from None
    with archive:
        try:
            config = json.loads(_member(archive, "config.json", MAX_CONFIG_BYTES, where))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise FormatError(f"{where!r}: config.json is not valid JSON ({error})") from None
        blob = _member(archive, "model.weights.h5", 4 * MAX_ARRAY_BYTES, where)
    try:
        handle = h5py.File(io.BytesIO(blob), "r")
    except OSError as error:
        raise FormatError(f"{where!r}: model.weights.h5 is not a readable HDF5 file ({error})") from None
    with handle:
        layers = handle["layers"] if "layers" in handle else None
        groups = weight_groups(config, where)

        def weights(layer_name: str) -> list[np.ndarray]:
            key = groups.get(layer_name, layer_name)
            if layers is None or key not in layers or "vars" not in layers[key]:
                return []
            group = layers[key]["vars"]
            keys = sorted(group.keys(), key=lambda k: int(k) if k.isdigit() else -1)
            if [k for k in keys] != [str(i) for i in range(len(keys))]:
                raise FormatError(f"{where!r}: the variables of layer {layer_name!r} are not numbered "
                                  f"0 … n-1 (found {keys})")
            return [read_dataset(group[k], f"{where!r} {layer_name}/vars/{k}") for k in keys]

        return build_model(config, weights, where)
