"""Arrays as JSON: nested lists of plain floats, NaN and infinities as ``null``."""

from __future__ import annotations

from typing import Any

import numpy as np


def _clean(v: Any) -> Any:
    if isinstance(v, list):
        return [_clean(u) for u in v]
    return v if np.isfinite(v) else None


def array_json(a: Any) -> Any:
    """``a`` as nested lists of Python floats (``None`` where a value is not finite)."""
    arr = np.asarray(a, dtype=np.float64)
    values = arr.tolist()
    return values if np.isfinite(arr).all() else _clean(values)


def number(v: Any) -> float | None:
    """One number as a JSON float (``None`` if not finite)."""
    f = float(v)
    return f if np.isfinite(f) else None
