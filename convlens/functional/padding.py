"""Padding of the spatial axes and its backward pass.

Modes follow PyTorch's ``padding_mode`` names; NumPy's ``np.pad`` does the work:

    zeros     -> constant 0          reflect   -> reflect (edge not repeated)
    replicate -> edge                circular  -> wrap

The backward pass of padding is its adjoint: each padded position hands its gradient back to
the input position it was copied from. We find that position by padding ``arange(n)`` with the
same mode, which works for every mode with one rule.
"""

from __future__ import annotations

import numpy as np

from convlens.functional import parallel
from convlens.functional.conv_arithmetic import Pairs

PADDING_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def check_padding_mode(mode: str) -> str:
    if mode not in PADDING_MODES:
        raise ValueError(
            f"padding_mode must be one of {sorted(PADDING_MODES)}, received {mode!r}"
        )
    return mode


def pad(x: np.ndarray, pads: Pairs, mode: str = "zeros", value: float = 0.0) -> np.ndarray:
    """Pad the trailing ``len(pads)`` axes of ``x`` (N, C, *spatial).

    Returns ``x`` itself when there is nothing to pad.
    """
    if not any(lo or hi for lo, hi in pads):
        return x
    width = [(0, 0)] * (x.ndim - len(pads)) + [tuple(p) for p in pads]
    if mode == "zeros":
        # allocate and copy: the same result as np.pad(mode="constant"), several times faster
        lead = x.ndim - len(pads)
        shape = (*x.shape[:lead], *(n + lo + hi for n, (lo, hi) in zip(x.shape[lead:], pads)))
        padded = np.zeros(shape, x.dtype) if value == 0 else np.full(shape, value, x.dtype)
        interior = (Ellipsis, *(slice(lo, lo + n) for n, (lo, _) in zip(x.shape[lead:], pads)))
        parallel.copyto(padded[interior], x)  # in blocks on the pool's threads
        return padded
    for axis, (lo, hi) in enumerate(pads):
        n = x.shape[x.ndim - len(pads) + axis]
        if mode == "reflect" and max(lo, hi) >= n:
            raise ValueError(
                f"reflect padding {max(lo, hi)} must be smaller than the input size {n}"
            )
        if mode == "circular" and max(lo, hi) > n:
            raise ValueError(
                f"circular padding {max(lo, hi)} must not exceed the input size {n}"
            )
    return np.pad(x, width, mode=PADDING_MODES[mode])  # type: ignore[call-overload]


def pad_backward(dxp: np.ndarray, pads: Pairs, mode: str = "zeros") -> np.ndarray:
    """Gradient with respect to the unpadded input, given the gradient of the padded one."""
    if not any(lo or hi for lo, hi in pads):
        return dxp
    lead = dxp.ndim - len(pads)
    if mode == "zeros":
        index = tuple(slice(lo, dxp.shape[lead + i] - hi) for i, (lo, hi) in enumerate(pads))
        return dxp[(Ellipsis, *index)]
    grad = dxp
    for i, (lo, hi) in enumerate(pads):
        axis = lead + i
        n = grad.shape[axis] - lo - hi
        source = np.pad(np.arange(n), (lo, hi), mode=PADDING_MODES[mode])  # type: ignore[call-overload]
        moved = np.moveaxis(grad, axis, 0)
        folded = np.zeros((n,) + moved.shape[1:], dtype=grad.dtype)
        np.add.at(folded, source, moved)
        grad = np.moveaxis(folded, 0, axis)
    return grad
