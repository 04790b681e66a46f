"""Seeded splits: the same seed always gives the same split.

*Stratified* means each class keeps its share: splitting 20 % off a set with 500 images of every
digit takes exactly 100 of each digit, so no class is over- or under-represented by chance.
Real-valued (regression) targets have no classes; they are split at random
(:func:`random_split`): stratifying on them would treat every distinct value as a class.
"""

from __future__ import annotations

import numpy as np


def stratified_split(y: np.ndarray, fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices that split ``y`` into a kept part and a held-out part of about ``fraction``.

    The held-out size is ``round(len(y) * fraction)``, shared among classes in proportion to
    their sizes (largest remainders get the leftover examples). Both index arrays come back in
    a seeded random order, so any prefix of either mixes the classes.

    Args:
        y: ``(N,)`` integer labels.
        fraction: share to hold out, ``0 < fraction < 1``.
        seed: seed for ``np.random.default_rng``.

    Returns:
        ``(keep, held_out)``: two disjoint ``(N - M,)`` and ``(M,)`` int64 index arrays whose
        union is ``range(N)``.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"expected labels of shape (N,), received {y.shape}")
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"expected a fraction strictly between 0 and 1, received {fraction}")
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(y, return_counts=True)
    total = round(len(y) * fraction)
    if not 0 < total < len(y):
        raise ValueError(
            f"holding out {fraction} of {len(y)} examples leaves {total} held out and "
            f"{len(y) - total} kept: expected at least one in each part"
        )
    # largest-remainder apportionment: per-class shares that add up to exactly `total`
    exact = counts * (total / len(y))
    take = np.floor(exact).astype(np.int64)
    leftover = total - int(take.sum())
    take[np.argsort(-(exact - take), kind="stable")[:leftover]] += 1

    keep, held = [], []
    for label, n_held in zip(classes, take):
        members = rng.permutation(np.flatnonzero(y == label))
        held.append(members[:n_held])
        keep.append(members[n_held:])
    return rng.permutation(np.concatenate(keep)), rng.permutation(np.concatenate(held))


def random_split(n: int, fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices that split ``range(n)`` at random into a kept part and ``round(n * fraction)`` held out.

    Returns:
        ``(keep, held_out)``, disjoint int64 index arrays in a seeded random order.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"expected a fraction strictly between 0 and 1, received {fraction}")
    total = round(n * fraction)
    if not 0 < total < n:
        raise ValueError(
            f"holding out {fraction} of {n} examples leaves {total} held out and "
            f"{n - total} kept: expected at least one in each part"
        )
    order = np.random.default_rng(seed).permutation(n)
    return order[total:], order[:total]


def split_indices(y: np.ndarray, fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """:func:`stratified_split` for integer labels, :func:`random_split` for real-valued targets."""
    y = np.asarray(y)
    if np.issubdtype(y.dtype, np.integer) or y.dtype == bool:
        return stratified_split(y, fraction, seed)
    return random_split(len(y), fraction, seed)


def train_val_split(
    x: np.ndarray, y: np.ndarray, val_fraction: float = 0.1, seed: int = 0
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Split training data into a training and a validation part, stratified by label.

    Use the validation part to choose hyperparameters, and the test set only once at the end.
    Float (regression) targets are split at random instead of stratified.

    Args:
        x: ``(N, ...)`` inputs.
        y: ``(N,)`` integer labels, or ``(N,)``/``(N, T)`` float targets.
        val_fraction: share of examples for validation, ``0 < val_fraction < 1``.
        seed: the split is a function of the seed.

    Returns:
        ``((x_train, y_train), (x_val, y_val))``.
    """
    if len(x) != len(y):
        raise ValueError(f"expected as many labels as inputs, received {len(x)} inputs and {len(y)} labels")
    train_idx, val_idx = split_indices(y, val_fraction, seed)
    return (x[train_idx], y[train_idx]), (x[val_idx], y[val_idx])
