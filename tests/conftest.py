"""Shared test setup: one torch thread per worker, and the oracle on the import path.

The parity suites compare convlens with PyTorch through the helpers in ``torch_oracle.py``
(next to this file). Test folders have no ``__init__.py``, so test files need unique basenames
under pytest's default import mode: ``convlens/layers/conv.py`` is tested in
``tests/layers/test_conv.py`` and ``convlens/functional/conv.py`` in
``tests/functional/test_conv_ops.py``. The tests folder is put on ``sys.path`` here so that
``import torch_oracle`` also works under ``--import-mode=importlib``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# pytest-xdist runs one worker per core. BLAS libraries would start one thread per core in
# every worker, and oversubscribed OpenBLAS threads spin: the suite runs 2-3x slower. One
# thread per worker (set before NumPy is first imported; an explicit setting wins).
if os.environ.get("PYTEST_XDIST_WORKER"):
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

try:  # the torch oracle is a test dependency; the data tests do not need it
    import torch
except ImportError:  # pragma: no cover
    torch = None
else:
    # pytest-xdist runs one process per core; more torch threads would only fight over them.
    torch.set_num_threads(1)


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _offline_with_a_private_data_cache(tmp_path_factory, monkeypatch):
    """No test downloads anything or touches the user's cache: downloads are refused
    (``CONVLENS_OFFLINE``) and the cache folder is a temporary one per test session."""
    monkeypatch.setenv("CONVLENS_OFFLINE", "1")
    monkeypatch.setenv("CONVLENS_DATA", str(tmp_path_factory.getbasetemp() / "convlens-data"))
