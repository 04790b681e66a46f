"""The dataset registry: ``load_dataset("mnist-5k")`` and the names it knows.

A dataset is a function ``loader(data_dir) -> Dataset`` registered under a name. ``data_dir``
is the folder the user pointed at (``--data-dir``) or ``None``; a loader that needs files
searches it first and then its standard places. New datasets (MNIST, CIFAR-10, image folders,
downloads) are one module each that calls :func:`register_dataset`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from convlens.data.dataset import Dataset

Loader = Callable[[Path | None], Dataset]


@dataclass(frozen=True)
class DatasetInfo:
    """A registered dataset: its name, one-line description and loader."""

    name: str
    description: str
    loader: Loader


_REGISTRY: dict[str, DatasetInfo] = {}


def _normalize(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def register_dataset(name: str, description: str) -> Callable[[Loader], Loader]:
    """Decorator: register ``loader`` under ``name`` (case and ``_``/``-`` do not matter)."""

    def decorate(loader: Loader) -> Loader:
        key = _normalize(name)
        if key in _REGISTRY:
            raise ValueError(f"a dataset named {key!r} is already registered")
        _REGISTRY[key] = DatasetInfo(key, description, loader)
        return loader

    return decorate


def available_datasets() -> list[str]:
    """Names accepted by :func:`load_dataset`, sorted."""
    return sorted(_REGISTRY)


def dataset_info(name: str) -> DatasetInfo:
    """The registry entry for ``name``; unknown names raise ``ValueError`` listing known ones."""
    key = _normalize(name)
    if key not in _REGISTRY:
        raise ValueError(f"unknown dataset {name!r}: expected one of {', '.join(available_datasets())}")
    return _REGISTRY[key]


def load_dataset(name: str, data_dir: str | os.PathLike[str] | None = None) -> Dataset:
    """Load a registered dataset.

    Args:
        name: a name from :func:`available_datasets`, e.g. ``"mnist-5k"`` or
            ``"fashion-mnist"``.
        data_dir: a folder to search for the dataset's files before the standard places
            (datasets shipped inside a package ignore it).

    Returns:
        a :class:`Dataset` with float32 ``(N, C, H, W)`` images in [0, 1] and int64 labels.
    """
    info = dataset_info(name)
    return info.loader(None if data_dir is None else Path(data_dir))
