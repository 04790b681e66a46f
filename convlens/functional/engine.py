"""Engine switches: plain loops or im2col, and whether a backward pass will follow.

Which implementation the layers use: the fast im2col engine or the plain loops.

    with convlens.functional.use_loops():
        model(x)          # every Conv and Pool layer runs the seeds' nested loops

The loop version gives the same numbers, thousands of times slower: a way to see what
vectorization buys. Backward passes follow whichever implementation ran the forward.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

_use_loops = False
_grad_enabled = True


def loops_enabled() -> bool:
    return _use_loops


def set_use_loops(enabled: bool) -> None:
    global _use_loops
    _use_loops = bool(enabled)


@contextlib.contextmanager
def use_loops(enabled: bool = True) -> Iterator[None]:
    """Run Conv and Pool layers with plain Python loops inside this block."""
    previous = _use_loops
    set_use_loops(enabled)
    try:
        yield
    finally:
        set_use_loops(previous)


def grad_enabled() -> bool:
    return _grad_enabled


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Forward passes inside this block keep nothing for a backward pass (as
    ``torch.no_grad``): faster inference, less memory. Calling ``backward`` afterwards
    raises the usual "forward first" error."""
    global _grad_enabled
    previous = _grad_enabled
    _grad_enabled = False
    try:
        yield
    finally:
        _grad_enabled = previous


@contextlib.contextmanager
def enable_grad() -> Iterator[None]:
    """Undo an enclosing ``no_grad()`` inside this block (as ``torch.enable_grad``)."""
    global _grad_enabled
    previous = _grad_enabled
    _grad_enabled = True
    try:
        yield
    finally:
        _grad_enabled = previous
