"""Both cores for everything (opt-in): one thread pool runs the element-wise work, the copies
and the matrix products, in blocks of an array.

NumPy runs element-wise operations (ReLU, masks, pooling taps, batch-norm passes) and copies
(im2col, col2im, transposes) on one thread; only the matrix products use the BLAS threads.
But NumPy releases the GIL inside ufuncs, copies and products, so Python threads that each
work on their own block of the same arrays (a range of examples, of channels, of columns or
of a flat array) run at the same time. :func:`run` splits ``range(n)`` into one block per
thread and calls ``work(start, stop)`` on each; the calling thread takes the first block.

    work(0, n)                                          # serial: what every op computes
    work(0, n/T), work(n/T, 2n/T), …, on T threads     # the same numbers, block by block

Each block writes only its own part of the outputs, so the result is the same bit for bit
whatever the thread count (tests/functional/test_parallel.py runs every op serially and on 3
threads with blocks forced on tiny arrays, and compares) — except the split products below,
whose last bits depend on the blocks, as a BLAS product's depend on the BLAS's thread count.

One owner of the threads. With more than one thread the pool also splits the big matrix
products (:func:`matmul`: blocks of output columns, or of the inner dimension when there are
few columns) and sets the BLAS to one thread (through ``threadpoolctl``): two thread pools on
two cores get in each other's way, because after every product OpenBLAS's idle worker keeps
spinning on the second core (about 0.1 s) while the pool's thread waits for that core.
Measured on 2 cores (2026-11-30, training steps): the pool beside two BLAS threads made
every workload 6–10 % slower; BLAS threads alone leave the element-wise work on one core; on
a busy machine spinning BLAS threads collapse (3–15× slower steps, BENCHMARKS.md). The BLAS
is set to one thread when the pool starts, for the whole process: a script's own large
NumPy products then run on one thread too, until ``set_num_threads(1)`` gives the BLAS its
threads back.

Thread count: ``CONVLENS_NUM_THREADS`` (read once, on first use; :func:`set_num_threads`
changes it), 1 when unset: the pool is opt-in, and the BLAS keeps its own threads. Measured on
the idle 2-core machine (2026-11-30, BENCHMARKS.md, ``python -m benchmarks.pool_ab``), the
pool pays where the element-wise work is large (conv–BN–ReLU 81 → 70 ms, Conv1d 37 → 29) and
loses where the arrays are small (LeNet-5 b64 4.5 → 6.7 ms, Conv3d 13.8 → 15.5; ``convlens
train``'s LeNet-5 on mnist-5k 4.2 → 4.7–6.6 s), the suite's geometric means are about
equal, and on a busy machine the pool degrades far less than spinning BLAS threads. So it is
the user's choice (``CONVLENS_NUM_THREADS=2``), not a process-wide change made behind the
back of a script's own NumPy products. Work smaller than :data:`MIN_ELEMENTS` values
(:data:`MIN_PRODUCT` multiply-adds for a product) stays on the calling thread: handing a
block to another thread costs tens of microseconds, more than a small ufunc takes.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

#: Below this many values (of the largest array an op touches) the work stays serial.
MIN_ELEMENTS = 1 << 16
#: Below this many multiply-adds a matrix product stays on the calling thread.
MIN_PRODUCT = 1 << 21

THREAD_VARIABLE = "CONVLENS_NUM_THREADS"

_threads: int | None = None
_pool: ThreadPoolExecutor | None = None
_blas: object | None = None        # threadpoolctl's controller of the BLAS, once looked up
_blas_limit: Any = None            # while the pool runs the products: the limit holding the
                                   # BLAS at one thread (threadpoolctl restores each library's own)


def num_threads() -> int:
    """Threads the pool uses (see the module docstring)."""
    if _threads is None:
        set_num_threads(_threads_from_environment())
    return _threads


def _threads_from_environment() -> int:
    value = os.environ.get(THREAD_VARIABLE, "").strip()
    if not value:  # opt-in: see "Thread count" in the module docstring
        return 1
    try:
        count = int(value)
    except ValueError:
        count = 0
    if count < 1:
        raise ValueError(f"{THREAD_VARIABLE} must be a positive integer (a thread count), "
                         f"received {value!r}")
    return count


def _blas_controller():
    """threadpoolctl's handle on the loaded BLAS libraries (None without threadpoolctl)."""
    global _blas
    if _blas is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _blas = False
        else:
            blas = ThreadpoolController().select(user_api="blas")
            _blas = blas if blas.lib_controllers else False
    return _blas or None


