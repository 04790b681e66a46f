"""More cores for the element-wise work (opt-in): a small thread pool over blocks of an array.

NumPy runs element-wise operations (ReLU, masks, pooling taps, batch-norm passes) and copies
(im2col, col2im, transposes) on one thread; only the matrix products use the BLAS threads.
But NumPy releases the GIL inside ufuncs and copies, so Python threads that each work on
their own block of the same arrays (a range of examples, of channels, or of a flat array)
run at the same time. :func:`run` splits ``range(n)`` into one block per thread and calls
``work(start, stop)`` on each; the calling thread takes the first block itself.

    work(0, n)                                          # serial: what every op computes
    work(0, n/T), work(n/T, 2n/T), …, on T threads     # the same numbers, block by block

Each block writes only its own part of the outputs, so the result is the same bit for bit
whatever the thread count (tests/functional/test_parallel.py runs every op serially and on 3
threads with blocks forced on tiny arrays, and compares).

Thread count: ``CONVLENS_NUM_THREADS`` (read once, on first use; :func:`set_num_threads`
changes it), 1 when unset. Work smaller than :data:`MIN_ELEMENTS` values stays on the
calling thread: handing a block to another thread costs tens of microseconds, more than a
small ufunc takes.

Why not follow the BLAS thread count by default: measured on 2 cores (2026-11-30, training
steps, interleaved medians), with OpenBLAS on 2 threads the pool made every workload 6–10 %
*slower* (conv-BN-ReLU 79 → 86 ms, LeNet-5 b256 16.8 → 17.8, Conv3d 13.1 → 14.5, Conv1d
31.9 → 33.7): after each product OpenBLAS's idle worker keeps spinning on the second core,
and the pool's thread waits for it. With OpenBLAS on 1 thread the pool pays (conv-BN-ReLU
105 → 90 ms, Conv3d 17.9 → 16.3), but two BLAS threads without the pool are faster still.
With ``OPENBLAS_THREAD_TIMEOUT=4`` in the environment (OpenBLAS's workers sleep at once)
the pool is worth trying on two BLAS threads: ``CONVLENS_NUM_THREADS=2``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

#: Below this many values (of the largest array an op touches) the work stays serial.
MIN_ELEMENTS = 1 << 16

THREAD_VARIABLE = "CONVLENS_NUM_THREADS"

_threads: int | None = None
_pool: ThreadPoolExecutor | None = None


def num_threads() -> int:
    """Threads the element-wise work uses (see the module docstring)."""
    global _threads
    if _threads is None:
        _threads = _threads_from_environment()
    return _threads


def _threads_from_environment() -> int:
    value = os.environ.get(THREAD_VARIABLE, "").strip()
    if not value:
        return 1
    try:
        count = int(value)
    except ValueError:
        count = 0
    if count < 1:
        raise ValueError(f"{THREAD_VARIABLE} must be a positive integer (a thread count), "
                         f"received {value!r}")
    return count


def set_num_threads(count: int | None) -> None:
    """Use ``count`` threads from now on (``None``: read the environment again)."""
    global _threads, _pool
    if count is not None and (not isinstance(count, int) or count < 1):
        raise ValueError(f"thread count must be a positive int, received {count!r}")
    if _pool is not None:
        _pool.shutdown(wait=True)
        _pool = None
    _threads = count


def serial(size: int) -> bool:
    """Whether work touching ``size`` values runs on the calling thread alone."""
    return size < MIN_ELEMENTS or (_threads or num_threads()) == 1


def run(work: Callable[[int, int], object], n: int, size: int) -> None:
    """Call ``work(start, stop)`` on blocks that cover ``range(n)``, in parallel when
    ``size`` (values touched) reaches :data:`MIN_ELEMENTS` and more than one thread is set.

    ``work`` must write only the part of its outputs that its block owns.
    """
    global _pool
    if serial(size):
        work(0, n)
        return
    parts = min(num_threads(), n)
    if parts <= 1:
        work(0, n)
        return
    if _pool is None or _pool._max_workers < parts - 1:  # noqa: SLF001 (a private field, read only)
        if _pool is not None:
            _pool.shutdown(wait=True)
        _pool = ThreadPoolExecutor(max_workers=parts - 1, thread_name_prefix="convlens")
    bounds = [n * i // parts for i in range(parts + 1)]
    errors = np.geterr()  # the caller's np.errstate, which other threads do not inherit

    def in_caller_errstate(start: int, stop: int) -> None:
        with np.errstate(**errors):
            work(start, stop)

    futures = [_pool.submit(in_caller_errstate, start, stop)
               for start, stop in zip(bounds[1:-1], bounds[2:])]
    try:
        work(bounds[0], bounds[1])
    finally:
        for future in futures:
            future.result()


def split_axis(shape: tuple[int, ...], candidates: tuple[int, ...] = (0, 1)) -> int:
    """The first of ``candidates`` along which ``shape`` has a block for every thread (the
    last candidate if none has)."""
    threads = num_threads()
    return next((axis for axis in candidates if shape[axis] >= threads), candidates[-1])


def blocks_along(axis: int, start: int, stop: int) -> tuple[slice, ...]:
    """Index of the block ``start:stop`` of ``axis`` (for ``array[index]``)."""
    return (slice(None),) * axis + (slice(start, stop),)


def copyto(dst, src, axis: int | None = None) -> None:
    """``np.copyto(dst, src)`` in blocks along ``axis`` (default: the first axis long enough
    for every thread to get a block)."""
    if serial(dst.size):
        np.copyto(dst, src)
        return
    if axis is None:
        axis = split_axis(dst.shape, tuple(range(min(dst.ndim, 3))) or (0,))

    def work(start: int, stop: int) -> None:
        index = blocks_along(axis, start, stop)
        np.copyto(dst[index], src[index])

    run(work, dst.shape[axis], dst.size)


def flat_blocks(work: Callable[[slice], object], size: int) -> None:
    """``work(block)`` for slices that cover a flat array of ``size`` values."""
    run(lambda start, stop: work(slice(start, stop)), size, size)
