"""cl.from_onnx: files written by PyTorch (several opsets) and by convlens import as graph models
that compute what onnxruntime computes, train (gradients equal PyTorch's on the same network),
keep PyTorch's parameter names, and round-trip exactly; bad files get one clear error."""

from __future__ import annotations

import math
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper
from torch import nn

import convlens as cl
from convlens.io import formats
from convlens.io.formats import FormatError
from convlens.io.onnx.importer import OnnxImportError


def torch_export(module, x, path, opset, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (torch.from_numpy(x),), str(path), opset_version=opset, dynamo=False,
                          input_names=["image"], dynamic_axes={"image": {0: "N"}}, **kwargs)
    return path


def onnxruntime_run(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


class SmallNet(nn.Module):
    """Conv, pooling, a hand-written flatten (Shape/Gather/Concat/Reshape in older opsets)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(6, 4, 3, stride=2, padding=1, groups=2)
        self.fc = nn.Linear(4 * 2 * 2, 5)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv1(x)))
        x = torch.nn.functional.leaky_relu(self.conv2(x), 0.1)
        return self.fc(x.view(x.size(0), -1))


X = np.random.default_rng(0).standard_normal((3, 3, 8, 8)).astype(np.float32)


@pytest.mark.parametrize("opset", [9, 11, 13, 17, 20])
def test_pytorch_export_matches_onnxruntime_at_every_opset(opset, tmp_path):
    torch.manual_seed(0)
    net = SmallNet().eval()
    path = torch_export(net, X, tmp_path / "net.onnx", opset)
    model = formats.load(path)
    assert isinstance(model, cl.Graph)
    for batch in (1, 3):
        np.testing.assert_allclose(model(X[:batch]), onnxruntime_run(path, X[:batch]), rtol=1e-5, atol=1e-6)


def test_parameter_names_are_pytorchs(tmp_path):
    torch.manual_seed(0)
    net = SmallNet().eval()
    model = cl.from_onnx(torch_export(net, X, tmp_path / "net.onnx", 13))
    ours = model.state_dict()
    assert sorted(ours) == sorted(net.state_dict())
    for name, value in net.state_dict().items():
        np.testing.assert_array_equal(ours[name], value.numpy())


def test_an_imported_network_trains_with_pytorchs_gradients(tmp_path):
    torch.manual_seed(1)
    net = SmallNet()
    model = cl.from_onnx(torch_export(net.eval(), X, tmp_path / "net.onnx", 13)).train()
    params = dict(model.named_parameters())
    assert sorted(params) == sorted(dict(net.named_parameters()))
    labels = np.array([0, 3, 4])
    loss_fn = cl.CrossEntropyLoss()

    def convlens_step():
        model.zero_grad()
        loss = loss_fn(model(X), labels)
        model.backward(loss_fn.backward())
        return loss

    def torch_step():
        net.zero_grad()
        loss = nn.functional.cross_entropy(net(torch.from_numpy(X)), torch.from_numpy(labels))
        loss.backward()
        return loss.item()

    np.testing.assert_allclose(convlens_step(), torch_step(), rtol=1e-5)
    for name, p in net.named_parameters():
        np.testing.assert_allclose(params[name].grad, p.grad.numpy(), rtol=1e-4, atol=1e-6, err_msg=name)
    before = model(X).copy()
    cl.optim.SGD(model.parameters(), lr=0.5).step()
    torch.optim.SGD(net.parameters(), lr=0.5).step()
    after = model(X)
    assert np.abs(after - before).max() > 1e-3  # the step changed the outputs
    np.testing.assert_allclose(after, net(torch.from_numpy(X)).detach().numpy(), rtol=1e-4, atol=1e-5)


def branching_graph():
    x = cl.Input((3, 8, 8), name="image")
    a = cl.Conv2d(3, 4, 3, padding=1)(x, name="conv1")
    b = cl.ReLU()(a, name="relu1")
    c = cl.Conv2d(3, 4, 1, bias=False)(x, name="proj")
    s = cl.Add()(b, c, name="add")
    k = cl.Constant(np.linspace(0.5, 2, 4).reshape(4, 1, 1).astype(np.float32), trainable=True)(name="scale")
    m = cl.Multiply()(s, k, name="mul")
    p = cl.Pad([(1, 1), (0, 2)], "reflect")(m, name="pad")
    sl = cl.Slice([slice(None, 3), slice(None, None, -1)])(p, name="slice")
    g = cl.Gather([2, 0], 1)(sl, name="gather")
    bn = cl.BatchNorm2d(3)(sl, name="bn")
    cat = cl.Concatenate(1)(g, cl.MaxPool2d(2, 1)(cl.Pad([(0, 1), (0, 1)])(bn, name="pad2"), name="pool"),
                            name="cat")
    y = cl.Flatten()(cl.GlobalAvgPool2d()(cat, name="gap"), name="flat")
    z = cl.Linear(5, 2)(y, name="fc")
    return cl.Graph(x, [z, s])


@pytest.mark.parametrize("opset", [13, 17, onnx.defs.onnx_opset_version()])
def test_export_then_import_gives_the_identical_graph(opset, tmp_path):
    model = branching_graph()
    # every weight and running statistic random (num_batches_tracked, a training counter that
    # ONNX does not carry, stays 0)
    model.load_state_dict({k: np.random.default_rng(1).uniform(0.5, 1.5, v.shape).astype(v.dtype)
                           if v.dtype.kind == "f" else v for k, v in model.state_dict().items()})
    model.eval()
    back = cl.from_onnx(cl.export_onnx(model, tmp_path / "g.onnx", opset=opset))
    assert back.get_config() == model.get_config()
    ours, theirs = model.state_dict(), back.state_dict()
    assert list(theirs) == list(ours)
    for key in ours:
        np.testing.assert_array_equal(theirs[key], ours[key], err_msg=key)
    for y, z in zip(back(X), model(X)):
        np.testing.assert_array_equal(y, z)


@pytest.mark.parametrize("name, shape", [("resnet_small", (1, 28, 28)), ("vgg_small", (1, 28, 28)),
                                         ("cnn1d", (1, 40))])
def test_zoo_models_survive_export_and_import(name, shape, tmp_path):
    model = cl.models.get_model(name).eval()
    back = cl.from_onnx(cl.export_onnx(model, tmp_path / "m.onnx", input_shape=shape))
    x = np.random.default_rng(2).standard_normal((4, *shape)).astype(np.float32)
    np.testing.assert_array_equal(back(x), model(x))
    params = dict(model.named_parameters())
    assert sorted(dict(back.named_parameters())) == sorted(params)  # "3.0.body.0.weight", ...


def onnx_model(nodes, inputs, outputs, initializers=(), opset=13):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def test_one_error_lists_every_unsupported_operator(tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3, 4])
    nodes = [helper.make_node("Erf", ["x"], ["a"], name="erf_1"), helper.make_node("Relu", ["a"], ["b"], name="relu"),
             helper.make_node("Cos", ["b"], ["c"], name="cos_1"), helper.make_node("Erf", ["c"], ["y"], name="erf_2")]
    onnx.save(onnx_model(nodes, [x], [y]), tmp_path / "m.onnx")
    with pytest.raises(OnnxImportError, match=r"unsupported ONNX operators at opset 13: Erf \(node 'erf_1'\), "
                       r"Cos \(node 'cos_1'\), Erf \(node 'erf_2'\)\. See docs/onnx_operators\.md"):
        formats.load(tmp_path / "m.onnx")


def test_operators_on_constants_are_folded_even_when_unsupported():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])
    nodes = [helper.make_node("Constant", [], ["c"], value=helper.make_tensor("v", TensorProto.FLOAT, [3], [0, 1, 2])),
             helper.make_node("Cos", ["c"], ["cos"]), helper.make_node("Add", ["x", "cos"], ["y"])]
    model = cl.from_onnx(onnx_model(nodes, [x], [y]))
    np.testing.assert_allclose(model(np.zeros((2, 3), np.float32)), np.cos([[0, 1, 2]] * 2), rtol=1e-6)


def test_settings_convlens_cannot_follow_are_named():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, "N", 3])
    nodes = [helper.make_node("Transpose", ["x"], ["y"], name="swap", perm=[2, 0, 1])]
    with pytest.raises(OnnxImportError, match=r"Transpose node 'swap': perm=\[2, 0, 1\] moves the batch axis"):
        cl.from_onnx(onnx_model(nodes, [x], [y]))


def test_unknown_sizes_other_than_the_batch_must_be_given():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3, "H", "W"])
    model = onnx_model([helper.make_node("Relu", ["x"], ["y"])], [x], [y])
    with pytest.raises(OnnxImportError, match=r"input 'x' has shape \['N', 3, 'H', 'W'\] with sizes unknown on "
                       r"axes \[2, 3\]; give them: from_onnx\(path, input_shapes=\{'x': \(…\)\}\)"):
        cl.from_onnx(model)
    assert cl.from_onnx(model, input_shapes={"x": (3, 5, 6)}).input_shapes == [(3, 5, 6)]


@pytest.mark.parametrize("content, message", [
    (b"not a protobuf at all \x00\xff", "is not a readable ONNX model"),
    (b"", "holds no ONNX graph"),
])
def test_damaged_files_give_one_clear_error(content, message, tmp_path):
    path = tmp_path / "bad.onnx"
    path.write_bytes(content)
    with pytest.raises(FormatError, match=message):
        formats.load(path)


def test_a_truncated_file_is_refused(tmp_path):
    torch.manual_seed(0)
    data = torch_export(SmallNet().eval(), X, tmp_path / "net.onnx", 13).read_bytes()
    (tmp_path / "cut.onnx").write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError, match="cut.onnx"):
        formats.load(tmp_path / "cut.onnx")


def test_older_opsets_are_upgraded_and_newer_ones_refused():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])
    old = onnx_model([helper.make_node("Relu", ["x"], ["y"])], [x], [y], opset=6)
    model = cl.from_onnx(old)
    np.testing.assert_array_equal(model(np.array([[-1.0, 0.5, 2.0]], np.float32)), [[0.0, 0.5, 2.0]])
    new = onnx_model([helper.make_node("Relu", ["x"], ["y"])], [x], [y], opset=onnx.defs.onnx_opset_version() + 1)
    with pytest.raises(FormatError, match=r"uses opset \d+; convlens reads opsets 9 to \d+"):
        cl.from_onnx(new)


def test_without_the_onnx_package_the_message_gives_the_install_command(monkeypatch, tmp_path):
    import sys

    from convlens.io.formats import MissingExtraError

    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now fails, as when not installed
    (tmp_path / "m.onnx").write_bytes(b"")
    for call in (lambda: cl.from_onnx(tmp_path / "m.onnx"), lambda: formats.load(tmp_path / "m.onnx"),
                 lambda: cl.export_onnx(cl.Sequential(cl.ReLU()), tmp_path / "o.onnx", input_shape=(3,))):
        with pytest.raises(MissingExtraError, match=r'needs the package \'onnx\', which is not installed; '
                           r'install it with: pip install "convlens\[onnx\]"'):
            call()


@pytest.mark.filterwarnings("ignore:Conv2d. padding='same'")
@pytest.mark.parametrize("name", ["conv_variants", "pools", "pool_1d_3d", "activations", "normalization",
                                  "shape_ops", "linear_on_3d", "adaptive_global", "reduce", "residual_concat",
                                  "upsample", "conv_transpose"])
def test_every_exported_layer_reads_back(name, tmp_path):
    """The exporter's layer stacks (every layer ONNX expresses, LayerNormalization and the
    GroupNorm composition included), read back: the same outputs as onnxruntime. At the newest
    opset; GELU before opset 20 (written with Erf) is tested below."""
    from onnx_layer_stacks import LAYER_STACKS, randomize_statistics

    build, shape = LAYER_STACKS[name]
    model = randomize_statistics(build()).eval()
    path = cl.export_onnx(model, tmp_path / "m.onnx", input_shape=shape, opset=onnx.defs.onnx_opset_version())
    back = cl.from_onnx(path)
    x = np.random.default_rng(3).standard_normal((3, *shape)).astype(np.float32)
    reference = onnxruntime_run(path, x)
    np.testing.assert_allclose(back(x), reference, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(reference).max()))
    np.testing.assert_allclose(back(x), model(x), rtol=1e-5, atol=1e-5 * max(1.0, np.abs(reference).max()))


@pytest.mark.parametrize("opset", [13, 17])
def test_tanh_gelu_before_opset_20_reads_back_as_gelu(opset, tmp_path):
    """GELU(approximate="tanh") before opset 20 is ½x(1 + tanh(√(2/π)(x + 0.044715x³))) in
    eight nodes (convlens) or PyTorch's order of them: fused back into one GELU. A Tanh that
    is not a GELU's stays a Tanh."""
    import torch

    model = cl.Sequential(cl.Conv2d(2, 4, 1), cl.GELU("tanh"), cl.Conv2d(4, 3, 1), cl.Tanh(),
                          cl.GELU("tanh")).eval()
    path = cl.export_onnx(model, tmp_path / "m.onnx", input_shape=(2, 5, 5), opset=opset)
    assert {"Tanh", "Mul", "Add"} <= {n.op_type for n in onnx.load(path).graph.node}
    back = cl.from_onnx(path)
    assert [type(n.layer).__name__ for n in back.nodes] == ["Conv2d", "GELU", "Conv2d", "Tanh", "GELU"]
    assert back.nodes[1].layer.approximate == "tanh"
    x = np.random.default_rng(4).standard_normal((3, 2, 5, 5)).astype(np.float32)
    np.testing.assert_array_equal(back(x), model(x))
    np.testing.assert_allclose(back(x), onnxruntime_run(path, x), rtol=1e-5, atol=1e-6)
    net = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 1), torch.nn.GELU(approximate="tanh")).eval()
    torch.onnx.export(net, (torch.from_numpy(x),), str(tmp_path / "t.onnx"), opset_version=opset, dynamo=False)
    from_torch = cl.from_onnx(tmp_path / "t.onnx")
    assert [type(n.layer).__name__ for n in from_torch.nodes] == ["Conv2d", "GELU"]
    with torch.no_grad():
        np.testing.assert_allclose(from_torch(x), net(torch.from_numpy(x)).numpy(), rtol=1e-5, atol=1e-6)


