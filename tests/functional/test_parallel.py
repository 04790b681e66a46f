"""convlens.functional.parallel: blocks on threads, and every threaded op against its references.

The ops that use the thread pool (convolution copies and col2im, pooling, ReLU, batch and
instance norm) are checked here with the pool forced on for tiny arrays (``MIN_ELEMENTS = 1``,
3 threads, so blocks are uneven): against the plain-loop reference, against PyTorch (values
and every gradient), and bit for bit against the serial result.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import numpy as np
import pytest
from torch_oracle import check_parity

import convlens as cl
from convlens.functional import parallel
from convlens.functional.activation import relu_backward, relu_forward
from convlens.functional.conv import conv_backward, conv_forward
from convlens.functional.normalization import normalize_backward, normalize_forward
from convlens.functional.pool import pool_backward, pool_forward


@pytest.fixture
def threaded(monkeypatch):
    """Three threads, and blocks for arrays of any size."""
    monkeypatch.setattr(parallel, "MIN_ELEMENTS", 1)
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


def test_thread_count_comes_from_convlens_num_threads_only(monkeypatch):
    monkeypatch.delenv("CONVLENS_NUM_THREADS", raising=False)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "5")  # the BLAS setting is not followed (docstring)
    parallel.set_num_threads(None)
    assert parallel.num_threads() == 1
    monkeypatch.setenv("CONVLENS_NUM_THREADS", "2")
    parallel.set_num_threads(None)
    assert parallel.num_threads() == 2
    monkeypatch.setenv("CONVLENS_NUM_THREADS", "two")
    parallel.set_num_threads(None)
    with pytest.raises(ValueError, match=r"CONVLENS_NUM_THREADS must be a positive integer "
                                         r"\(a thread count\), received 'two'"):
        parallel.num_threads()
    parallel.set_num_threads(None)
    monkeypatch.delenv("CONVLENS_NUM_THREADS")
    with pytest.raises(ValueError, match="thread count must be a positive int, received 0"):
        parallel.set_num_threads(0)


def _reference_tests():
    path = Path(__file__).with_name("test_loops_reference.py")
    spec = importlib.util.spec_from_file_location("threaded_loops_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_threaded_conv_and_pool_equal_the_plain_loops(threaded):
    """The hypothesis searches of test_loops_reference.py, run with the blocks on threads."""
    reference = _reference_tests()
    reference.test_conv_matches_loops()
    reference.test_pool_matches_loops()


@pytest.mark.parametrize("layer, shape", [
    (lambda: cl.Conv2d(4, 6, 3, padding=1), (3, 4, 9, 9)),
    (lambda: cl.Conv1d(3, 5, 5, stride=2, padding=2, groups=1), (5, 3, 40)),
    (lambda: cl.Conv3d(2, 4, 3, padding=1), (4, 2, 5, 6, 7)),       # batch-last columns
    (lambda: cl.Conv2d(4, 4, 3, groups=2), (1, 4, 8, 8)),
    (lambda: cl.MaxPool2d(2), (3, 5, 8, 8)),
    (lambda: cl.MaxPool1d(3, stride=2, padding=1), (1, 5, 17)),   # blocks of channels
    (lambda: cl.AvgPool3d(2), (2, 3, 4, 4, 4)),
    (lambda: cl.BatchNorm2d(5), (4, 5, 6, 6)),
    (lambda: cl.BatchNorm1d(7, affine=False), (6, 7, 11)),
    (lambda: cl.BatchNorm3d(3), (2, 3, 4, 4, 5)),
    (lambda: cl.ReLU(), (3, 4, 5, 7)),
], ids=["conv2d", "conv1d", "conv3d", "grouped", "maxpool2d", "maxpool1d", "avgpool3d",
        "batchnorm2d", "batchnorm1d", "batchnorm3d", "relu"])
def test_threaded_layers_match_pytorch(threaded, layer, shape):
    cl.manual_seed(0)
    x = np.random.default_rng(1).standard_normal(shape)
    made = layer()
    made.train()
    check_parity(made.to(np.float64), x)


def test_threaded_ops_equal_the_serial_ops_bit_for_bit(threaded):
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