def set_num_threads(count: int | None) -> None:
    """Use ``count`` threads from now on (``None``: read the environment again).

    More than one: the pool runs the products too and the BLAS gets one thread (when
    ``threadpoolctl`` can set it); one: the BLAS gets its own thread count back."""
    global _threads, _pool, _blas_limit
    if count is not None and (not isinstance(count, int) or count < 1):
        raise ValueError(f"thread count must be a positive int, received {count!r}")
    if _pool is not None:
        _pool.shutdown(wait=True)
        _pool = None
    if count is None:
        count = _threads_from_environment()
    if count > 1 and _blas_limit is None:
        blas = _blas_controller()   # (looked up only when the pool is wanted)
        if blas is not None:
            _blas_limit = blas.limit(limits=1)
    elif count == 1 and _blas_limit is not None:
        _blas_limit.restore_original_limits()
        _blas_limit = None
    _threads = count


def serial(size: int) -> bool:
    """Whether work touching ``size`` values runs on the calling thread alone."""
    return size < MIN_ELEMENTS or (_threads or num_threads()) == 1


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``np.matmul(a, b, out=out)``; when the pool owns the BLAS (module docstring), in one
    block per thread, each a one-thread BLAS product:

        out[..., cols_t] = a @ b[..., cols_t]            enough columns: every value is one
                                                         dot product, as in one product
        out = Σ_t a[..., inner_t] @ b[..., inner_t, :]   few columns and a long inner
                                                         dimension (a weight gradient)
    """
    threads = _threads or num_threads()  # (first: the first call decides who owns the BLAS)
    if a.ndim < 2 or b.ndim < 2 or _blas_limit is None or threads == 1:
        # a vector (NumPy's promotion rules, one small product), or the BLAS runs it alone
        return np.matmul(a, b, out=out) if out is not None else np.matmul(a, b)
    if out is None:
        shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], b.shape[-1])
        out = np.empty(shape, dtype=np.result_type(a, b))
    columns, inner = b.shape[-1], a.shape[-1]
    if math.prod(out.shape) * inner < MIN_PRODUCT:
        return np.matmul(a, b, out=out)
    if columns >= 2 * COLUMN_BLOCK:
        parts = min(threads, columns // COLUMN_BLOCK)
        edges = [columns * i // parts // COLUMN_BLOCK * COLUMN_BLOCK for i in range(parts)]
        edges.append(columns)

        def column_block(start: int, stop: int) -> None:
            block = slice(edges[start], edges[stop])
            np.matmul(a, b[..., block], out=out[..., block])

        run(column_block, parts, MIN_ELEMENTS)
    elif inner >= 2 * COLUMN_BLOCK:
        parts = min(threads, inner // COLUMN_BLOCK)
        edges = [inner * i // parts for i in range(parts + 1)]
        partial = np.empty((parts, *out.shape), dtype=out.dtype)

        def inner_block(start: int, stop: int) -> None:
            for t in range(start, stop):
                block = slice(edges[t], edges[t + 1])
                np.matmul(a[..., block], b[..., block, :], out=partial[t])

        run(inner_block, parts, MIN_ELEMENTS)
        np.sum(partial, axis=0, out=out)
    else:
        np.matmul(a, b, out=out)
    return out


#: Column blocks of :func:`matmul` start at multiples of this (whole vector-kernel panels);
#: inner blocks are at least this long.
COLUMN_BLOCK = 64


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
