"""Random augmentations of signal batches ``(N, C, L)``, vectorized over the batch.

=========================  ======================================================
:class:`RandomTimeShift`   move each signal by up to ``max_shift`` steps in time
                           (``fill`` behind, or wrapped around with ``wrap=True``)
:class:`RandomScale`       multiply each signal by a factor in ``[low, high]``
:class:`GaussianNoise`     add independent normal noise of standard deviation ``std``
=========================  ======================================================

Each example gets its own draw; all channels of one example move and scale together. Shapes
and dtypes are kept, and the input is never modified.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convlens.data.transforms import RandomTransform, check_batch

SIGNALS = "signals (N, C, L)"


class RandomTimeShift(RandomTransform):
    """Shift each signal by ``s`` steps, ``s`` uniform in ``[-max_shift, max_shift]``.

    ``out[n, :, t] = x[n, :, t - s]``: a positive ``s`` delays the signal. Steps shifted in
    from outside are ``fill``, or, with ``wrap=True``, the ones shifted out at the other end.
    """

    def __init__(
        self, max_shift: int = 4, wrap: bool = False, fill: float = 0.0, seed: int | None = None
    ) -> None:
        super().__init__(seed)
        if isinstance(max_shift, bool) or not isinstance(max_shift, (int, np.integer)) or max_shift < 0:
            raise ValueError(f"expected max_shift a non-negative int, received {max_shift!r}")
        self.max_shift, self.wrap, self.fill = int(max_shift), bool(wrap), float(fill)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        check_batch("RandomTimeShift", x, 3, SIGNALS)
        n, _, length = x.shape
        shift = np.asarray(self.rng.integers(-self.max_shift, self.max_shift + 1, size=n))
        source = np.arange(length)[None, :] - shift[:, None]  # (N, L) time index read from
        if self.wrap:
            return np.take_along_axis(x, (source % length)[:, None, :], axis=2)
        inside = (source >= 0) & (source < length)
        values = np.take_along_axis(x, np.clip(source, 0, length - 1)[:, None, :], axis=2)
        return np.where(inside[:, None, :], values, np.asarray(self.fill, dtype=x.dtype))

    def get_config(self) -> dict[str, Any]:
        return {"max_shift": self.max_shift, "wrap": self.wrap, "fill": self.fill, "seed": self.seed}


class RandomScale(RandomTransform):
    """Multiply each signal by a factor drawn uniformly from ``[low, high]`` (amplitude)."""

    def __init__(self, low: float = 0.8, high: float = 1.2, seed: int | None = None) -> None:
        super().__init__(seed)
        if not low <= high:
            raise ValueError(f"expected low <= high, received low={low}, high={high}")
        self.low, self.high = float(low), float(high)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        check_batch("RandomScale", x, 3, SIGNALS)
        factor = self.rng.uniform(self.low, self.high, len(x)).astype(x.dtype)
        return x * factor[:, None, None]

    def get_config(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "seed": self.seed}


class GaussianNoise(RandomTransform):
    """Add noise ``N(0, std^2)``, independent for every value."""

    def __init__(self, std: float = 0.05, seed: int | None = None) -> None:
        super().__init__(seed)
        if not std >= 0:
            raise ValueError(f"expected std >= 0, received {std}")
        self.std = float(std)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        check_batch("GaussianNoise", x, 3, SIGNALS)
        return x + self.rng.normal(0.0, self.std, x.shape).astype(x.dtype)

    def get_config(self) -> dict[str, Any]:
        return {"std": self.std, "seed": self.seed}
