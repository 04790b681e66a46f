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


# -- tests that read files of a Debian package -------------------------------------------------
# README's test command must pass on a machine where only Python is installed: a test marked
# ``@pytest.mark.debian("fashion-mnist")`` (or "word-lists", "chromium") skips there, and its
# reason is the exact line that installs what it needs. .ci/run installs every package, and on CI
# (the CI variable set) a missing file fails the test instead, so a skip cannot hide there.
DEBIAN_FILES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # name: (Debian packages, files they install that the tests read)
    "fashion-mnist": (("dataset-fashion-mnist",), tuple(
        f"/usr/share/datasets/fashion-mnist/{stem}-ubyte.gz"
        for stem in ("train-images-idx3", "train-labels-idx1", "t10k-images-idx3", "t10k-labels-idx1"))),
    "word-lists": (
        ("wamerican", "wfrench", "wngerman", "wspanish", "witalian", "wportuguese", "wdutch"),
        tuple(f"/usr/share/dict/{name}" for name in (
            "american-english", "french", "ngerman", "spanish", "italian", "portuguese", "dutch"))),
    "chromium": (("chromium",), ("/usr/bin/chromium",)),
}


def debian_install_line(name: str) -> str:
    """``"apt-get install …"`` for the Debian files called ``name`` in :data:`DEBIAN_FILES`."""
    return "apt-get install " + " ".join(DEBIAN_FILES[name][0])


def missing_debian(name: str) -> str | None:
    """Why a test marked ``debian(name)`` cannot run here (``None`` when it can)."""
    if name not in DEBIAN_FILES:
        raise ValueError(f"expected a Debian file set in {sorted(DEBIAN_FILES)}, received {name!r}")
    missing = [path for path in DEBIAN_FILES[name][1] if not Path(path).is_file()]
    if not missing:
        return None
    return f"needs {missing[0]} (Debian's {name}): {debian_install_line(name)}"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "debian(name): reads files of a Debian package (fashion-mnist, word-lists, chromium); "
        "skips without them, naming the apt-get install line")


def pytest_runtest_setup(item):
    for mark in item.iter_markers("debian"):
        for name in mark.args:
            reason = missing_debian(name)
            if reason is None:
                continue
            if os.environ.get("CI"):
                pytest.fail(f"{reason} (.ci/run installs it)", pytrace=False)
            pytest.skip(reason)
