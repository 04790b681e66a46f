"""``conv_forward`` / ``conv_backward`` (im2col + GEMM) against a plain-loop convolution: the slow
reference that spells out y[n, o, i…] = b[o] + Σ w[o, c, k…]·x_pad[n, g·C_g + c, i·s + k·d …]."""

from __future__ import annotations

import importlib
import itertools

import numpy as np
import pytest
import torch.nn.functional as F
from torch_oracle import check_parity, tensor, torch_pad_arg

import convlens as cl
from convlens.functional.conv import conv, conv_backward, conv_forward

conv_module = importlib.import_module("convlens.functional.conv")  # (the package exports conv())

TORCH_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate",
              "circular": "circular"}


def naive_pad(x, pads, mode):
    """Padding done by torch, so the reference shares no code with convlens."""
    return F.pad(tensor(x), torch_pad_arg(pads), mode=TORCH_MODE[mode]).numpy()


def naive_conv(x, w, b, stride, pads, dilation, groups, mode):
    """Forward and a function computing (dx, dw, db) from dy, both as loops."""
    nd = w.ndim - 2
    xp = naive_pad(x, pads, mode)
    n, c_in = x.shape[:2]
    c_out, c_g = w.shape[:2]
    per_group = c_out // groups
    kernel = w.shape[2:]
    out = tuple((xp.shape[2 + i] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1
                for i in range(nd))
    y = np.zeros((n, c_out, *out))
    taps = list(itertools.product(*map(range, kernel)))

    def source(o, k):
        return tuple(o[i] * stride[i] + k[i] * dilation[i] for i in range(nd))

    for b_, oc, o in itertools.product(range(n), range(c_out), itertools.product(*map(range, out))):
        g = oc // per_group
        total = 0.0 if b is None else b[oc]
        for c in range(c_g):
            for k in taps:
                total += w[(oc, c, *k)] * xp[(b_, g * c_g + c, *source(o, k))]
        y[(b_, oc, *o)] = total

    def backward(dy):
        dxp = np.zeros_like(xp)
        dw = np.zeros_like(w)
        db = None if b is None else dy.sum(axis=(0, *range(2, 2 + nd)))
        for b_, oc, o in itertools.product(range(n), range(c_out),
                                           itertools.product(*map(range, out))):
            g = oc // per_group
            for c in range(c_g):
                for k in taps:
                    src = (b_, g * c_g + c, *source(o, k))
                    dw[(oc, c, *k)] += dy[(b_, oc, *o)] * xp[src]
                    dxp[src] += dy[(b_, oc, *o)] * w[(oc, c, *k)]
        # padding's adjoint through torch's autograd
        xt = tensor(x, requires_grad=True)
        F.pad(xt, torch_pad_arg(pads), mode=TORCH_MODE[mode]).backward(tensor(dxp))
        return xt.grad.numpy(), dw, db

    return y, backward


CASES = [  # x shape, C_out, kernel, stride, pads, dilation, groups, mode, bias
    ((2, 3, 7), 4, (3,), (2,), ((1, 2),), (1,), 1, "zeros", True),
    ((1, 4, 9), 4, (2,), (1,), ((0, 0),), (3,), 4, "reflect", False),
    ((2, 2, 5, 6), 4, (3, 2), (1, 2), ((1, 1), (0, 1)), (1, 1), 2, "circular", True),
    ((1, 3, 6, 5), 6, (2, 3), (2, 1), ((2, 0), (1, 1)), (2, 1), 3, "replicate", True),
    ((1, 2, 4, 5, 4), 2, (2, 2, 3), (1, 2, 1), ((1, 0), (0, 0), (1, 1)), (1, 1, 1), 1,
     "zeros", True),
]


@pytest.mark.parametrize("shape, c_out, kernel, stride, pads, dilation, groups, mode, bias",
                         CASES)
def test_conv_equals_the_plain_loop(shape, c_out, kernel, stride, pads, dilation, groups, mode,
                                    bias):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    w = rng.standard_normal((c_out, shape[1] // groups, *kernel))
    b = rng.standard_normal(c_out) if bias else None
    y, cache = conv_forward(x, w, b, stride, pads, dilation, groups, mode)
    y_ref, backward = naive_conv(x, w, b, stride, pads, dilation, groups, mode)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    dy = rng.standard_normal(y.shape)
    dx, dw, db = conv_backward(dy, cache)
    dx_ref, dw_ref, db_ref = backward(dy)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dw, dw_ref, rtol=1e-12, atol=1e-12)
    if bias:
        np.testing.assert_allclose(db, db_ref, rtol=1e-12, atol=1e-12)
    else:
        assert db is None


def test_weight_gradient_only():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    y, cache = conv_forward(x, w, None, 1, 1)
    dx, dw, db = conv_backward(np.ones_like(y), cache, need_input_grad=False)
    assert dx is None and db is None and dw.shape == w.shape


def test_forward_only_helper_and_keyword_arguments():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((1, 2, 6)), rng.standard_normal((4, 1, 3)), np.ones(4)
    np.testing.assert_array_equal(conv(x, w, b, stride=2, padding="same", groups=2),
                                  conv_forward(x, w, b, 2, "same", 1, 2)[0])
    assert conv(x, w, b, padding="same", groups=2).shape == (1, 4, 6)


@pytest.mark.parametrize("case, batch_last", [
    (((3, 4, 6, 9), 6, (3, 3), (1, 2), ((1, 1), (0, 2)), (1, 1), 2, "reflect", True), True),   # out 6×5
    (((2, 2, 5, 6, 7), 4, (3, 2, 3), (1, 1, 2), ((1, 1), (0, 0), (1, 1)), (1, 1, 1), 1, "zeros", False), True),
    (((2, 3, 23), 4, (3,), (1,), ((1, 1),), (2,), 1, "zeros", True), False),                   # out 21
    (((1, 3, 6, 6), 4, (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1, "zeros", True), False),    # one example
])
def test_batch_last_columns_equal_the_plain_loop(case, batch_last):
    """Short output rows and several examples: the columns are ordered (*O, N) (module
    docstring); long rows or a single example keep (N, *O). Both give the loop's numbers."""
    shape, c_out, kernel, stride, pads, dilation, groups, mode, bias = case
    _, cache = conv_forward(np.zeros(shape), np.zeros((c_out, shape[1] // groups, *kernel)), None,
                            stride, pads, dilation, groups, mode)
    assert cache.batch_last == batch_last
    test_conv_equals_the_plain_loop(*case)


@pytest.mark.parametrize("case", [c for c in CASES if c[0][0] > 1], ids=str)
def test_products_written_straight_into_the_output_equal_the_plain_loop(case, monkeypatch):
    """From DIRECT_OUTPUT_MIN_POSITIONS output positions the forward product is taken per
    example into the output's layout (grouped, strided, every padding mode); forced here."""
    conv_module = importlib.import_module("convlens.functional.conv")  # (not the function)
    monkeypatch.setattr(conv_module, "DIRECT_OUTPUT_MIN_POSITIONS", 1)
    monkeypatch.setattr(conv_module, "BATCH_LAST_MAX_RUN", 0)  # batch-first columns
    test_conv_equals_the_plain_loop(*case)


@pytest.mark.parametrize("case", [c for c in CASES if c[0][0] > 1], ids=str)
def test_direct_output_in_blocks_of_examples_equals_the_plain_loop(case, monkeypatch):
    """Products straight into the output, one block of examples at a time (forced: one
    example per block)."""
    monkeypatch.setattr(conv_module, "DIRECT_OUTPUT_MIN_POSITIONS", 1)
    monkeypatch.setattr(conv_module, "BATCH_LAST_MAX_RUN", 0)
    monkeypatch.setattr(conv_module, "COLUMN_BLOCK_VALUES", 1)
    monkeypatch.setattr(conv_module, "MIN_BLOCK_COLUMNS", 1)
    test_conv_equals_the_plain_loop(*case)


@pytest.fixture
def one_index_per_block(monkeypatch):
    """The smallest column blocks: one index of the grid's first long axis per block."""
    monkeypatch.setattr(conv_module, "COLUMN_BLOCK_VALUES", 1)
    monkeypatch.setattr(conv_module, "MIN_BLOCK_COLUMNS", 1)


BATCH_LAST_CASES = [
    ((3, 4, 6, 9), 6, (3, 3), (1, 2), ((1, 1), (0, 2)), (1, 1), 2, "reflect", True),
    ((4, 2, 5, 6, 7), 4, (3, 2, 3), (1, 1, 2), ((1, 1), (0, 0), (1, 1)), (1, 1, 1), 1, "zeros",
     False),
]


@pytest.mark.parametrize("case", CASES + BATCH_LAST_CASES)
def test_column_blocks_equal_the_plain_loop(one_index_per_block, case):
    """The forward product computed block by block (module docstring) gives the loop's
    numbers, for batch-first and batch-last columns, groups, strides and one example."""
    test_conv_equals_the_plain_loop(*case)


@pytest.mark.parametrize("shape, batch_last", [((3, 4, 5, 6), False), ((3, 4, 5, 6), True),
                                               ((1, 4, 5, 6), False), ((2, 4, 3, 6), True)])
@pytest.mark.parametrize("block_values", [1, 50, 10**6])
def test_column_blocks_tile_the_column_matrix(monkeypatch, shape, batch_last, block_values):
    from convlens.functional.conv import column_blocks, im2col

    monkeypatch.setattr(conv_module, "COLUMN_BLOCK_VALUES", block_values)
    monkeypatch.setattr(conv_module, "MIN_BLOCK_COLUMNS", 1)
    xp = np.random.default_rng(0).standard_normal(shape)
    if batch_last:  # a (C, *S, N) array seen as (N, C, *S)
        xp = np.moveaxis(np.ascontiguousarray(np.moveaxis(xp, 0, -1)), -1, 0)
    geometry = ((3, 2), (1, 2), (1, 1), 2, batch_last)
    cols = im2col(xp, *geometry)
    out = (shape[2] - 2, 3)  # one output row for 3 input rows: blocks split the next axis
    assert cols.shape == (2, 2 * 3 * 2, shape[0] * out[0] * out[1])
    covered, count = 0, 0
    for start, stop, block in column_blocks(xp, *geometry):
        assert start == covered and stop > start
        np.testing.assert_array_equal(block, cols[:, :, start:stop])
        covered, count = stop, count + 1
    assert covered == cols.shape[2]
    if block_values == 1:  # one index of the first grid axis longer than one per block
        assert count == (shape[0] if not batch_last and shape[0] > 1 else out[0] if out[0] > 1
                         else out[1])


@pytest.mark.parametrize("layer, shape", [
    (lambda: cl.Conv3d(3, 4, 3, padding=1), (3, 3, 4, 4, 4)),                      # batch-last
    (lambda: cl.Conv2d(4, 6, 3, stride=2, padding=1, groups=2, bias=False), (2, 4, 9, 9)),
    (lambda: cl.Conv1d(2, 3, 5, dilation=2), (1, 2, 30)),                          # one example
], ids=["conv3d", "strided-groups", "conv1d"])
def test_column_blocks_match_pytorch_and_central_differences(one_index_per_block, layer, shape):
    cl.manual_seed(0)
    made = layer().to(np.float64)
    x = np.random.default_rng(1).standard_normal(shape)
    check_parity(made, x)
    report = cl.gradcheck(made, x, max_checks=40)
    assert set(report.errors) == {"input", "weight"} | ({"bias"} if made.bias else set())
    assert report.ok(1e-6), str(report)
