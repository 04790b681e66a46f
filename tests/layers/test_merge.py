"""Merge layers against torch (values, every input gradient, broadcasting) and gradcheck."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_oracle import check_parity, tensor

import convlens as cl
from convlens.functional.merge import unbroadcast

RNG = np.random.default_rng(0)

# (layer, input shapes): batched tensors meet per-channel constants and rank-changing operands
CASES = [
    (cl.Add, [(2, 3, 4, 4), (2, 3, 4, 4), (3, 1, 1)]),
    (cl.Add, [(2, 3, 4, 4)]),
    (cl.Subtract, [(2, 3, 4, 4), (1, 3, 1, 4)]),
    (cl.Subtract, [(4,), (2, 3, 4)]),
    (cl.Multiply, [(2, 3, 4), (2, 3, 1), (4,)]),
    (cl.Divide, [(2, 3, 4), (3, 1)]),
    (cl.Maximum, [(2, 3, 4), (2, 3, 4), (1, 4)]),
    (cl.Minimum, [(2, 3, 4), (3, 4)]),
    (cl.Mean, [(2, 5), (2, 5), (5,), (2, 1)]),
    (cl.MatMul, [(2, 3, 4), (4, 5)]),
    (cl.MatMul, [(2, 1, 3, 4), (5, 4, 2)]),
    (cl.MatMul, [(4,), (2, 4, 3)]),
    (cl.MatMul, [(2, 3, 4), (4,)]),
    (cl.MatMul, [(2, 4), (4, 3)]),
]


def inputs(shapes, dtype, positive_last=False):
    xs = [RNG.standard_normal(s).astype(dtype) for s in shapes]
    if positive_last:   # a divisor away from zero
        xs[-1] = (np.abs(xs[-1]) + 0.5).astype(dtype)
    return tuple(xs)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cls,shapes", CASES, ids=lambda v: getattr(v, "__name__", str(v)))
def test_merge_matches_torch(cls, shapes, dtype):
    xs = inputs(shapes, dtype, positive_last=cls is cl.Divide)
    y = check_parity(cls(), xs)
    assert cls is cl.MatMul or y.shape == torch.broadcast_shapes(*shapes)


@pytest.mark.parametrize("cls,shapes", CASES, ids=lambda v: getattr(v, "__name__", str(v)))
def test_merge_gradcheck(cls, shapes):
    xs = inputs(shapes, np.float64, positive_last=cls is cl.Divide)
    report = cl.gradcheck(cls(), xs, max_checks=40)
    assert report.ok(1e-7), str(report)


@pytest.mark.parametrize("dim", [1, 2, -1])
def test_concatenate_matches_torch(dim):
    shapes = [(2, 3, 4, 5), (2, 3, 4, 5), (2, 3, 4, 5)]
    shapes[1] = tuple(n + 2 if i == dim % 4 else n for i, n in enumerate(shapes[1]))
    xs = inputs(shapes, np.float64)
    y = check_parity(cl.Concatenate(dim=dim), xs)
    assert y.shape[dim] == sum(s[dim] for s in shapes)
    assert cl.gradcheck(cl.Concatenate(dim=dim), xs, max_checks=30).ok(1e-8)


def test_maximum_splits_ties_like_torch():
    a = np.array([[1.0, 2.0, 3.0]])
    b = np.array([[1.0, 5.0, 0.0]])
    layer = cl.Maximum()
    layer(a, b)
    da, db = layer.backward(np.ones((1, 3)))
    at, bt = tensor(a, True), tensor(b, True)
    torch.maximum(at, bt).sum().backward()
    np.testing.assert_array_equal(da, at.grad.numpy())
    np.testing.assert_array_equal(db, bt.grad.numpy())
    assert da[0, 0] == 0.5


def test_backward_without_input_grad_and_errors():
    layer = cl.Add()
    layer(np.ones((2, 3)), np.ones(3))
    assert layer.backward(np.ones((2, 3)), need_input_grad=False) == (None, None)
    with pytest.raises(ValueError, match=r"Add: input shapes \(2, 3\), \(4,\) do not broadcast"):
        cl.Add()(np.ones((2, 3)), np.ones(4))
    with pytest.raises(ValueError, match="Divide expects 2 inputs, received 3"):
        cl.Divide()(np.ones(2), np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match=r"MatMul: cannot multiply shapes \(2, 3\) @ \(4, 5\)"):
        cl.MatMul()(np.ones((2, 3)), np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"Concatenate\(dim=1\): input shapes \(2, 3\), \(4, 3\)"):
        cl.Concatenate()(np.ones((2, 3)), np.ones((4, 3)))
    with pytest.raises(RuntimeError, match="before forward"):
        cl.Multiply().backward(np.ones(3))


def test_unbroadcast_is_the_adjoint_of_broadcast_to():
    g = RNG.standard_normal((2, 3, 4))
    for shape in [(2, 3, 4), (3, 4), (1, 4), (3, 1), (2, 1, 4), (1,), ()]:
        v = RNG.standard_normal(shape)
        # <broadcast(v), g> == <v, unbroadcast(g)>
        lhs = (np.broadcast_to(v, g.shape) * g).sum()
        rhs = (v * unbroadcast(g, shape)).sum()
        assert np.isclose(lhs, rhs) and unbroadcast(g, shape).shape == shape


def test_merge_spec_round_trip():
    from convlens.layers.spec import from_spec, to_spec

    assert to_spec(cl.Concatenate(dim=2)) == {"class": "Concatenate", "config": {"dim": 2}}
    assert isinstance(from_spec(to_spec(cl.MatMul())), cl.MatMul)


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint8])
def test_integer_divide_truncates_toward_zero_as_torch(dtype):
    """ONNX's integer Div (C's ``/``): −7 / 2 = −3, not NumPy's floor −4."""
    info = np.iinfo(dtype)
    a = RNG.integers(max(info.min, -1000), min(info.max, 1000), size=(3, 50), endpoint=True).astype(dtype)
    b = RNG.integers(1, 9, size=(50,)).astype(dtype)
    if info.min < 0:
        b[::2] *= -1
    y = cl.Divide()(a, b)
    assert y.dtype == dtype
    np.testing.assert_array_equal(y, torch.div(torch.from_numpy(a), torch.from_numpy(b), rounding_mode="trunc").numpy())
