"""``conv_forward`` / ``conv_backward`` (im2col + GEMM) against a plain-loop convolution: the slow
reference that spells out y[n, o, i…] = b[o] + Σ w[o, c, k…]·x_pad[n, g·C_g + c, i·s + k·d …]."""

from __future__ import annotations

import importlib
import itertools

import numpy as np
import pytest
import torch.nn.functional as F
from torch_oracle import tensor, torch_pad_arg

from convlens.functional.conv import conv, conv_backward, conv_forward

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
