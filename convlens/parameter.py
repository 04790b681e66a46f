"""`Parameter`: a learnable array and the gradient of the loss with respect to it."""

from __future__ import annotations

import numpy as np


class Parameter:
    """A learnable array with its gradient.

    Attributes:
        data: the values, an ``np.ndarray`` (float32 by default).
        grad: ``dL/d(data)`` with the same shape, or ``None`` before the first backward pass.
            Backward passes *accumulate* into ``grad`` (as PyTorch does), so a parameter used
            twice receives the sum of both contributions; ``optimizer.zero_grad()`` clears it.
        requires_grad: when False the parameter is frozen: optimizers skip it.
    """

    __slots__ = ("data", "grad", "requires_grad")

    def __init__(self, data: np.ndarray, requires_grad: bool = True) -> None:
        self.data = np.asarray(data)
        self.grad: np.ndarray | None = None
        self.requires_grad = requires_grad

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        return int(self.data.size)

    def accumulate_grad(self, grad: np.ndarray) -> None:
        """Add ``grad`` to ``self.grad`` (creating it on first use)."""
        if grad.shape != self.data.shape:
            raise ValueError(
                f"gradient shape {grad.shape} does not match parameter shape {self.data.shape}"
            )
        if self.grad is None:
            self.grad = grad.astype(self.data.dtype, copy=True)
        else:
            self.grad += grad

    def zero_grad(self, set_to_none: bool = True) -> None:
        if set_to_none or self.grad is None:
            self.grad = None
        else:
            self.grad.fill(0)

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"
