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
from typing import Any

import numpy as np

from convlens.data.dataset import Dataset
from convlens.data.image_augment import (
    RandomCrop,
    RandomErasing,
    RandomHorizontalFlip,
    RandomRotation,
    RandomShift,
)
from convlens.data.loader import DataLoader
from convlens.data.signal_augment import GaussianNoise, RandomScale, RandomTimeShift
from convlens.data.split import train_val_split
from convlens.data.transforms import Compose, Normalize, check_can_normalize


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
        normalize: standardize inputs per channel with statistics of the training part
            (refused for token ids, which are categories).
        augment: a batch transform for training batches only (for token ids: your own; the
            named augmentations are for images and signals).
        seed: seed of the validation split (0 if ``None``) and of the shuffling.
        drop_last: drop the last incomplete training batch.
    """
    if normalize:
        check_can_normalize(ds)
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


# -- augmentations by name (``convlens train --augment``) -----------------------------------------

#: The augmentations ``--augment`` accepts, by input kind, with the settings each name stands
#: for. ``fill``/``value`` 0 is black before normalization and the mean after it. Token ids
#: have none: shifting, scaling or adding noise to an id gives another token, not a variant.
AUGMENTATIONS: dict[str, dict[str, tuple[type, dict[str, Any]]]] = {
    "images": {
        "crop": (RandomCrop, {"padding": 2}),
        "flip": (RandomHorizontalFlip, {"p": 0.5}),
        "shift": (RandomShift, {"max_pixels": 2}),
        "rotate": (RandomRotation, {"degrees": 10.0}),
        "erase": (RandomErasing, {"p": 0.5}),
    },
    "signals": {
        "shift": (RandomTimeShift, {"max_shift": 4}),
        "scale": (RandomScale, {"low": 0.8, "high": 1.2}),
        "noise": (GaussianNoise, {"std": 0.05}),
    },
}


def parse_augment(spec: str | None, kind: str) -> list[str]:
    """The augmentation names of ``spec`` (``"none"``, ``""``/``None`` or a comma list) for ``kind``.

    Raises ``ValueError`` for a name that does not exist for ``kind`` or is repeated.
    """
    if spec is None or spec.strip().lower() in ("", "none"):
        return []
    names = [name.strip().lower() for name in spec.split(",") if name.strip()]
    known = AUGMENTATIONS.get(kind)
    if known is None:
        why = ""
        if kind == "tokens":
            why = " (an id shifted, scaled or noised is another token, not a variant of it)"
        raise ValueError(f"no augmentations are defined for {kind}{why}; use 'none'")
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(
            f"unknown augmentation(s) {', '.join(map(repr, unknown))} for {kind}; "
            f"choose a comma list of: {', '.join(known)} (or 'none')"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"an augmentation is named twice in {spec!r}")
    return names


def make_augment(spec: str | None, kind: str, seed: int = 0) -> Compose | None:
    """The :class:`Compose` of the augmentations named in ``spec`` (see :func:`parse_augment`),
    applied in the order given; ``None`` for no augmentation.

    Transform ``i`` draws from its own generator, seeded from ``(seed, i)``, so the same seed
    repeats the same augmented batches (and a checkpoint can save and restore each generator).
    """
    names = parse_augment(spec, kind)
    if not names:
        return None
    transforms = []
    for i, name in enumerate(names):
        cls, kwargs = AUGMENTATIONS[kind][name]
        sub_seed = int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, 7, i]).generate_state(1)[0])
        transforms.append(cls(**kwargs, seed=sub_seed))
    return Compose(transforms)
