"""``mnist1d``: Greydanus' MNIST-1D, 1D signals of length 40 in 10 classes, generated offline.

Each digit is a hand-made 1D template, padded, sheared, scaled, translated, and noised (the
``mnist1d`` package, https://github.com/greydanus/mnist1d). The package can also *download*
a pickled copy; convlens never does: it calls the generator
``mnist1d.data.make_dataset`` directly with the package's default arguments (5,000 signals,
80 % train, seed 42), so the data is the published recipe, made on this machine.

The generated arrays are cached as ``<cache>/mnist1d/mnist1d-n<N>-seed<S>.npz`` (written
atomically, read back without pickle), so later loads take milliseconds instead of seconds.

Notes on the generator, left as the package defines it:

* it seeds and uses NumPy's *global* random state; convlens saves and restores that state
  (and Python's ``random``) around the call, so loading the dataset does not reseed your
  program;
* it standardizes the signals with the mean and standard deviation of train *and* test
  together (a tiny leak, part of the benchmark's definition);
* the split is a prefix/suffix of a shuffled order, so class counts vary slightly
  (e.g. 394-411 per digit in the 4,000 training signals).
"""

from __future__ import annotations

import random
import warnings
import zipfile
from pathlib import Path

import numpy as np

from convlens.data.dataset import Dataset
from convlens.data.download import cache_dir
from convlens.data.registry import register_dataset
from convlens.io import load_arrays, save_arrays

NAME = "mnist1d"
CLASS_NAMES = tuple(str(d) for d in range(10))
DEFAULT_SAMPLES = 5000
DEFAULT_SEED = 42
_KEYS = ("x_train", "y_train", "x_test", "y_test")


def _check_num_samples(num_samples: object) -> None:
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)):
        raise TypeError(f"expected an integer num_samples, received {num_samples!r}")
    if num_samples < 10 or num_samples % 10:
        raise ValueError(
            "expected num_samples a positive multiple of 10 (the generator makes "
            f"num_samples // 10 signals per digit), received {num_samples}"
        )


def generate_mnist1d(num_samples: int = DEFAULT_SAMPLES, seed: int = DEFAULT_SEED) -> dict[str, np.ndarray]:
    """Run the package's generator; returns ``x_train`` ``(M, 1, 40)`` float32 etc.

    ``num_samples`` must be a multiple of 10 (the generator makes ``num_samples // 10``
    signals per digit); 80 % of them become the training set.
    """
    _check_num_samples(num_samples)
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as err:
        raise FileNotFoundError(
            f"mnist1d needs the mnist1d package, which cannot be imported ({err}): run `pip install mnist1d`"
        ) from err
    args = get_dataset_args()
    args.num_samples = int(num_samples)
    args.seed = int(seed)
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        data = make_dataset(args)
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
    return {
        "x_train": data["x"].astype(np.float32)[:, None, :],
        "y_train": data["y"].astype(np.int64),
        "x_test": data["x_test"].astype(np.float32)[:, None, :],
        "y_test": data["y_test"].astype(np.int64),
    }


def _read_cache(path: Path) -> dict[str, np.ndarray] | None:
    try:
        arrays = load_arrays(path)
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        warnings.warn(f"{path}: unreadable cache ({err}); generating the data again", stacklevel=3)
        return None
    if set(_KEYS) <= set(arrays) and arrays["x_train"].ndim == 3:
        return {key: arrays[key] for key in _KEYS}
    warnings.warn(
        f"{path}: not an mnist1d cache (keys {sorted(arrays)}); generating the data again", stacklevel=3
    )
    return None


@register_dataset(
    NAME, "MNIST-1D: 5,000 1D signals of length 40, 10 classes (4,000 / 1,000), generated offline"
)
def load_mnist1d(
    data_dir: Path | None = None,
    num_samples: int = DEFAULT_SAMPLES,
    seed: int = DEFAULT_SEED,
    cache: bool = True,
) -> Dataset:
    """Generate (or read from the cache) MNIST-1D as ``(N, 1, 40)`` float32 signals.

    Args:
        data_dir: cache folder (``<data_dir>/mnist1d/``); default :func:`cache_dir`.
        num_samples: signals in total, a multiple of 10 (the package default 5,000).
        seed: the generator's seed (the package default 42 reproduces the published set's recipe).
        cache: read and write the ``.npz`` cache; ``False`` always generates and writes nothing.
    """
    _check_num_samples(num_samples)
    path = cache_dir(data_dir) / NAME / f"mnist1d-n{int(num_samples)}-seed{int(seed)}.npz"
    arrays = _read_cache(path) if cache and path.is_file() else None
    if arrays is None:
        arrays = generate_mnist1d(num_samples, seed)
        if cache:
            save_arrays(path, arrays)
    return Dataset(
        x_train=arrays["x_train"],
        y_train=arrays["y_train"],
        x_test=arrays["x_test"],
        y_test=arrays["y_test"],
        class_names=CLASS_NAMES,
        name=NAME,
        description=(
            f"MNIST-1D generated by the mnist1d package ({num_samples} signals, seed {seed}); "
            "its own 80/20 split"
        ),
    )
