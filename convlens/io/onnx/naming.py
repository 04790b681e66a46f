"""One naming rule for both directions: a name not used yet, made from a hint."""

from __future__ import annotations


def unique_name(hint: str, used: set[str]) -> str:
    """``hint``, or ``hint_2``, ``hint_3``, … the first not in ``used``; it is added to ``used``."""
    name, k = hint, 2
    while name in used:
        name, k = f"{hint}_{k}", k + 1
    used.add(name)
    return name
