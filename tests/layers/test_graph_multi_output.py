"""Graph nodes with several outputs: ``y, mean, inv_std = cl.LayerNorm(..., return_stats=True)(x)``.

Each output is a symbolic tensor of its own (output ``i > 0`` of node ``n`` is named ``n:i``);
backward hands the layer one gradient per output, the sum over the output's users, zeros for
an output nobody uses. Checked against torch autograd on the same graph and with float64
``cl.gradcheck``; then save/load, summary and to_torch on such a graph.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from torch_oracle import check_parity

import convlens as cl
from convlens.layers.spec import from_spec, to_spec


def stats_graph(dtype=np.float64, use_inv_std=True):
    """LayerNorm's three outputs: y feeds a Linear, the mean is used twice (fan-out), the
    inverse standard deviation is a graph output (or unused)."""
    cl.manual_seed(3)
    x = cl.Input((4, 6), name="x")
    y, mean, inv_std = cl.LayerNorm(6, return_stats=True, dtype=dtype)(x, name="norm")
    h = cl.Linear(6, 5, dtype=dtype)(y, name="fc")
    shifted = cl.Add()(h, mean)                      # mean (N, 4, 1) broadcasts over 5
    scaled = cl.Multiply()(shifted, mean)             # the mean's second user
    return cl.Graph(x, (scaled, inv_std) if use_inv_std else scaled)


def sample(seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal((3, 4, 6)).astype(dtype) * 2 + 0.5


def test_the_outputs_are_symbolic_tensors_named_after_the_node():
    x = cl.Input((4, 6))
    outputs = cl.LayerNorm(6, return_stats=True)(x, name="ln")
    assert isinstance(outputs, tuple) and len(outputs) == 3
    assert [t.name for t in outputs] == ["ln", "ln:1", "ln:2"]
    assert [t.shape for t in outputs] == [(4, 6), (4, 1), (4, 1)]
    graph = cl.Graph(x, outputs[1:])
    assert graph.output_names == ["ln:1", "ln:2"]
    assert graph.node("ln").outputs == ["ln", "ln:1", "ln:2"]
    assert graph.consumers()["ln:2"] == []


def test_default_names_carry_over_to_the_other_outputs():
    x = cl.Input((4, 6))
    _, mean, _ = cl.LayerNorm(6, return_stats=True)(x)
    graph = cl.Graph(x, cl.ReLU()(mean))
    assert graph.nodes[0].name == "layer_norm_1"
    assert graph.nodes[1].inputs == ["layer_norm_1:1"]


@pytest.mark.parametrize("use_inv_std", [True, False], ids=["all-outputs", "one-unused"])
def test_matches_torch_autograd(use_inv_std):
    graph = stats_graph(use_inv_std=use_inv_std)
    ys = check_parity(graph, sample())
    if use_inv_std:
        assert ys[1].shape == (3, 4, 1)


@pytest.mark.parametrize("use_inv_std", [True, False], ids=["all-outputs", "one-unused"])
def test_gradcheck(use_inv_std):
    report = cl.gradcheck(stats_graph(use_inv_std=use_inv_std), sample(1), max_checks=40)
    assert report.max_error < 1e-7, report


def test_layer_alone_takes_one_gradient_per_output():
    layer = cl.LayerNorm(6, return_stats=True, dtype=np.float64)
    ys = layer(sample())
    with pytest.raises(ValueError, match="expected a tuple of 3 gradients"):
        layer.backward(np.ones_like(ys[0]))
    report = cl.gradcheck(layer, sample(2), max_checks=40)
    assert report.max_error < 1e-7, report


def test_float32_unused_output_gets_float32_zeros():
    graph = stats_graph(np.float32, use_inv_std=False)
    x = sample(dtype=np.float32)
    y = graph(x)
    dx = graph.backward(np.ones_like(y))
    assert dx.dtype == np.float32 and dx.shape == x.shape


def test_spec_round_trip_keeps_the_outputs():
    graph = stats_graph()
    spec = json.loads(json.dumps(to_spec(graph)))
    nodes = {n["name"]: n["inputs"] for n in spec["config"]["nodes"]}
    assert nodes["add_1"] == ["fc", "norm:1"]
    assert spec["config"]["outputs"] == ["multiply_1", "norm:2"]
    again = from_spec(spec)
    again.load_state_dict(graph.state_dict())
    for a, b in zip(graph(sample()), again(sample())):
        np.testing.assert_array_equal(a, b)


def test_save_and_load_a_file(tmp_path):
    graph = stats_graph()
    cl.save(graph, tmp_path / "stats.convlens")
    again = cl.load(tmp_path / "stats.convlens")
    assert again.node("norm").outputs == ["norm", "norm:1", "norm:2"]
    for a, b in zip(graph(sample()), again(sample())):
        np.testing.assert_array_equal(a, b)


def test_summary_shows_each_output_as_connected_to():
    text = str(cl.summary(stats_graph(), input_shape=(4, 6)))
    assert "norm:1" in text and "norm:2" not in text.split("Connected")[0]


def test_to_torch_returns_the_same_outputs():
    import torch

    graph = stats_graph()
    module = cl.to_torch(graph)
    x = sample()
    expected = graph(x)
    got = module(torch.from_numpy(x))
    for a, b in zip(expected, got):
        np.testing.assert_allclose(a, b.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_a_graph_without_inputs():
    value = np.arange(6.0).reshape(2, 3)
    graph = cl.Graph([], cl.Constant(value)(name="c"))
    assert graph.num_inputs == 0
    np.testing.assert_array_equal(graph(), value)
    again = from_spec(json.loads(json.dumps(to_spec(graph))))
    np.testing.assert_array_equal(again(), value)


def conv_graph():
    """A small CNN whose LayerNorm's statistics rescale and shift its output."""
    cl.manual_seed(0)
    x = cl.Input((2, 4, 4), name="image")
    a = cl.Conv2d(2, 3, 3, padding=1)(x, name="conv")
    y, mean, inv_std = cl.LayerNorm((4, 4), return_stats=True)(a, name="norm")
    scaled = cl.Multiply()(y, inv_std, name="scale")
    joined = cl.Add()(scaled, mean, name="join")
    return cl.Graph(x, cl.Linear(48, 3)(cl.Flatten()(joined, name="flat"), name="fc"))


