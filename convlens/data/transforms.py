"""Transforms on whole batches: the base class, :class:`Compose` and :class:`Normalize`.

A transform is a callable ``t(x) -> x'`` on a batch ``(N, C, ...)``. It returns a new array
and never writes into ``x``: a loader may hand out views of the dataset itself. Random
transforms (:mod:`convlens.data.image_augment`, :mod:`convlens.data.signal_augment`) own a
``np.random.default_rng(seed)``, so a seeded pipeline gives the same batches run after run,
and act on every example of the batch at once (no Python loop over examples).

Give augmentations to the *training* loader only (``DataLoader(..., transform=...)``);
evaluate on unaugmented data. :class:`Normalize` is different: fit it on the training split
and apply it to every split (:func:`normalize_dataset`, :func:`convlens.data.prepare_data`).
Token ids (``Dataset.kind == "tokens"``) are never normalized: see :func:`check_can_normalize`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from convlens.data.dataset import Dataset


class BatchTransform:
    """Base class: ``__call__(x)`` maps a batch to a new batch; ``get_config()`` describes it."""

    def __call__(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, JSON-friendly (for a run's config file)."""
        return {}

    def extra_repr(self) -> str:
        return ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


class RandomTransform(BatchTransform):
    """A transform with its own random generator, ``np.random.default_rng(seed)``."""

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed
        self.rng = np.random.default_rng(seed)

    def reseed(self, seed: int | None) -> None:
        """Start the random stream again from ``seed``."""
        self.seed = seed
        self.rng = np.random.default_rng(seed)


def check_batch(name: str, x: np.ndarray, ndim: int | None = None, what: str = "") -> None:
    """Raise ``ValueError`` unless ``x`` is a batch ``(N, C, ...)`` (of rank ``ndim`` if given)."""
    if not isinstance(x, np.ndarray) or x.ndim < 3 or (ndim is not None and x.ndim != ndim):
        shape = getattr(x, "shape", type(x).__name__)
        expected = what or ("(N, C, ...)" if ndim is None else f"rank {ndim}")
        raise ValueError(f"{name}: expected a batch of {expected}, received {shape}")


class Compose(BatchTransform):
    """Apply ``transforms`` one after the other.

    >>> from convlens.data import Compose, RandomCrop, RandomHorizontalFlip
    >>> augment = Compose([RandomCrop(padding=2, seed=0), RandomHorizontalFlip(seed=1)])
    >>> augment(np.zeros((8, 1, 28, 28), np.float32)).shape
    (8, 1, 28, 28)
    """

    def __init__(self, transforms: Sequence[BatchTransform]) -> None:
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise TypeError(f"expected callables in Compose, received {t!r}")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        for t in self.transforms:
            x = t(x)
        return x

    def get_config(self) -> dict[str, Any]:
        return {"transforms": [repr(t) for t in self.transforms]}

    def __repr__(self) -> str:
        inner = ",\n".join(f"    {t!r}" for t in self.transforms)
        return f"Compose([\n{inner}\n])"


