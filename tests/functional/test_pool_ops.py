"""``pool_forward`` / ``pool_backward`` against plain loops over every window (max, min, avg;
padding, dilation, ceil_mode, count_include_pad), including dilated average pooling, which
PyTorch does not have."""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest

from convlens.functional.pool import pool_backward, pool_forward


def torch_rule_out(n, k, s, p, d, ceil_mode):
    """PyTorch's pooling_output_shape, transcribed."""
    span = n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = span // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def naive_pool(x, kind, kernel, stride, padding, dilation, ceil_mode, count_include_pad):
    nd = len(kernel)
    spatial = x.shape[2:]
    out = tuple(torch_rule_out(spatial[i], kernel[i], stride[i], padding[i], dilation[i],
                               ceil_mode) for i in range(nd))
    y = np.zeros(x.shape[:2] + out)
    winners = {}
    for n, c in itertools.product(range(x.shape[0]), range(x.shape[1])):
        for o in itertools.product(*map(range, out)):
            values, where, count = [], [], 0
            for k in itertools.product(*map(range, kernel)):
                pos = tuple(o[i] * stride[i] - padding[i] + k[i] * dilation[i] for i in range(nd))
                inside = all(0 <= pos[i] < spatial[i] for i in range(nd))
                in_padded = all(pos[i] < spatial[i] + padding[i] for i in range(nd))
                if inside:
                    values.append(x[(n, c, *pos)])
                    where.append(pos)
                if (count_include_pad and in_padded) or inside:
                    count += 1
            if kind == "avg":
                y[(n, c, *o)] = sum(values) / count
            else:
                best = int(np.argmax(values) if kind == "max" else np.argmin(values))
                y[(n, c, *o)] = values[best]
                winners[(n, c, *o)] = where[best]

    def backward(dy):
        dx = np.zeros_like(x)
        for n, c in itertools.product(range(x.shape[0]), range(x.shape[1])):
            for o in itertools.product(*map(range, out)):
                if kind != "avg":
                    dx[(n, c, *winners[(n, c, *o)])] += dy[(n, c, *o)]
                    continue
                positions, count = [], 0
                for k in itertools.product(*map(range, kernel)):
                    pos = tuple(o[i] * stride[i] - padding[i] + k[i] * dilation[i]
                                for i in range(nd))
                    inside = all(0 <= pos[i] < spatial[i] for i in range(nd))
                    in_padded = all(pos[i] < spatial[i] + padding[i] for i in range(nd))
                    if inside:
                        positions.append(pos)
                    if (count_include_pad and in_padded) or inside:
                        count += 1
                share = dy[(n, c, *o)] / count
                for pos in positions:
                    dx[(n, c, *pos)] += share
        return dx

    return y, backward


CASES = list(itertools.product(
    ["max", "min", "avg"],
    [((1, 2, 9), (3,), (2,), (1,), (2,)),
     ((1, 2, 7, 6), (3, 2), (2, 1), (1, 1), (1, 2)),
     ((1, 1, 5, 4, 6), (2, 3, 2), (2, 1, 3), (1, 1, 0), (2, 1, 1))],
    [False, True],       # ceil_mode
    [True, False],       # count_include_pad (avg only)
))


@pytest.mark.parametrize("kind, geometry, ceil_mode, count_include_pad", [
    c for c in CASES if c[0] == "avg" or c[3]])
def test_pool_equals_the_plain_loop(kind, geometry, ceil_mode, count_include_pad):
    shape, kernel, stride, padding, dilation = geometry
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    y, cache = pool_forward(x, kind, kernel, stride, padding, dilation, ceil_mode,
                            count_include_pad, nd=len(kernel))
    y_ref, backward = naive_pool(x, kind, kernel, stride, padding, dilation, ceil_mode,
                                 count_include_pad)
    np.testing.assert_allclose(y, y_ref, rtol=1e-13, atol=1e-14)
    dy = rng.standard_normal(y.shape)
    np.testing.assert_allclose(pool_backward(dy, cache), backward(dy), rtol=1e-13, atol=1e-14)


def test_avg_divisor_with_and_without_padding():
    x = np.ones((1, 1, 4))
    # windows over padded [0 | 1 1 1 1 | 0], kernel 3, stride 3 -> [0 1 1] [1 1 0]
    y, _ = pool_forward(x, "avg", 3, 3, 1, nd=1)
    np.testing.assert_allclose(y[0, 0], [2 / 3, 2 / 3])
    y, _ = pool_forward(x, "avg", 3, 3, 1, count_include_pad=False, nd=1)
    np.testing.assert_allclose(y[0, 0], [1.0, 1.0])


def test_pool_kind_and_default_name():
    with pytest.raises(ValueError, match=re.escape(
            "pooling kind must be one of ('max', 'min', 'avg'), received 'sum'")):
        pool_forward(np.zeros((1, 1, 4)), "sum", 2, nd=1)
    with pytest.raises(ValueError, match=re.escape(
            "MinPool3d expects a 5-D input (N, C, D, H, W), received shape (1, 4) (2-D)")):
        pool_forward(np.zeros((1, 4)), "min", 2, nd=3)
    with pytest.raises(ValueError, match=re.escape(
            "AvgPool2d: padding 2 along width must be at most half the kernel size 3")):
        pool_forward(np.zeros((1, 1, 8, 8)), "avg", 3, padding=(1, 2))


def test_dtype_is_kept():
    for dtype in (np.float32, np.float64):
        x = np.ones((1, 1, 4, 4), dtype)
        y, cache = pool_forward(x, "avg", 2, padding=1)
        assert y.dtype == dtype and pool_backward(np.ones_like(y), cache).dtype == dtype
    # 3×3 windows over the zero-padded 6×6: corners see 1 of 4 ones, edges 2, the centre 4
    assert math.isclose(float(y.sum()), 4 * 0.25 + 4 * 0.5 + 1.0, rel_tol=1e-12)


@pytest.mark.parametrize("kernel, stride", [(2, 2), (3, 1), (3, 2)])  # disjoint and overlapping windows
def test_max_pool_routes_an_infinite_gradient_to_its_winner_only_as_torch(kernel, stride):
    import torch

    x = np.random.default_rng(0).standard_normal((2, 2, 6, 6))
    out = (6 - kernel) // stride + 1
    dy = np.random.default_rng(1).standard_normal((2, 2, out, out))
    dy[0, 0, 0, 0], dy[0, 1, 1, 1], dy[1, 0, 0, 1] = np.inf, -np.inf, np.nan
    _, cache = pool_forward(x, "max", kernel, stride)
    dx = pool_backward(dy, cache)
    tx = torch.tensor(x, requires_grad=True)
    torch.nn.functional.max_pool2d(tx, kernel, stride).backward(torch.tensor(dy))
    expected = tx.grad.numpy()
    assert np.isnan(dx).sum() == np.isnan(expected).sum() == 1  # the NaN reaches its own winner only
    assert np.isinf(dx).sum() == np.isinf(expected).sum() == 2
    np.testing.assert_allclose(dx, expected, rtol=1e-12)  # overlapping windows: sums in another order
