"""Optional dependencies: import them on first use, or say how to install them.

``import convlens`` needs none of torch, keras or h5py; the bridges that do import them through
:func:`require`, which turns a missing package into a :class:`MissingExtraError` carrying the
``pip install "convlens[extra]"`` command.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from convlens.io.formats import MissingExtraError


def require(package: str, extra: str, what: str) -> ModuleType:
    """Import ``package`` for ``what`` (e.g. "converting to PyTorch") or raise
    :class:`MissingExtraError` naming the extra that brings it."""
    try:
        return importlib.import_module(package)
    except ImportError:
        raise MissingExtraError(
            f"{what} needs the package {package!r}, which is not installed; "
            f'install it with: pip install "convlens[{extra}]"'
        ) from None