class Normalize(BatchTransform):
    """Per-channel standardization: ``x' = (x - mean[c]) / std[c]``.

    ``mean`` and ``std`` are given, or learned by :meth:`fit` from the *training* data
    (fitted attributes ``mean_``, ``std_``, shape ``(C,)``): statistics of the test or
    validation data must not leak into training. A channel with ``std == 0`` (constant) is
    only centred (its std counts as 1).

    Shape: ``(N, C, *spatial)`` -> same; float32 out for float32 in.

    >>> x = np.random.default_rng(0).normal(3.0, 2.0, (100, 2, 5, 5)).astype(np.float32)
    >>> z = Normalize().fit(x)(x)
    >>> bool(abs(z.mean()) < 1e-5 and abs(z.std() - 1) < 1e-3)
    True
    """

    def __init__(self, mean: Sequence[float] | None = None, std: Sequence[float] | None = None) -> None:
        if (mean is None) != (std is None):
            raise ValueError("expected both mean and std, or neither (then call fit)")
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None
        if mean is not None and std is not None:
            m, s = np.asarray(mean, dtype=np.float64).ravel(), np.asarray(std, dtype=np.float64).ravel()
            if m.shape != s.shape:
                raise ValueError(f"expected one std per mean, received {m.size} means and {s.size} stds")
            if np.any(s < 0) or not np.all(np.isfinite(s) & np.isfinite(m)):
                raise ValueError(f"expected finite means and non-negative stds, received mean={m}, std={s}")
            self.mean_, self.std_ = m, s

    def fit(self, x: np.ndarray, chunk: int = 4096) -> Normalize:
        """Learn per-channel mean and (population) std of ``x`` ``(N, C, ...)``; returns ``self``.

        Works through ``chunk`` examples at a time in float64, so memory stays small for
        large training sets.
        """
        check_batch("Normalize.fit", x)
        if len(x) == 0:
            raise ValueError("Normalize.fit: expected at least one example, received an empty batch")
        axes = (0, *range(2, x.ndim))
        count = x.size // x.shape[1]
        total = np.zeros(x.shape[1])
        for start in range(0, len(x), chunk):
            total += x[start : start + chunk].sum(axis=axes, dtype=np.float64)
        mean = total / count
        shape = (1, -1) + (1,) * (x.ndim - 2)
        squares = np.zeros(x.shape[1])
        for start in range(0, len(x), chunk):
            part = x[start : start + chunk]
            deviation = (part.astype(np.float64) - mean.reshape(shape)).reshape(len(part), x.shape[1], -1)
            squares += np.einsum("ncp,ncp->c", deviation, deviation)  # n examples, c channels, p positions
        self.mean_, self.std_ = mean, np.sqrt(squares / count)
        return self

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.mean_ is None or self.std_ is None:
            raise RuntimeError("Normalize is not fitted: call .fit(x_train) first, or pass mean and std")
        check_batch("Normalize", x)
        if x.shape[1] != self.mean_.size:
            raise ValueError(
                f"Normalize: fitted on {self.mean_.size} channel(s), received a batch with "
                f"{x.shape[1]}: {x.shape}"
            )
        shape = (1, -1) + (1,) * (x.ndim - 2)
        dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32
        mean = self.mean_.astype(dtype).reshape(shape)
        std = np.where(self.std_ > 0, self.std_, 1.0).astype(dtype).reshape(shape)
        return (x - mean) / std

    def get_config(self) -> dict[str, Any]:
        if self.mean_ is None or self.std_ is None:
            return {}
        return {"mean": self.mean_.tolist(), "std": self.std_.tolist()}


def check_can_normalize(ds: Dataset) -> None:
    """Raise ``ValueError`` for a token dataset: its ids are categories, not measurements."""
    if ds.kind == "tokens":
        raise ValueError(
            f"{ds.name} holds token ids, which name tokens of its vocabulary rather than measure "
            "anything: standardizing them would feed the Embedding ids that are not tokens. "
            "Train without normalization (leave out --normalize / normalize=True)"
        )


def normalize_dataset(ds: Dataset, normalizer: Normalize | None = None) -> tuple[Dataset, Normalize]:
    """``ds`` standardized with statistics of its training split only, and the fitted normalizer.

    Pass a fitted ``normalizer`` to reuse statistics (e.g. the ones a model was trained with).
    Token datasets are refused (:func:`check_can_normalize`).
    """
    check_can_normalize(ds)
    if normalizer is None:
        normalizer = Normalize().fit(ds.x_train)
    normalized = ds.replace(
        x_train=normalizer(ds.x_train),
        x_test=normalizer(ds.x_test),
        description=f"{ds.description}; standardized per channel with training statistics",
    )
    return normalized, normalizer
