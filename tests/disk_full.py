"""Test helper: a disk that fills up in the middle of writing a file (``OSError`` ENOSPC)."""

import contextlib
import errno

import convlens.io


class _FullDisk:
    """A file whose writes stop with ENOSPC once ``budget`` bytes are written."""

    def __init__(self, handle, budget):
        self._handle, self._budget = handle, budget

    def write(self, data):
        if len(data) > self._budget:
            self._handle.write(data[: self._budget])
            self._budget = 0
            raise OSError(errno.ENOSPC, "No space left on device")
        self._budget -= len(data)
        return self._handle.write(data)

    def __getattr__(self, name):
        return getattr(self._handle, name)


def full_disk(monkeypatch, suffix, budget=300):
    """Make files ending in ``suffix`` run out of space after ``budget`` bytes."""
    real = convlens.io.atomic_write

    @contextlib.contextmanager
    def atomic_write(path, mode="wb"):
        with real(path, mode) as handle:
            yield _FullDisk(handle, budget) if str(path).endswith(suffix) else handle

    monkeypatch.setattr(convlens.io, "atomic_write", atomic_write)
