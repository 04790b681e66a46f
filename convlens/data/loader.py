"""`DataLoader`: mini-batches of a pair of arrays, shuffled with a seed."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np


class DataLoader:
    """Iterate over ``(xb, yb)`` mini-batches of ``(x, y)``.

    With ``shuffle=True`` every pass (epoch) visits the examples in a new random order drawn
    from one ``np.random.default_rng(seed)``: two loaders built with the same seed yield the
    same batches epoch after epoch, and ``seed=None`` draws fresh entropy.

    Args:
        x: ``(N, ...)`` inputs, e.g. ``(N, C, H, W)`` images.
        y: ``(N,)`` labels.
        batch_size: examples per batch; the last batch is smaller when ``N`` is not a
            multiple, unless ``drop_last``.
        shuffle: new random order each epoch; ``False`` keeps the stored order.
        seed: seed of the shuffling generator.
        drop_last: skip the last, incomplete batch.
        transform: applied to every input batch ``xb`` as it is yielded, e.g. a
            :class:`~convlens.data.Compose` of augmentations with their own seeds. Give it to
            the training loader only; evaluation loaders get none.

    ``len(loader)`` is the number of batches per epoch: ``⌈N / batch_size⌉``, or
    ``⌊N / batch_size⌋`` with ``drop_last``.
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        batch_size: int,
        shuffle: bool = True,
        seed: int | None = None,
        drop_last: bool = False,
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        if len(x) != len(y):
            raise ValueError(
                f"expected as many labels as inputs, received {len(x)} inputs and {len(y)} labels"
            )
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError(f"expected an integer batch_size, received {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"expected batch_size >= 1, received {batch_size}")
        if transform is not None and not callable(transform):
            raise TypeError(f"expected a callable transform, received {transform!r}")
        self.x = x
        self.y = y
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.transform = transform
        self._rng = np.random.default_rng(seed)

    @property
    def num_samples(self) -> int:
        return len(self.x)

    def __len__(self) -> int:
        if self.drop_last:
            return self.num_samples // self.batch_size
        return -(-self.num_samples // self.batch_size)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        n = self.num_samples
        order = self._rng.permutation(n) if self.shuffle else None
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            stop = min(start + self.batch_size, n)
            if order is None:
                xb, yb = self.x[start:stop], self.y[start:stop]  # views: transforms never write into xb
            else:
                idx = order[start:stop]
                xb, yb = self.x[idx], self.y[idx]
            yield (xb if self.transform is None else self.transform(xb)), yb

    def __repr__(self) -> str:
        return (
            f"DataLoader(num_samples={self.num_samples}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, seed={self.seed}, drop_last={self.drop_last}"
            + (f", transform={self.transform!r})" if self.transform is not None else ")")
        )
