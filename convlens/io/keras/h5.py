"""Legacy Keras ``.h5`` files: the architecture from the ``model_config`` attribute (JSON),
the weights from ``model_weights/<layer>/<weight name>`` datasets, in the order the layer's
``weight_names`` attribute lists them.

HDF5 is read with h5py as plain arrays and strings: no Python object is ever deserialized.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from convlens.io.extras import require
from convlens.io.formats import FormatError
from convlens.io.keras.model import build_model

MAX_ARRAY_BYTES = 2**32
"""A dataset larger than this (4 GiB) is refused rather than read into memory."""


def read_dataset(dataset: Any, what: str) -> np.ndarray:
    """A numeric HDF5 dataset as an array (object, string or compound data are refused)."""
    h5py = require("h5py", "keras", "reading Keras files")
    if not isinstance(dataset, h5py.Dataset):
        raise FormatError(f"{what}: expected an array, the file holds a {type(dataset).__name__}")
    if dataset.dtype.kind not in "fiub":
        raise FormatError(f"{what}: expected a numeric array, the file holds dtype {dataset.dtype}")
    if dataset.size * dataset.dtype.itemsize > MAX_ARRAY_BYTES:
        raise FormatError(f"{what}: {dataset.shape} of {dataset.dtype} is too large to read")
    try:
        return np.asarray(dataset[()])
    except OSError as error:
        raise FormatError(f"{what}: cannot read the array ({error}); the file may be truncated") from None


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _weight_names(group: Any) -> list[str]:
    names = group.attrs.get("weight_names", [])
    return [_text(n) for n in np.asarray(names).ravel()] if len(names) else []


def load_h5(path: str | os.PathLike[str], **options: Any) -> Any:
    """Open a legacy Keras ``.h5`` model (saved with ``model.save("x.h5")``)."""
    h5py = require("h5py", "keras", "reading Keras .h5 files")
    where = str(Path(path))
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise FormatError(f"{where!r} is not a readable HDF5 file ({error}); it may be truncated") from None
    with handle:
        if "model_config" not in handle.attrs:
            raise FormatError(f"{where!r} holds no model_config attribute: it is a weights-only file "
                              "(model.save_weights); save the whole model with model.save('x.h5')")
        try:
            config = json.loads(_text(handle.attrs["model_config"]))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise FormatError(f"{where!r}: the model_config attribute is not valid JSON ({error})") from None
        root = handle["model_weights"] if "model_weights" in handle else handle

        def weights(layer_path: str) -> list[np.ndarray]:
            """A layer's weights; a nested model's layers (path ``inner/layer``) are in the
            group of the outermost model, their weight names led by the path (Keras 3) or
            by the layer's own name (Keras 2)."""
            top = layer_path.split("/")[0]
            if top not in root:
                return []
            group = root[top]
            parts = layer_path.split("/")
            owners = {"/".join(parts[k:]) for k in range(len(parts))}
            arrays = []
            for weight_name in _weight_names(group):
                owner = weight_name.rsplit("/", 1)[0]
                if "/" in layer_path and owner not in owners:
                    continue
                if weight_name not in group:
                    raise FormatError(f"{where!r}: layer {layer_path!r} lists the weight {weight_name!r} "
                                      "but the file does not hold it (truncated?)")
                arrays.append(read_dataset(group[weight_name], f"{where!r} {layer_path}/{weight_name}"))
            return arrays

        return build_model(config, weights, where, _text(handle.attrs.get("keras_version", "")) or None)
