"""``npz:PATH``: your own arrays from an ``.npz`` file (``np.savez``), never unpickled.

The file holds either ``x_train, y_train, x_test, y_test`` or ``x, y`` (then a seeded split
holds out ``test_fraction``), and optionally ``class_names`` (an array of strings). Inputs are
channel-first, of any rank from 3 up::

    (N, C, L)          signals
    (N, C, H, W)       images
    (N, C, D, H, W)    volumes

A ``(N, H, W)`` stack of grayscale images needs its channel axis first: ``x[:, None]``
(convlens cannot tell it from ``(N, C, L)`` signals). ``uint8`` inputs are divided by 255;
other numbers are used as they are (as float32). Integer targets are class labels; float
targets mean regression (``task=`` overrides). The file is read with
``allow_pickle=False``: an array of Python objects is refused, not executed.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from convlens.data.dataset import MAX_CLASSES, TASKS, Dataset, check_class_count
from convlens.data.registry import register_source

SPLIT_KEYS = ("x_train", "y_train", "x_test", "y_test")
SINGLE_KEYS = ("x", "y")


def _read(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic[:2] != b"PK":  # np.load would take anything else for a pickle (or a single .npy)
        what = "a single .npy array (save with np.savez)" if magic == b"\x93NUM" else f"first bytes {magic!r}"
        raise ValueError(f"{path}: not a readable .npz file (a zip of .npy arrays); received {what}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {}
            for key in data.files:
                try:
                    value = data[key]
                except ValueError as err:
                    if "allow_pickle" not in str(err):
                        raise ValueError(
                            f"{path}: member {key!r} is not a readable .npy array ({err})") from None
                    raise ValueError(
                        f"{path}: array {key!r} holds Python objects, which load only by unpickling; "
                        "convlens never unpickles files: save plain numeric arrays (and class_names "
                        "as a string array, np.array(names, dtype=str))"
                    ) from None
                if not isinstance(value, np.ndarray):  # NpzFile hands back other members as bytes
                    raise ValueError(f"{path}: member {key!r} is not a .npy array; expected a zip of .npy "
                                     "arrays only, as np.savez writes")
                arrays[key] = value
            return arrays
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as err:
        raise ValueError(f"{path}: not a readable .npz file ({err})") from err


def _inputs(path: Path, key: str, x: np.ndarray) -> np.ndarray:
    if x.ndim < 3:
        raise ValueError(
            f"{path}: expected {key} of shape (N, C, ...) - (N, C, L) signals, (N, C, H, W) images, "
            f"(N, C, D, H, W) volumes - received {x.shape}"
            + ("; add a channel axis: x[:, None]" if x.ndim == 2 else "")
        )
    if x.dtype == np.uint8:
        return x.astype(np.float32) / np.float32(255.0)
    if x.dtype.kind not in "biuf":  # complex too: never cut silently to its real part
        raise ValueError(f"{path}: expected real numbers in {key}, received dtype {x.dtype}")
    x = x.astype(np.float32)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{path}: {key} holds {int(np.sum(~np.isfinite(x)))} non-finite values (nan or inf)")
    return x


def _targets(path: Path, key: str, y: np.ndarray, task: str) -> np.ndarray:
    if task == "regression":
        if y.dtype.kind not in "biuf":
            raise ValueError(f"{path}: expected real-valued targets in {key}, received dtype {y.dtype}")
        return y.astype(np.float32)
    if np.issubdtype(y.dtype, np.floating):
        if not np.all(np.isfinite(y) & (y == np.round(y))):
            raise ValueError(
                f"{path}: {key} holds real values, not class labels; load with task='regression' "
                "for real-valued targets"
            )
    elif not (np.issubdtype(y.dtype, np.integer) or y.dtype == bool):
        raise ValueError(f"{path}: expected integer class labels in {key}, received dtype {y.dtype}")
    if y.ndim != 1:
        raise ValueError(f"{path}: expected class labels of shape (N,) in {key}, received {y.shape}")
    if y.size and y.max() >= MAX_CLASSES:  # before int64 conversion (1e300) or a name per class
        check_class_count(y.max().item(), f"{path}: {key}")
    if y.size and y.min() < 0:
        raise ValueError(f"{path}: {key} holds the negative label {int(y.min())}; expected class "
                         "indices 0, 1, …")
    return y.astype(np.int64)


@register_source("npz", "your arrays: an .npz with x_train, y_train, x_test, y_test (or x, y); any rank")
def load_npz(path: Path, task: str | None = None, test_fraction: float = 0.2, split_seed: int = 0) -> Dataset:
    """Read arrays saved with ``np.savez``; see the module docstring for keys and shapes.

    Args:
        path: the ``.npz`` file.
        task: ``"classification"``, ``"binary"`` or ``"regression"``; default from the dtype
            of ``y`` (integer: classification, float: regression).
        test_fraction: share held out as the test set when the file holds ``x, y`` only.
        split_seed: seed of that split.
    """
    path = Path(path)
    if task is not None and task not in TASKS:
        raise ValueError(f"expected task in {TASKS}, received {task!r}")
    arrays = _read(path)
    keys: tuple[str, ...]
    if set(SPLIT_KEYS) <= set(arrays):
        keys = SPLIT_KEYS
    elif set(SINGLE_KEYS) <= set(arrays):
        keys = SINGLE_KEYS
    else:
        raise ValueError(
            f"{path}: expected arrays named {', '.join(SPLIT_KEYS)} (or x, y), "
            f"received {sorted(arrays) or 'none'}"
        )
    y_key = keys[1]
    if task is None:
        task = "regression" if np.issubdtype(arrays[y_key].dtype, np.floating) else "classification"
    x = {key: _inputs(path, key, arrays[key]) for key in keys[::2]}
    y = {key: _targets(path, key, arrays[key], task) for key in keys[1::2]}
    class_names: tuple[str, ...] | None = None
    if "class_names" in arrays and task != "regression":
        names = arrays["class_names"]
        if names.dtype.kind not in "US" or names.ndim != 1:
            raise ValueError(
                f"{path}: expected class_names as a 1-D string array, received {names.dtype} {names.shape}"
            )
        class_names = tuple(str(n) for n in names)
    elif task != "regression":
        top = max(int(v.max()) for v in y.values() if v.size)
        count = 2 if task == "binary" else check_class_count(top, str(path))
        class_names = tuple(str(k) for k in range(count))
    if keys == SINGLE_KEYS:
        return Dataset.from_arrays(
            x["x"],
            y["y"],
            name=path.stem,
            class_names=class_names,
            task=task,
            test_fraction=test_fraction,
            seed=split_seed,
            description=f"arrays from {path}; {test_fraction:g} held out with seed {split_seed}",
        )
    return Dataset(
        x["x_train"],
        y["y_train"],
        x["x_test"],
        y["y_test"],
        class_names or (),
        path.stem,
        f"arrays from {path}",
        task,
    )