def test_tanh_gelu_with_pow_reads_back_as_gelu(tmp_path):
    """Other exporters write x³ as Pow(x, 3)."""
    from onnx import TensorProto, helper, numpy_helper

    consts = {"three": 3.0, "kappa": 0.044715, "k": math.sqrt(2 / math.pi), "one": 1.0, "half": 0.5}
    nodes = [helper.make_node("Pow", ["x", "three"], ["cube"]), helper.make_node("Mul", ["kappa", "cube"], ["t"]),
             helper.make_node("Add", ["x", "t"], ["inner"]), helper.make_node("Mul", ["inner", "k"], ["s"]),
             helper.make_node("Tanh", ["s"], ["g"], name="act/Tanh"), helper.make_node("Add", ["g", "one"], ["g1"]),
             helper.make_node("Mul", ["x", "g1"], ["xg"]), helper.make_node("Mul", ["xg", "half"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
                              [numpy_helper.from_array(np.array(v, np.float32), n) for n, v in consts.items()])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), tmp_path / "p.onnx")
    back = cl.from_onnx(tmp_path / "p.onnx")
    assert [type(n.layer).__name__ for n in back.nodes] == ["GELU"]
    x = np.random.default_rng(5).standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_allclose(back(x), onnxruntime_run(tmp_path / "p.onnx", x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("opset", [13, 17])
def test_gelu_written_with_erf_before_opset_20_reads_back_as_gelu(opset, tmp_path):
    """Before opset 20 GELU is Div, Erf, Add, Mul, Mul (convlens's and PyTorch's order of the
    two Mul): the importer fuses the chain, so export then import gives the identical model."""
    model = cl.Sequential(cl.Conv2d(2, 4, 1), cl.GELU(), cl.Conv2d(4, 3, 1), cl.GELU()).eval()
    path = cl.export_onnx(model, tmp_path / "m.onnx", input_shape=(2, 5, 5), opset=opset)
    assert "Erf" in {n.op_type for n in onnx.load(path).graph.node}
    back = cl.from_onnx(path)
    assert [type(n.layer).__name__ for n in back.nodes] == ["Conv2d", "GELU", "Conv2d", "GELU"]
    x = np.random.default_rng(4).standard_normal((3, 2, 5, 5)).astype(np.float32)
    np.testing.assert_array_equal(back(x), model(x))
    np.testing.assert_allclose(back(x), onnxruntime_run(path, x), rtol=1e-5, atol=1e-6)

    net = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 1), torch.nn.GELU()).eval()
    torch_path = torch_export(net, x, tmp_path / "t.onnx", opset)
    back = cl.from_onnx(torch_path)
    assert [(n.name, type(n.layer).__name__) for n in back.nodes] == [("0", "Conv2d"), ("1", "GELU")]
    np.testing.assert_allclose(back(x), net(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
