"""Dropout layers: ``Dropout`` (element-wise) and ``Dropout1d/2d/3d`` (whole channels).

In training each element (or channel) is zeroed with probability p and the survivors are
scaled by 1/(1 − p); in eval mode (``model.eval()``) the layer is the identity. See
:mod:`convlens.functional.dropout`. Masks come from ``convlens.manual_seed``'s generator, or
from the layer's own generator when it is built with ``seed=``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convlens.functional.conv_arithmetic import check_rank
from convlens.functional.dropout import (
    DropoutCache,
    channel_mask_shape,
    check_probability,
    dropout_backward,
    dropout_forward,
    dropout_mask,
)
from convlens.layers.module import Module
from convlens.random import get_rng


class Dropout(Module):
    """Inverted dropout: ``y = x ⊙ M / (1 − p)`` in training, ``y = x`` in eval.

    Args:
        p: probability of zeroing each element, in [0, 1] (default 0.5).
        seed: if given, the layer draws its masks from its own generator seeded with it
            (reproducible whatever else uses the global generator); otherwise from
            ``convlens.random.get_rng()`` (set by ``convlens.manual_seed``).
        always: drop in eval mode too (Monte Carlo dropout; ONNX's ``training_mode=True``).
        return_mask: also return the keep-mask, ``y, mask = dropout(x)`` (bool, x's shape;
            all True when nothing is dropped), as ONNX's Dropout does. It has no gradient.
        reseed: with ``seed``, draw every mask from a fresh NumPy ``RandomState(seed)``
            (``uniform(0, 1) >= p``): the same mask at every call, exactly the mask ONNX's
            reference implementation draws for a Dropout node with that ``seed``.

    Shape: any -> the same shape. Each element is kept independently with probability 1 − p.
    """

    def __init__(self, p: float = 0.5, seed: int | None = None, always: bool = False,
                 return_mask: bool = False, reseed: bool = False) -> None:
        super().__init__()
        name = type(self).__name__
        self.p = check_probability(name, p)
        self.seed = seed
        if reseed and seed is None:
            raise ValueError(f"{name}: reseed=True draws each mask from RandomState(seed), so it "
                             "needs a seed, received seed=None")
        self.always, self.return_mask, self.reseed = bool(always), bool(return_mask), bool(reseed)
        self._rng = None if seed is None else np.random.default_rng(seed)
        self._cache: DropoutCache | None = None

    def _mask_shape(self, x: np.ndarray) -> tuple[int, ...]:
        return x.shape

    def _check_input(self, x: np.ndarray) -> None:
        pass

    def forward(self, x: np.ndarray) -> Any:
        self._check_input(x)
        if not (self.training or self.always) or self.p == 0.0:
            y, self._cache = dropout_forward(x, None, self.p)
            return (y, np.ones(x.shape, dtype=bool)) if self.return_mask else y
        rng: Any = self._rng if self._rng is not None else get_rng()
        if self.reseed:
            rng = np.random.RandomState(self.seed)   # NumPy's legacy generator, as ONNX's reference
        mask = dropout_mask(self._mask_shape(x), self.p, rng)
        y, self._cache = dropout_forward(x, mask, self.p)
        return (y, np.broadcast_to(mask, x.shape).copy()) if self.return_mask else y

    def backward(self, dy: Any, need_input_grad: bool = True) -> np.ndarray | None:
        if self.return_mask:
            dy = dy[0]   # the mask has no gradient
        cache = self._cached()
        return dropout_backward(dy, cache) if need_input_grad else None

    @property
    def mask(self) -> np.ndarray | None:
        """The keep-mask of the last training forward pass (None in eval mode)."""
        return None if self._cache is None else self._cache.mask

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"p": self.p}
        if self.seed is not None:
            config["seed"] = self.seed
        config.update({flag: True for flag in ("always", "return_mask", "reseed")
                       if getattr(self, flag)})
        return config


class _DropoutNd(Dropout):
    """Channel-wise dropout: each channel of each example is zeroed as a whole with
    probability p (mask (N, C, 1, …)); kept channels are scaled by 1/(1 − p).

    Shape: (N, C, *S) -> the same (len(S) = 1, 2, 3 for Dropout1d/2d/3d).
    """

    ndim = 2

    def _check_input(self, x: np.ndarray) -> None:
        check_rank(type(self).__name__, x.shape, self.ndim)

    def _mask_shape(self, x: np.ndarray) -> tuple[int, ...]:
        return channel_mask_shape(x.shape)


class Dropout1d(_DropoutNd):
    """Zeroes whole channels of (N, C, L) sequences."""

    ndim = 1


class Dropout2d(_DropoutNd):
    """Zeroes whole feature maps of (N, C, H, W) images (spatial dropout)."""

    ndim = 2


class Dropout3d(_DropoutNd):
    """Zeroes whole channels of (N, C, D, H, W) volumes."""

    ndim = 3
