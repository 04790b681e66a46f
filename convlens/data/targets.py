"""Tasks beyond classification from a classification dataset: regression and binary targets.

* :func:`as_regression` replaces the labels with a number computed from each input;
  :func:`mean_brightness` and :func:`ink_pixels` are two such numbers for images.
* :func:`as_binary` asks one yes/no question: "is it class k?" (label 1) or not (label 0).

Registered variants of ``mnist-5k`` (same images, same split)::

    mnist-5k-brightness   regression: mean pixel value of the digit, in [0, 1] (about 0.13 on average)
    mnist-5k-ink          regression: number of pixels brighter than 0.5, a stroke-length-like count
    mnist-5k-is-0         binary: 1 for a zero, 0 for any other digit (10 % positives)

>>> from convlens.data import load_dataset
>>> ds = load_dataset("mnist-5k-is-0")
>>> ds.task, ds.num_outputs, ds.class_names
('binary', 1, ('not 0', '0'))
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from convlens.data.dataset import Dataset
from convlens.data.mnist_5k import load_mnist_5k
from convlens.data.registry import register_dataset

TargetFn = Callable[[np.ndarray], np.ndarray]


def mean_brightness(x: np.ndarray) -> np.ndarray:
    """``(N,)`` float32: the mean of each example over channels and positions."""
    return x.reshape(len(x), -1).mean(axis=1, dtype=np.float64).astype(np.float32)


def ink_pixels(x: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """``(N,)`` float32: how many values of each example exceed ``threshold`` (stroke length, roughly)."""
    return (x.reshape(len(x), -1) > threshold).sum(axis=1).astype(np.float32)


def as_regression(ds: Dataset, target: TargetFn, target_name: str, name: str | None = None) -> Dataset:
    """``ds`` with float32 targets ``target(x)`` in place of its labels.

    Args:
        ds: any dataset (its labels are dropped).
        target: maps ``(N, C, ...)`` inputs to ``(N,)`` or ``(N, T)`` numbers.
        target_name: what the target is, for summaries and plots (``"mean brightness"``).
        name: the new dataset's name (default ``"<ds.name>-regression"``).
    """
    y_train, y_test = (np.asarray(target(x), dtype=np.float32) for x in (ds.x_train, ds.x_test))
    targets = 1 if y_train.ndim == 1 else y_train.shape[1]
    names = (target_name,) if targets == 1 else tuple(f"{target_name}[{i}]" for i in range(targets))
    return ds.replace(
        y_train=y_train,
        y_test=y_test,
        class_names=(),
        name=name or f"{ds.name}-regression",
        task="regression",
        target_names=names,
        description=f"{ds.description}; target: {target_name}",
    )


def as_binary(ds: Dataset, positive: int | str, name: str | None = None) -> Dataset:
    """``ds`` with label 1 for class ``positive`` (an index or a class name) and 0 for the rest."""
    if isinstance(positive, str):
        if positive not in ds.class_names:
            raise ValueError(f"{ds.name}: no class named {positive!r}; classes: {list(ds.class_names)}")
        k = ds.class_names.index(positive)
    else:
        k = int(positive)
        if not 0 <= k < ds.num_classes:
            raise ValueError(
                f"{ds.name}: expected a class index in [0, {ds.num_classes - 1}], received {positive}"
            )
    label = ds.class_names[k]
    return ds.replace(
        y_train=(ds.y_train == k).astype(np.int64),
        y_test=(ds.y_test == k).astype(np.int64),
        class_names=(f"not {label}", label),
        name=name or f"{ds.name}-is-{label}",
        task="binary",
        description=f"{ds.description}; binary: is it {label!r}?",
    )


@register_dataset("mnist-5k-brightness", "mnist-5k as regression: predict each digit's mean brightness")
def load_mnist_5k_brightness(data_dir: Path | None = None) -> Dataset:
    return as_regression(load_mnist_5k(data_dir), mean_brightness, "mean brightness", "mnist-5k-brightness")


@register_dataset("mnist-5k-ink", "mnist-5k as regression: predict how many pixels are ink (> 0.5)")
def load_mnist_5k_ink(data_dir: Path | None = None) -> Dataset:
    return as_regression(load_mnist_5k(data_dir), ink_pixels, "ink pixels", "mnist-5k-ink")


@register_dataset("mnist-5k-is-0", "mnist-5k as a binary task: is the digit a 0?")
def load_mnist_5k_is_0(data_dir: Path | None = None) -> Dataset:
    return as_binary(load_mnist_5k(data_dir), 0, "mnist-5k-is-0")
