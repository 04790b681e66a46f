"""Constant: a zero-input graph node (buffer or trainable Parameter) broadcast into merges."""

from __future__ import annotations

import json

import numpy as np
import pytest
from torch_oracle import check_parity

import convlens as cl
from convlens.layers.spec import from_spec, to_spec


def scaled(trainable, dtype=np.float64):
    cl.manual_seed(0)
    x = cl.Input((3, 4, 4))
    scale = cl.Constant(np.linspace(0.5, 2, 3).reshape(3, 1, 1).astype(dtype),
                        trainable=trainable)(name="scale")
    bias = cl.Constant(np.arange(4, dtype=dtype), trainable=trainable)(name="bias")
    weight = cl.Constant(np.random.default_rng(1).standard_normal((4, 2)).astype(dtype),
                         trainable=trainable)(name="weight")
    y = cl.Add()(cl.Multiply()(cl.Conv2d(3, 3, 1, dtype=dtype)(x), scale), bias)
    return cl.Graph(x, cl.MatMul()(y, weight))


@pytest.mark.parametrize("trainable", [False, True])
def test_constant_in_graph_matches_torch(trainable):
    model = scaled(trainable)
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4))
    assert check_parity(model, x).shape == (2, 3, 4, 2)
    names = [name for name, _ in model.named_parameters()]
    assert ("scale.value" in names) is trainable
    assert "scale.value" in model.state_dict()            # a buffer when not trainable
    report = cl.gradcheck(model, x, max_checks=30)
    assert report.ok(1e-7), str(report)


def test_constant_has_no_batch_axis():
    c = cl.Constant(np.ones((3, 1, 1)))()
    assert c.shape == (3, 1, 1) and not c.batched
    doubled = cl.Add()(c, c)                 # computed from constants only: still no batch axis
    assert doubled.shape == (3, 1, 1) and not doubled.batched
    assert cl.Add()(cl.Input((3, 2, 2)), doubled).batched


def test_constant_spec_inlines_small_values_only():
    small = to_spec(cl.Constant(np.array([1.0, 2.0])))
    assert small["config"] == {"trainable": False, "dtype": "float64", "value": [1.0, 2.0]}
    np.testing.assert_array_equal(from_spec(json.loads(json.dumps(small))).array, [1.0, 2.0])
    big = to_spec(cl.Constant(np.ones((10, 10), np.float32), trainable=True))
    assert big["config"] == {"trainable": True, "dtype": "float32", "shape": [10, 10]}
    rebuilt = from_spec(big)
    assert rebuilt.value.shape == (10, 10) and rebuilt.trainable
    with pytest.raises(ValueError, match="needs 'value'"):
        from_spec({"class": "Constant", "config": {}})
    with pytest.raises(TypeError, match="numeric array"):
        cl.Constant(np.array(["a"]))
