"""Graph models (functional API) against a torch interpreter of the same graph, and gradcheck.

Each architecture is the join that makes real networks non-sequential: Inception's branches
and concatenation, DenseNet's dense block, ResNet's bottleneck with a projection shortcut,
ShuffleNet's channel shuffle (reshape, transpose, reshape), plain fan-out (one tensor used by
several nodes, and twice by one node), a layer shared by two nodes, several inputs and outputs.
``check_parity`` compares the output, every input gradient and every parameter gradient with
torch autograd; ``cl.gradcheck`` checks them by central differences in float64.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from torch_oracle import check_parity

import convlens as cl
from convlens.layers.spec import SpecError, from_spec, to_spec


def conv_bn_relu(x, cin, cout, k, dtype, stride=1, name=None):
    y = cl.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False, dtype=dtype)(x, name=name)
    return cl.ReLU()(cl.BatchNorm2d(cout, dtype=dtype)(y))


def inception(dtype=np.float64):
    cl.manual_seed(0)
    x = cl.Input((4, 8, 8), name="image")
    b1 = cl.Conv2d(4, 3, 1, dtype=dtype)(x, name="branch1x1")
    b2 = cl.Conv2d(3, 5, 3, padding=1, dtype=dtype)(cl.ReLU()(cl.Conv2d(4, 3, 1, dtype=dtype)(x)))
    b3 = cl.Conv2d(2, 2, 5, padding=2, dtype=dtype)(cl.ReLU()(cl.Conv2d(4, 2, 1, dtype=dtype)(x)))
    b4 = cl.Conv2d(4, 2, 1, dtype=dtype)(cl.MaxPool2d(3, stride=1, padding=1)(x))
    mixed = cl.Concatenate(dim=1)(b1, b2, b3, b4, name="mixed")
    y = cl.Linear(12, 3, dtype=dtype)(cl.GlobalAvgPool2d()(cl.ReLU()(mixed)))
    return cl.Graph(x, y)


def dense_block(dtype=np.float64, layers=3, growth=2):
    cl.manual_seed(1)
    x = cl.Input((3, 6, 6))
    features = [x]
    channels = 3
    for _ in range(layers):
        joined = features[0] if len(features) == 1 else cl.Concatenate()(*features)
        h = cl.ReLU()(cl.BatchNorm2d(channels, dtype=dtype)(joined))
        features.append(cl.Conv2d(channels, growth, 3, padding=1, dtype=dtype)(h))
        channels += growth
    return cl.Graph(x, cl.Concatenate()(*features))


def bottleneck(dtype=np.float64):
    cl.manual_seed(2)
    x = cl.Input((4, 8, 8))
    h = conv_bn_relu(x, 4, 2, 1, dtype)
    h = conv_bn_relu(h, 2, 2, 3, dtype, stride=2)
    h = cl.BatchNorm2d(8, dtype=dtype)(cl.Conv2d(2, 8, 1, bias=False, dtype=dtype)(h))
    shortcut = cl.BatchNorm2d(8, dtype=dtype)(
        cl.Conv2d(4, 8, 1, stride=2, bias=False, dtype=dtype)(x, name="downsample"))
    return cl.Graph(x, cl.ReLU()(cl.Add()(h, shortcut, name="join")))


def shuffle_unit(dtype=np.float64, groups=2):
    cl.manual_seed(3)
    x = cl.Input((4, 5, 5))
    a = cl.Conv2d(4, 2, 1, dtype=dtype)(x)
    b = cl.Conv2d(2, 2, 3, padding=1, groups=2, dtype=dtype)(cl.Conv2d(4, 2, 1, dtype=dtype)(x))
    joined = cl.Concatenate()(a, b)                                   # (4, 5, 5)
    g = cl.Reshape(groups, 4 // groups, 5, 5)(joined)                 # (g, C/g, H, W)
    g = cl.Permute(0, 2, 1, 3, 4)(g)                                  # (C/g, g, H, W)
    shuffled = cl.Reshape(4, 5, 5)(g, name="shuffled")
    return cl.Graph(x, cl.Conv2d(4, 3, 1, dtype=dtype)(shuffled))


def fan_out(dtype=np.float64):
    cl.manual_seed(4)
    x = cl.Input((3, 4, 4))
    a = cl.Conv2d(3, 3, 3, padding=1, dtype=dtype)(x)     # used by four inputs of three nodes
    square = cl.Multiply()(a, a)                           # the same tensor twice in one node
    gate = cl.Sigmoid()(a)
    y = cl.Add()(cl.Multiply()(square, gate), a, x)       # x itself fans out too
    return cl.Graph(x, y)


def shared_layer(dtype=np.float64):
    cl.manual_seed(5)
    x = cl.Input((3, 6, 6))
    conv = cl.Conv2d(3, 3, 3, padding=1, dtype=dtype)
    once = conv(x, name="conv_a")
    twice = conv(cl.Tanh()(once), name="conv_b")           # same weights, chained
    other = conv(cl.MaxPool2d(2)(x), name="conv_c")         # same weights, another size
    pooled = cl.Add()(cl.MaxPool2d(2)(twice), other)
    return cl.Graph(x, pooled)


def two_in_two_out(dtype=np.float64):
    cl.manual_seed(6)
    a, b = cl.Input((2, 5, 5), name="a"), cl.Input((3, 5, 5), name="b")
    ha = cl.Conv2d(2, 4, 3, padding=1, dtype=dtype)(a)
    hb = cl.Conv2d(3, 4, 1, dtype=dtype)(b)
    merged = cl.Maximum()(ha, hb)
    ratio = cl.Divide()(ha, cl.Add()(cl.Multiply()(hb, hb), cl.Constant(np.ones((4, 1, 1), dtype))()))
    out1 = cl.Flatten()(cl.GlobalAvgPool2d()(cl.Subtract()(merged, ratio)))
    out2 = cl.Mean()(cl.Minimum()(ha, hb), ratio, name="second")
    return cl.Graph([a, b], [out1, out2])


ARCHITECTURES = {"inception": inception, "dense_block": dense_block, "bottleneck": bottleneck,
                 "shuffle_unit": shuffle_unit, "fan_out": fan_out, "shared_layer": shared_layer,
                 "two_in_two_out": two_in_two_out}


def example_inputs(model, dtype, batch=2, seed=0):
    rng = np.random.default_rng(seed)
    xs = tuple(rng.standard_normal((batch, *shape)).astype(dtype) for shape in model.input_shapes)
    return xs if len(xs) > 1 else xs[0]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("build", ARCHITECTURES.values(), ids=ARCHITECTURES.keys())
def test_graph_matches_torch(build, dtype):
    model = build(dtype)
    check_parity(model, example_inputs(model, dtype))


@pytest.mark.parametrize("build", ARCHITECTURES.values(), ids=ARCHITECTURES.keys())
def test_graph_gradcheck(build):
    model = build(np.float64).eval()      # batch norm on running statistics: a fixed function
    report = cl.gradcheck(model, example_inputs(model, np.float64), max_checks=30)
    assert report.ok(1e-6), str(report)
    # train mode too: batch statistics make every output depend on every example
    report = cl.gradcheck(build(np.float64).train(), example_inputs(model, np.float64),
                          max_checks=20)
    assert report.ok(1e-6), str(report)


def test_shared_layer_gets_sum_of_its_uses():
    model = shared_layer()
    assert [name for name, _ in model.named_children()].count("conv_a") == 1
    assert "conv_b" not in dict(model.named_children())
    assert list(model.state_dict()) == ["conv_a.weight", "conv_a.bias"]
    assert model.node("conv_b").layer is model.node("conv_a").layer


def test_topological_order_names_and_shapes():
    x = cl.Input((3, 8, 8), name="image")
    a = cl.Conv2d(3, 4, 3, padding=1)(x, name="conv1")
    b = cl.ReLU()(a)
    c = cl.Conv2d(3, 4, 1)(x)
    assert (a.shape, a.name, a.node.layer.__class__) == ((4, 8, 8), "conv1", cl.Conv2d)
    assert b.name.startswith("relu_") and c.name.startswith("conv2d_")
    s = cl.Add()(b, c)
    y = cl.Flatten()(cl.GlobalAvgPool2d()(s))
    assert y.shape == (4,)
    model = cl.Graph(inputs=x, outputs=y)
    assert [n.name for n in model.nodes][:3] == ["conv1", b.name, c.name]
    assert model.nodes[3].inputs == [b.name, c.name]
    assert model.input_names == ["image"] and model.output_names == [y.name]
    assert model.consumers()["image"] == ["conv1", c.name]
    assert isinstance(model.nodes[0], cl.GraphNode)


def test_several_inputs_return_tuple_and_unused_input_gets_zeros():
    a, b = cl.Input((3,), name="a"), cl.Input((2,), name="unused")
    model = cl.Graph([a, b], cl.Linear(3, 1)(a))
    out = model(np.ones((4, 3), np.float32), np.ones((4, 2), np.float32))
    da, db = model.backward(np.ones_like(out))
    assert da.shape == (4, 3) and db.shape == (4, 2) and not db.any()


def test_forward_hooks_fire_per_node_and_graph_nests():
    model = inception()
    seen = []
    for node in model.nodes:
        node.layer.register_forward_hook(lambda layer, x, y: seen.append(y.shape))
    x = example_inputs(model, np.float64)
    model(x)
    assert len(seen) == len(model.nodes)
    concat_inputs = []
    model.node("mixed").layer.register_forward_hook(lambda m, xs, y: concat_inputs.append(xs))
    model(x)
    assert len(concat_inputs[0]) == 4          # a merge layer's hook gets the tuple of inputs
    # a graph is a layer: inside a Sequential and as a node of another graph
    outer_in = cl.Input((4, 8, 8))
    outer = cl.Graph(outer_in, cl.Softmax(dim=1)(model(outer_in)))
    check_parity(cl.Sequential(outer), x)


def test_no_grad_keeps_no_cache():
    model = bottleneck()
    with cl.no_grad():
        model(example_inputs(model, np.float64))
    with pytest.raises(RuntimeError, match="before forward"):
        model.backward(np.ones((2, 8, 4, 4)))


def test_spec_round_trip_rebuilds_the_same_graph():
    for build in ARCHITECTURES.values():
        model = build(np.float32)          # specs hold no dtype: layers are rebuilt in float32
        spec = json.loads(json.dumps(to_spec(model)))      # JSON-able
        twin = from_spec(spec)
        assert isinstance(twin, cl.Graph)
        assert [n.name for n in twin.nodes] == [n.name for n in model.nodes]
        assert [n.inputs for n in twin.nodes] == [n.inputs for n in model.nodes]
        twin.load_state_dict(model.state_dict())
        assert list(twin.state_dict()) == list(model.state_dict())
        xs = example_inputs(model, np.float32)
        xs = xs if isinstance(xs, tuple) else (xs,)
        ours, theirs = model(*xs), twin(*xs)
        for y, z in zip(ours if isinstance(ours, tuple) else (ours,),
                        theirs if isinstance(theirs, tuple) else (theirs,)):
            np.testing.assert_array_equal(y, z)
    spec = to_spec(shared_layer())
    assert spec["config"]["nodes"][2]["layer"] == {"shared": "conv_a"}
    twin = from_spec(spec)
    assert twin.node("conv_c").layer is twin.node("conv_a").layer


def test_errors_name_what_was_expected():
    x = cl.Input((3, 8, 8), name="image")
    with pytest.raises(ValueError, match=r"node 'bad' \(Conv2d\) cannot take input shape \(3, 8, 8\)"):
        cl.Conv2d(4, 2, 3)(x, name="bad")
    with pytest.raises(ValueError, match="Subtract takes 2 inputs, received 3"):
        cl.Subtract()(x, x, x)
    with pytest.raises(TypeError, match="wrap arrays in cl.Constant"):
        cl.Add()(x, np.ones(3))
    with pytest.raises(TypeError, match="only accepted when the layer is called on symbolic"):
        cl.ReLU()(np.ones(3), name="r")
    other = cl.Input((3, 8, 8), name="other")
    y = cl.Add()(x, other)
    with pytest.raises(ValueError, match="depend on Input 'other', which is not among"):
        cl.Graph(x, y)
    dup = cl.ReLU()(cl.ReLU()(x, name="same"), name="same")
    with pytest.raises(ValueError, match="two tensors of the graph are named 'same'"):
        cl.Graph(x, dup)
    model = cl.Graph([x, other], y)
    with pytest.raises(ValueError, match=r"takes 2 input\(s\) \(image, other\), received 1"):
        model(np.ones((1, 3, 8, 8)))
    with pytest.raises(ValueError, match=r"input 'other' expects shape \(N, 3, 8, 8\), received"):
        model(np.ones((1, 3, 8, 8)), np.ones((1, 3, 4, 4)))
    bad = {"class": "Graph", "config": {"inputs": [{"name": "x", "shape": [3]}], "outputs": ["y"],
                                        "nodes": [{"name": "y", "layer": {"shared": "z"},
                                                   "inputs": ["x"]}]}}
    with pytest.raises(SpecError, match="model.y: 'shared' must name a layer defined before"):
        from_spec(bad)


def test_shape_inference_leaves_layer_state_alone():
    bn = cl.BatchNorm2d(3)
    bn.train()
    before = bn.state_dict()
    assert bn(cl.Input((3, 4, 4))).shape == (3, 4, 4)
    assert bn.training
    for key, value in bn.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_default_names_are_counted_within_each_graph():
    def build():
        x = cl.Input((3, 8, 8))
        a = cl.ReLU()(cl.Conv2d(3, 4, 3, padding=1)(x))
        b = cl.ReLU()(cl.Conv2d(3, 4, 1)(x, name="conv2d_1"))     # an explicit name is kept
        return cl.Graph(x, cl.Add()(a, b)), a

    first, a = build()
    second, _ = build()
    names = [n.name for n in first.nodes]
    assert names == ["conv2d_2", "relu_1", "conv2d_1", "relu_2", "add_1"]
    assert names == [n.name for n in second.nodes] and first.input_names == ["input_1"]
    assert list(first.state_dict()) == list(second.state_dict())
    assert a.name == "relu_1" and first.node("add_1").inputs == ["relu_1", "relu_2"]
    # a second graph over the same tensors keeps the names the first one gave
    sub = cl.Graph(a.node.input_tensors[0].node.input_tensors[0], a)
    assert [n.name for n in sub.nodes] == ["conv2d_2", "relu_1"]


def test_backward_hooks_fire_per_node_and_input_grad_can_be_skipped():
    model = fan_out()
    x = example_inputs(model, np.float64)
    y = model(x)
    seen = []
    for node in model.nodes:
        node.layer.register_backward_hook(lambda m, dy, dx: seen.append((type(m).__name__, dx)))
    dy = np.random.default_rng(1).standard_normal(y.shape)
    model.zero_grad()
    dx = model.backward(dy)
    grads = {name: p.grad.copy() for name, p in model.named_parameters()}
    assert len(seen) == len(model.nodes)
    assert [kind for kind, _ in seen][0] == "Add" and len(seen[0][1]) == 3   # a tuple per input
    model.zero_grad()
    model(x)
    assert model.backward(dy, need_input_grad=False) is None
    for name, p in model.named_parameters():                 # the same parameter gradients
        np.testing.assert_array_equal(p.grad, grads[name])
    assert dx.shape == x.shape


def test_drawing_a_graph_keeps_a_pending_backward_pass_intact():
    block = cl.Sequential(cl.Conv2d(1, 2, 3), cl.ReLU())
    x = np.random.default_rng(0).standard_normal((2, 1, 5, 5))
    y = block(x)
    cl.Graph(inp := cl.Input((1, 5, 5)), block(inp))       # shape inference runs block once
    assert block.backward(np.ones_like(y)).shape == x.shape


def test_a_graph_inside_a_sequential_round_trips_with_its_shared_layer():
    inner = shared_layer(np.float32)
    model = cl.Sequential(cl.Conv2d(3, 3, 1), inner)
    spec = json.loads(json.dumps(to_spec(model)))
    assert spec["config"]["layers"][1]["config"]["nodes"][2]["layer"] == {"shared": "1.conv_a"}
    twin = from_spec(spec)
    assert twin[1].node("conv_c").layer is twin[1].node("conv_a").layer
    twin.load_state_dict(model.state_dict())
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 6)).astype(np.float32)
    np.testing.assert_array_equal(twin(x), model(x))


def test_zero_size_tensors_pass_only_where_a_layer_takes_them():
    """ONNX allows zero-size tensors: a Graph with a zero-size Input takes one, and a layer
    runs on it only when ``takes_empty`` is set (the ONNX importer sets it); others refuse."""
    reshape = cl.Reshape(3, 0)
    x = cl.Input((0, 3))
    with pytest.raises(ValueError, match=r"whose axis 1 has size 0 \(no values\)"):
        reshape(x)
    reshape.takes_empty = True
    model = cl.Graph(x, reshape(x))
    assert model(np.zeros((2, 0, 3), np.float32)).shape == (2, 3, 0)
    assert model.backward(np.zeros((2, 3, 0), np.float32)).shape == (2, 0, 3)
