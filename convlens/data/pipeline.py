"""``prepare_data``: from a :class:`Dataset` to a training loader and the held-out arrays.

The order matters and is fixed here so every caller gets it right:

1. split a validation part off the *training* set (seeded; stratified by class, at random
   for regression targets); the test set stays untouched;
2. fit :class:`~convlens.data.Normalize` on the remaining training part only, and apply it
   to training, validation and test inputs;
3. wrap the training part in a shuffling :class:`~convlens.data.DataLoader`, with the
   augmentations (if any) applied to its batches, after normalization.

>>> from convlens.data import load_dataset, prepare_data
>>> data = prepare_data(load_dataset("mnist-5k"), batch_size=64, val_fraction=0.1, normalize=True)
>>> len(data.train.y), len(data.val[1]), len(data.test[1])
(3600, 400, 1000)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from convlens.data.dataset import Dataset
from convlens.data.loader import DataLoader
from convlens.data.split import train_val_split
from convlens.data.transforms import Normalize


@dataclass
class PreparedData:
    """What training needs.

    Attributes:
        train: shuffling loader over the training part (augmented if asked).
        val: ``(x, y)`` validation part, or ``None`` without ``val_fraction``.
        test: ``(x, y)`` test set.
        normalizer: the fitted :class:`Normalize` (store ``get_config()`` with the model), or ``None``.
    """

    train: DataLoader
    val: tuple[np.ndarray, np.ndarray] | None
    test: tuple[np.ndarray, np.ndarray]
    normalizer: Normalize | None


def prepare_data(
    ds: Dataset,
    batch_size: int,
    *,
    val_fraction: float = 0.0,
    normalize: bool = False,
    augment: Callable[[np.ndarray], np.ndarray] | None = None,
    seed: int | None = 0,
    drop_last: bool = False,
) -> PreparedData:
    """Split, normalize with training statistics, and batch; see the module docstring.

    Args:
        ds: the dataset.
        batch_size: examples per training batch.
        val_fraction: share of the training set held out for validation (0: none).
        normalize: standardize inputs per channel with statistics of the training part.
        augment: a batch transform for training batches only.
        seed: seed of the validation split (0 if ``None``) and of the shuffling.
        drop_last: drop the last incomplete training batch.
    """
    x_train, y_train = ds.x_train, ds.y_train
    val: tuple[np.ndarray, np.ndarray] | None = None
    if val_fraction:
        (x_train, y_train), val = train_val_split(x_train, y_train, val_fraction, seed=seed or 0)
    test = (ds.x_test, ds.y_test)
    normalizer = None
    if normalize:
        normalizer = Normalize().fit(x_train)
        x_train = normalizer(x_train)
        test = (normalizer(test[0]), test[1])
        if val is not None:
            val = (normalizer(val[0]), val[1])
    loader = DataLoader(
        x_train, y_train, batch_size, shuffle=True, seed=seed, drop_last=drop_last, transform=augment
    )
    return PreparedData(loader, val, test, normalizer)
