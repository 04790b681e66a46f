"""Which implementation the layers use: the fast im2col engine or the plain loops.

    with convlens.functional.use_loops():
        model(x)          # every Conv and Pool layer runs the seeds' nested loops

The loop version gives the same numbers, thousands of times slower: a way to see what
vectorization buys. Backward passes follow whichever implementation ran the forward.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

_use_loops = False


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
