"""The fast im2col engine against the plain-loop reference (convlens.functional.loops).

Two independent implementations of N-d convolution and pooling must agree on the output and
on every gradient, over random geometries drawn by hypothesis.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from convlens.functional.conv import conv_backward, conv_forward
from convlens.functional.loops import (
    conv_backward_loops,
    conv_forward_loops,
    pool_backward_loops,
    pool_forward_loops,
)
from convlens.functional.pool import pool_backward, pool_forward


@st.composite
def conv_cases(draw):
    nd = draw(st.integers(1, 3))
    groups = draw(st.sampled_from([1, 2]))
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = draw(st.integers(1, 2))
    stride = draw(st.integers(1, 3))
    padding = draw(st.sampled_from([0, 1, "same", "valid"]))
    mode = draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
    spatial = tuple(draw(st.integers(max(dilation * (k - 1) + 1, 3), 6)) for k in kernel)
    n = draw(st.integers(1, 2))
    return nd, n, c_in, c_out, kernel, stride, padding, dilation, groups, mode, spatial


@settings(max_examples=60, deadline=None, derandomize=True)
@given(conv_cases(), st.booleans())
def test_conv_matches_loops(case, with_bias):
    nd, n, c_in, c_out, kernel, stride, padding, dilation, groups, mode, spatial = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c_in, *spatial))
    w = rng.standard_normal((c_out, c_in // groups, *kernel))
    b = rng.standard_normal(c_out) if with_bias else None
    args = dict(stride=stride, padding=padding, dilation=dilation, groups=groups, padding_mode=mode)
    y, cache = conv_forward(x, w, b, **args)
    y_ref, cache_ref = conv_forward_loops(x, w, b, **args)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    dy = rng.standard_normal(y.shape)
    for got, want in zip(conv_backward(dy, cache), conv_backward_loops(dy, cache_ref)):
        if want is None:
            assert got is None
        else:
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@st.composite
def pool_cases(draw):
    nd = draw(st.integers(1, 3))
    kernel = draw(st.integers(1, 3))
    stride = draw(st.integers(1, 3))
    padding = draw(st.integers(0, kernel // 2))
    spatial = tuple(draw(st.integers(kernel, 7)) for _ in range(nd))
    return nd, kernel, stride, padding, spatial


@settings(max_examples=60, deadline=None, derandomize=True)
@given(pool_cases(), st.sampled_from(["max", "min", "avg"]), st.booleans(), st.booleans())
def test_pool_matches_loops(case, kind, ceil_mode, count_include_pad):
    nd, kernel, stride, padding, spatial = case
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 2, *spatial))
    args = dict(kernel_size=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode,
                count_include_pad=count_include_pad, nd=nd)
    y, cache = pool_forward(x, kind, **args)
    y_ref, cache_ref = pool_forward_loops(x, kind, **args)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    dy = rng.standard_normal(y.shape)
    np.testing.assert_allclose(pool_backward(dy, cache), pool_backward_loops(dy, cache_ref),
                               rtol=1e-12, atol=1e-12)
