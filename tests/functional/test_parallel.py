"""convlens.functional.parallel: blocks on threads, and every threaded op against its references.

The ops that use the thread pool (convolution copies, products and col2im, the shifted
convolution, linear layers, pooling, ReLU, batch and instance norm) are checked here with the pool forced on
for tiny arrays (``MIN_ELEMENTS = MIN_PRODUCT = 1``, 3 threads, so blocks are uneven):
against the plain-loop reference, against PyTorch (values and every gradient), and bit for
bit against the serial result (all but the matrix products split in column blocks: a BLAS
product's last bits depend on its shape, as they do on the BLAS's own thread count).
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
from pathlib import Path

import numpy as np
import pytest
from torch_oracle import check_parity

import convlens as cl
from convlens.functional import conv_shifted, parallel
from convlens.functional.activation import relu_backward, relu_forward
from convlens.functional.conv import conv_backward, conv_forward
from convlens.functional.normalization import normalize_backward, normalize_forward
from convlens.functional.pool import pool_backward, pool_forward


@pytest.fixture
def threaded(monkeypatch):
    """Three threads, and blocks for arrays and products of any size."""
    monkeypatch.setattr(parallel, "MIN_ELEMENTS", 1)
    monkeypatch.setattr(parallel, "MIN_PRODUCT", 1)
    monkeypatch.setattr(parallel, "COLUMN_BLOCK", 2)
    parallel.set_num_threads(3)
    yield
    parallel.set_num_threads(None)


def serial(fn):
    parallel.set_num_threads(1)
    try:
        return fn()
    finally:
        parallel.set_num_threads(3)


def test_run_covers_the_range_once_in_blocks_on_several_threads(threaded):
    seen = {}

    def work(start, stop):
        seen[start, stop] = threading.current_thread()

    parallel.run(work, 10, size=10)
    assert sorted(seen) == [(0, 3), (3, 6), (6, 10)]
    # the caller takes the first block, the pool's threads the others
    assert seen[0, 3] is threading.current_thread()
    assert all(seen[b].name.startswith("convlens") for b in [(3, 6), (6, 10)])


def test_small_work_stays_on_the_calling_thread(monkeypatch):
    parallel.set_num_threads(2)
    try:
        calls = []
        parallel.run(lambda a, b: calls.append((a, b, threading.current_thread())), 8,
                     size=parallel.MIN_ELEMENTS - 1)
        assert calls == [(0, 8, threading.current_thread())]
    finally:
        parallel.set_num_threads(None)


def test_a_block_error_reaches_the_caller(threaded):
    def work(start, stop):
        if start > 0:
            raise ArithmeticError(f"block {start}")

    with pytest.raises(ArithmeticError, match="block"):
        parallel.run(work, 6, size=6)


def test_the_callers_errstate_holds_in_every_block(threaded):
    x = np.zeros(6)

    def work(start, stop):
        np.log(x[start:stop])  # log(0): a divide warning, an error under the errstate

    with np.errstate(divide="raise"), pytest.raises(FloatingPointError):
        parallel.run(work, 6, size=6)


def test_thread_count_comes_from_convlens_num_threads_else_the_pool_is_off(monkeypatch):
    monkeypatch.delenv("CONVLENS_NUM_THREADS", raising=False)
    parallel.set_num_threads(None)
    assert parallel.num_threads() == 1
    monkeypatch.setenv("CONVLENS_NUM_THREADS", "2")
    parallel.set_num_threads(None)
    assert parallel.num_threads() == 2
    monkeypatch.setenv("CONVLENS_NUM_THREADS", "two")
    with pytest.raises(ValueError, match=r"CONVLENS_NUM_THREADS must be a positive integer "
                                         r"\(a thread count\), received 'two'"):
        parallel.set_num_threads(None)
    monkeypatch.setenv("CONVLENS_NUM_THREADS", "1")
    parallel.set_num_threads(None)
    with pytest.raises(ValueError, match="thread count must be a positive int, received 0"):
        parallel.set_num_threads(0)


def test_the_pool_takes_the_blas_threads_and_gives_them_back():
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads():
        return {lib["num_threads"] for lib in threadpoolctl.threadpool_info()
                if lib["user_api"] == "blas"}

    parallel.set_num_threads(1)
    before = blas_threads()
    try:
        parallel.set_num_threads(2)
        assert blas_threads() == {1}
        parallel.set_num_threads(1)
        assert blas_threads() == before
    finally:
        parallel.set_num_threads(None)


@pytest.mark.parametrize("a_shape, b_shape, transposed, split", [
    ((7, 5), (5, 23), False, "columns"),
    ((3, 4, 6), (3, 6, 19), False, "columns"),   # groups: a stack of products
    ((1, 8, 9), (1, 40, 9), True, "columns"),    # b a transposed view (im2col's columnsᵀ)
    ((1, 6, 31), (1, 3, 31), True, "inner"),     # a weight gradient: 3 columns, 31 inner terms
])
def test_products_in_blocks_equal_one_product(threaded, monkeypatch, a_shape, b_shape,
                                              transposed, split):
    monkeypatch.setattr(parallel, "COLUMN_BLOCK", 2 if split == "columns" else 4)
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    if transposed:
        b = b.swapaxes(-1, -2)
    calls = []
    real_matmul = np.matmul

    def spy(a, b, **kwargs):
        calls.append((threading.current_thread().name, b.shape[-1], a.shape[-1]))
        return real_matmul(a, b, **kwargs)

    np.matmul = spy
    try:
        got = parallel.matmul(a, b)
    finally:
        np.matmul = real_matmul
    np.testing.assert_allclose(got, a @ b, rtol=1e-13, atol=1e-13)
    # three blocks, the caller's and two on the pool, that cover the columns or the inner terms
    assert len(calls) == 3
    assert {name.startswith("convlens") for name, _, _ in calls} == {True, False}
    if split == "columns":
        assert sum(width for _, width, _ in calls) == b.shape[-1]
        assert sum(width % 2 for _, width, _ in calls) <= 1  # blocks start at even columns
    else:
        assert sum(length for _, _, length in calls) == a.shape[-1]


def _reference_tests():
    path = Path(__file__).with_name("test_loops_reference.py")
    spec = importlib.util.spec_from_file_location("threaded_loops_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("direct_output", [False, True])
def test_threaded_conv_and_pool_equal_the_plain_loops(threaded, monkeypatch, direct_output):
    """The hypothesis searches of test_loops_reference.py, run with the blocks on threads
    (and with the forward products written per example straight into the output)."""
    if direct_output:
        conv_module = importlib.import_module("convlens.functional.conv")  # (not the function)
        monkeypatch.setattr(conv_module, "DIRECT_OUTPUT_MIN_POSITIONS", 1)
    reference = _reference_tests()
    reference.test_conv_matches_loops()
    reference.test_pool_matches_loops()


def test_threaded_shifted_conv_equals_the_plain_loops(threaded, monkeypatch):
    """Blocks of examples (forward, dX) and of kernel taps (dW) on threads."""
    monkeypatch.setattr(conv_shifted, "MIN_CHANNELS", 1)
    monkeypatch.setattr(conv_shifted, "MAX_GROWTH", float("inf"))
    _reference_tests().test_conv_matches_loops()


@pytest.mark.parametrize("layer, shape", [
    (lambda: cl.Conv2d(4, 6, 3, padding=1), (3, 4, 9, 9)),
    (lambda: cl.Conv1d(3, 5, 5, stride=2, padding=2, groups=1), (5, 3, 40)),
    (lambda: cl.Conv3d(2, 4, 3, padding=1), (4, 2, 5, 6, 7)),       # batch-last columns
    (lambda: cl.Conv2d(4, 4, 3, groups=2), (1, 4, 8, 8)),
    (lambda: cl.Conv2d(16, 4, 3, padding=1), (3, 16, 20, 20)),     # shifted products
    (lambda: cl.MaxPool2d(2), (3, 5, 8, 8)),
    (lambda: cl.MaxPool1d(3, stride=2, padding=1), (1, 5, 17)),   # blocks of channels
    (lambda: cl.AvgPool3d(2), (2, 3, 4, 4, 4)),
    (lambda: cl.BatchNorm2d(5), (4, 5, 6, 6)),
    (lambda: cl.BatchNorm1d(7, affine=False), (6, 7, 11)),
    (lambda: cl.BatchNorm3d(3), (2, 3, 4, 4, 5)),
    (lambda: cl.ReLU(), (3, 4, 5, 7)),
    (lambda: cl.Linear(7, 9), (5, 7)),
    (lambda: cl.Linear(6, 3), (2, 4, 6)),                              # few columns: inner blocks
], ids=["conv2d", "conv1d", "conv3d", "grouped", "shifted", "maxpool2d", "maxpool1d", "avgpool3d",
        "batchnorm2d", "batchnorm1d", "batchnorm3d", "relu", "linear", "linear3d"])
def test_threaded_layers_match_pytorch(threaded, layer, shape):
    cl.manual_seed(0)
    x = np.random.default_rng(1).standard_normal(shape)
    made = layer()
    made.train()
    check_parity(made.to(np.float64), x)


def test_threaded_ops_equal_the_serial_ops_bit_for_bit(threaded, monkeypatch):
    monkeypatch.setattr(parallel, "MIN_PRODUCT", 1 << 60)  # products in one piece (docstring)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 6, 10, 10)).astype(np.float32)
    w = rng.standard_normal((8, 6, 3, 3)).astype(np.float32)
    gamma, beta = (rng.standard_normal((1, 6, 1, 1)).astype(np.float32) for _ in range(2))

    def everything():
        y, cache = conv_forward(x, w, padding=1)
        dy = np.cos(y)
        out = [y, *conv_backward(dy, cache)[:2]]
        p, pool_cache = pool_forward(y, "max", 2)
        out += [p, pool_backward(np.cos(p), pool_cache)]
        r, mask = relu_forward(y)
        out += [r, relu_backward(dy, mask)]
        for axes in [(0, 2, 3), (2, 3)]:  # batch norm, instance norm
            n, norm_cache = normalize_forward(x, axes, gamma, beta)
            out += [n, *normalize_backward(np.cos(n), norm_cache)]
        groups = x.reshape(4, 3, 2, 10, 10)  # group norm: 3 groups of 2 channels
        n, norm_cache = normalize_forward(groups, (2, 3, 4), gamma.reshape(1, 3, 2, 1, 1))
        return out + [n, *normalize_backward(np.cos(n), norm_cache)]

    for threaded_result, serial_result in zip(everything(), serial(everything), strict=True):
        np.testing.assert_array_equal(threaded_result, serial_result)