def images(seed=0):
    return np.random.default_rng(seed).standard_normal((2, 2, 4, 4)).astype(np.float32)


def test_explain_records_every_output_and_its_gradient():
    from convlens.inspect.explain import explain

    model = conv_graph()
    result = explain(model, images(), np.array([1, 2]), print_text=False)
    norm = result.trace.layer("norm")
    assert len(norm.outputs) == 3 and norm.y is norm.outputs[0]
    d_y, d_mean, d_inv_std = norm.output_grads
    # the mean's gradient is what join sent back (its second input), summed over the 4x4 plane
    np.testing.assert_allclose(d_mean, result.trace.layer("join").dy.sum(axis=(2, 3), keepdims=True),
                               rtol=1e-5)
    assert norm.dy is d_y and "Reads conv." in result.to_text()


def test_feature_maps_hooks_and_profiler_see_the_first_output():
    from convlens.inspect.profile import LayerProfiler
    from convlens.viz.feature_maps import feature_maps

    model = conv_graph()
    maps = feature_maps(model, images(), ["norm"])
    assert maps["norm"].shape == (2, 3, 4, 4)
    seen = []
    with model.node("norm").layer.register_forward_hook(lambda m, x, y: seen.append(len(y))):
        model(images())
    assert seen == [3]
    with LayerProfiler(model) as prof:
        y = model(images())
        model.backward(np.ones_like(y))
    assert {t.name for t in prof.timings} == {"conv", "norm", "scale", "join", "flat", "fc"}


def test_export_onnx_writes_the_statistics_outputs(tmp_path):
    import onnxruntime

    model = conv_graph()
    x = cl.Input((2, 4, 4))
    _, mean, inv_std = cl.LayerNorm((4, 4), return_stats=True)(x)
    stats = cl.Graph(x, (mean, inv_std))
    for graph in (model, stats):
        path = cl.export_onnx(graph, tmp_path / "m.onnx")
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = session.run(None, {session.get_inputs()[0].name: images()})
        expected = graph(images())
        for a, b in zip(expected if isinstance(expected, tuple) else (expected,), got):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        again = cl.from_onnx(path)
        for a, b in zip(expected if isinstance(expected, tuple) else (expected,),
                        again(images()) if len(got) > 1 else (again(images()),)):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_grad_cam_on_a_node_with_several_outputs_uses_the_first():
    from convlens.viz.cam import class_activation_map

    result = class_activation_map(conv_graph(), images(), None, "norm", "grad-cam")
    assert result.activations.shape == (2, 3, 4, 4) and result.gradients.shape == (2, 3, 4, 4)
    assert result.heatmap.shape == (2, 4, 4)


def test_a_graph_with_several_outputs_is_a_node_of_another():
    cl.manual_seed(6)
    x = cl.Input((4, 6))
    y, mean, _ = cl.LayerNorm(6, return_stats=True, dtype=np.float64)(x)
    inner = cl.Graph(x, (cl.Linear(6, 3, dtype=np.float64)(y), mean))
    outer_x = cl.Input((4, 6), name="x")
    scores, inner_mean = inner(outer_x, name="inner")
    outer = cl.Graph(outer_x, cl.Add()(scores, inner_mean))
    assert outer.nodes[0].outputs == ["inner", "inner:1"]
    check_parity(outer, sample())
    assert cl.gradcheck(outer, sample(4), max_checks=30).max_error < 1e-7


def test_a_shared_layer_with_several_outputs():
    """One LayerNorm at two nodes: each call's cache is its own, the weight gets both sums."""
    cl.manual_seed(7)
    x = cl.Input((4, 6), name="x")
    norm = cl.LayerNorm(6, return_stats=True, dtype=np.float64)
    y1, mean1, _ = norm(x, name="first")
    y2, _, inv_std2 = norm(cl.Tanh()(y1), name="second")
    graph = cl.Graph(x, (cl.Add()(y2, mean1), inv_std2))
    check_parity(graph, sample())
    assert cl.gradcheck(graph, sample(5), max_checks=30).max_error < 1e-7
