"""``BatchNorm2d(return_stats=True)``: ``y, mean, var = bn(x)``, the statistics it normalized
with as outputs without a batch axis, differentiable when they come from the batch (ONNX's
BatchNormalization in training mode is built on it: tests/io/onnx/test_onnx_backend.py).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch_oracle import check_parity

import convlens as cl
from convlens.layers.spec import from_spec, to_spec


def stats_graph(track=False, dtype=np.float64):
    cl.manual_seed(5)
    x = cl.Input((3, 4, 4), name="x")
    y, mean, var = cl.BatchNorm2d(3, track_running_stats=track, return_stats=True,
                                  dtype=dtype)(x, name="bn")
    scores = cl.Linear(48, 2, dtype=dtype)(cl.Flatten()(y))
    return cl.Graph(x, (scores, cl.Multiply()(mean, var, name="spread"), var))


def batch(seed=0, dtype=np.float64):
    return (np.random.default_rng(seed).standard_normal((4, 3, 4, 4)) * 1.5 + 0.3).astype(dtype)


def test_outputs_and_shapes():
    graph = stats_graph()
    assert graph.output_shapes == [(2,), (3,), (3,)]
    _, spread, var = graph(batch())
    x = batch()
    np.testing.assert_allclose(var, x.var(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(spread, x.mean(axis=(0, 2, 3)) * var, rtol=1e-12)


@pytest.mark.parametrize("track", [False, True], ids=["batch-stats", "training-with-running"])
def test_matches_torch_autograd_and_gradcheck(track):
    graph = stats_graph(track).train()
    check_parity(graph, batch())
    report = cl.gradcheck(stats_graph(track).train(), batch(1), max_checks=30)
    assert report.max_error < 1e-7, report


def test_eval_returns_the_running_statistics_without_gradient():
    layer = cl.BatchNorm2d(3, return_stats=True, dtype=np.float64).eval()
    layer.running_mean[...] = [1.0, 2.0, 3.0]
    y, mean, var = layer(batch())
    np.testing.assert_array_equal(mean, [1.0, 2.0, 3.0])
    dx = layer.backward((np.zeros_like(y), np.ones(3), np.ones(3)))
    np.testing.assert_array_equal(dx, np.zeros_like(y))


def test_spec_and_to_torch():
    graph = stats_graph()
    again = from_spec(json.loads(json.dumps(to_spec(graph))))
    again.load_state_dict(graph.state_dict())
    twin = cl.to_torch(graph).train()
    expected = graph(batch())
    for a, b, c in zip(expected, again(batch()), twin(torch.from_numpy(batch()))):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(c.detach().numpy(), a, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("track", [False, True], ids=["batch-stats", "running-stats"])
def test_export_onnx(tmp_path, track):
    import onnxruntime

    graph = stats_graph(track, np.float32).eval()
    path = cl.export_onnx(graph, tmp_path / "bn.onnx")
    # onnxruntime's graph optimizations fold a BatchNormalization whose statistics inputs are
    # initializers as if it inferred, ignoring training_mode=1 (measured: y differs with them,
    # matches without); the unoptimized session runs the node as ONNX defines it
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    x = batch(dtype=np.float32)
    for a, b in zip(graph(x), session.run(None, {session.get_inputs()[0].name: x})):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
