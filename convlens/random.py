"""The random number generator behind weight initialization, dropout and shuffling.

``convlens.manual_seed(seed)`` makes every random choice convlens makes reproducible,
like ``torch.manual_seed``. Components that take their own ``seed`` argument use it instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_rng = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the global generator; returns it."""
    global _rng
    _rng = np.random.default_rng(seed)
    return _rng


def get_rng() -> np.random.Generator:
    """The global generator (set by :func:`manual_seed`)."""
    return _rng


def get_rng_state() -> dict[str, Any]:
    """The generator's full state, JSON-serializable, to save with a checkpoint."""
    return dict(_rng.bit_generator.state)


def set_rng_state(state: dict) -> None:
    _rng.bit_generator.state = state
