"""How the explain trace writes numbers and arrays.

Five significant digits by default, which is the precision of seed 004's slides
(e^5.6 ≈ 270.43, p ≈ [0.99998, 1.8458e-05]); whole numbers without a decimal point. Values that
an update changes only slightly get enough digits to show the change (see
:func:`digits_for_change`): 1 + 0.1·1.8458e-05 is written 1.00000185, not 1.
"""

from __future__ import annotations

import math

import numpy as np

DIGITS = 5


def fmt(value: float, digits: int = DIGITS) -> str:
    """``5.0 -> '5'``, ``1.8458e-05 -> '1.8458e-05'``, ``-0.0 -> '0'``."""
    v = float(value)
    if v == 0:
        return "0"
    if math.isnan(v) or math.isinf(v):
        return str(v)
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.{digits}g}"


def signed(value: float, digits: int = DIGITS) -> str:
    """A number inside a formula: negatives in parentheses, ``(−0.5)``."""
    text = fmt(value, digits)
    return f"({text})" if text.startswith("-") else text


def max_digits(dtype: np.dtype) -> int:
    """Digits worth printing for a dtype (float32 holds about 7)."""
    dtype = np.dtype(dtype)
    if np.issubdtype(dtype, np.floating):
        return min(np.finfo(dtype).precision + 2, 12)
    return 12


def digits_for_change(before: np.ndarray, after: np.ndarray, cap: int = 17) -> np.ndarray:
    """Per element, the significant digits that show the change from ``before`` to ``after``
    (three digits of the change, at least :data:`DIGITS`, at most ``cap``)."""
    before, after = np.asarray(before, dtype=np.float64), np.asarray(after, dtype=np.float64)
    change = np.abs(after - before)
    scale = np.maximum(np.abs(before), np.abs(after))
    digits = np.full(after.shape, DIGITS, dtype=np.int64)
    moved = (change > 0) & (scale > 0)
    relative = np.where(moved, change / np.where(scale > 0, scale, 1.0), 1.0)
    needed = np.ceil(-np.log10(relative)).astype(np.int64) + 3
    digits[moved] = np.clip(needed[moved], DIGITS, cap)
    return digits


Digits = int | np.ndarray


def _cells(a: np.ndarray, digits: Digits) -> np.ndarray:
    """Every element written out; ``digits`` is one int or one per element."""
    d = np.broadcast_to(np.asarray(digits), a.shape)
    out = np.empty(a.shape, dtype=object)
    for idx in np.ndindex(*a.shape):
        out[idx] = fmt(a[idx], int(d[idx]))
    return out


def matrix(array: np.ndarray, digits: Digits = DIGITS, indent: str = "") -> str:
    """A 0-, 1- or 2-D array as aligned rows: ``[[ 5,  7],`` / `` [11, 10]]``."""
    a = np.asarray(array)
    if a.ndim > 2:
        raise ValueError(f"matrix() takes at most 2 axes, received shape {a.shape}")
    text = _cells(a, digits)
    if a.ndim == 0:
        return indent + str(text[()])
    if a.ndim == 1:
        return indent + "[" + ", ".join(text) + "]"
    cells = text.tolist()
    width = max((len(c) for row in cells for c in row), default=1)
    rows = ["[" + ", ".join(c.rjust(width) for c in row) + "]" for row in cells]
    lines = []
    for i, row in enumerate(rows):
        opening = "[" if i == 0 else " "
        closing = "]" if i == len(rows) - 1 else ","
        lines.append(indent + opening + row + closing)
    return "\n".join(lines)


def statistics(array: np.ndarray, digits: int = 4) -> str:
    """One line for an array too large to print: shape, size, min, max, mean."""
    a = np.asarray(array, dtype=np.float64)
    if a.size == 0:
        return f"shape {a.shape}, empty"
    return (f"shape {a.shape}, {a.size:,} values: min {fmt(a.min(), digits)}, "
            f"max {fmt(a.max(), digits)}, mean {fmt(a.mean(), digits)}")


def inline(array: np.ndarray, digits: Digits = DIGITS) -> str:
    """An array on one line, nested like a list: ``[[5, 7], [11, 10]]``."""
    a = np.asarray(array)
    text = _cells(a, digits)

    def nest(t: np.ndarray | str) -> str:
        if not isinstance(t, np.ndarray):
            return t
        if t.ndim == 0:
            return str(t[()])
        return "[" + ", ".join(nest(item) for item in t) + "]"

    return nest(text)


def axes(values: tuple[int, ...] | list[int]) -> str:
    """Per-axis hyperparameters: ``(2, 2) -> '2'``, ``(3, 1) -> '3×1'``."""
    values = [int(v) for v in values]
    return str(values[0]) if len(set(values)) == 1 else "×".join(map(str, values))
