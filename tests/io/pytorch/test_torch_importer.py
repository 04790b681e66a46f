"""cl.from_torch: traced nn.Modules become convlens graphs computing the same values and
gradients; state dicts move both ways, tied parameters included; to_torch brings graphs back."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch_bridge_checks import assert_same_function
from torchvision_models import models

import convlens as cl
from convlens.io.pytorch import state_dict_from_torch, state_dict_to_torch
from convlens.io.pytorch.export import ConversionError


class Branchy(nn.Module):
    """Branches, functional calls, shape arithmetic, a module called twice, a tied weight
    and a parameter used directly."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.left = nn.Conv2d(8, 8, 3, padding="same")
        self.right = nn.Conv2d(8, 8, 3, padding=1)
        self.right.weight = self.left.weight            # tied: PyTorch lists it twice
        self.act = nn.ReLU6()
        self.scale = nn.Parameter(torch.full((1, 16, 1, 1), 0.5))
        self.mix = nn.Conv2d(16, 16, 1)
        self.pool = nn.MaxPool2d(2, ceil_mode=True)
        self.head = nn.Linear(16 * 4 * 4, 5)
        self.drop = nn.Dropout(0.0)

    def forward(self, x):
        x = F.relu(self.bn(self.stem(x)))
        a = self.act(self.left(x))
        b = self.act(self.right(x)) * 2.0 - 1            # the same ReLU6 module, again
        y = torch.cat([a + x, b], dim=1) * self.scale
        y = self.pool(self.mix(F.leaky_relu(self.mix(y), 0.1)))   # one module, two calls
        y = F.avg_pool2d(y, 1)
        n, c, h, w = y.shape
        y = y.view(n, c // 2, 2, h, w).transpose(1, 2).reshape(y.size(0), -1)   # channel shuffle
        return self.head(self.drop(y)).softmax(dim=-1) + F.adaptive_avg_pool2d(x, 1).flatten(1).mean(dim=1, keepdim=True)


def example(shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_custom_net_values_and_gradients(dtype, mode):
    torch.manual_seed(0)
    module = Branchy().to(torch.float64 if dtype == np.float64 else torch.float32)
    getattr(module, mode)()
    x = example((4, 3, 7, 7), dtype)
    model = cl.from_torch(module, torch.from_numpy(x))
    assert isinstance(model, cl.Graph) and model.training == (mode == "train")
    assert model.node("left").layer.weight is model.node("right").layer.weight
    assert model.node("mix").layer is model.node("mix_1").layer
    assert_same_function(model, module, x)


def test_state_dicts_move_both_ways_with_the_tied_weight():
    torch.manual_seed(0)
    module = Branchy().double()
    x = example((2, 3, 7, 7))
    model = cl.from_torch(module, torch.from_numpy(x))
    torch_state = module.state_dict()
    assert "left.weight" in torch_state and "right.weight" in torch_state     # listed twice
    ours = model.state_dict()
    assert "right.weight" not in ours                                           # listed once
    torch.manual_seed(1)
    other = Branchy().double()
    model.load_state_dict(state_dict_from_torch(other.state_dict(), model))      # torch -> convlens
    for key, value in model.state_dict().items():
        if key in other.state_dict():
            np.testing.assert_array_equal(value, other.state_dict()[key].numpy())
    module.load_state_dict(state_dict_to_torch(model.state_dict(), module))      # convlens -> torch
    assert module.right.weight is module.left.weight
    np.testing.assert_array_equal(module.right.weight.detach().numpy(), other.left.weight.detach().numpy())
    assert_same_function(model.eval(), module.eval(), x)


def test_a_torch_save_file_is_read_without_unpickling(tmp_path):
    torch.manual_seed(0)
    module = Branchy().double()
    model = cl.from_torch(module, torch.randn(2, 3, 7, 7, dtype=torch.float64))
    torch.save(module.state_dict(), tmp_path / "w.pt")
    model.load_state_dict(cl.io.pytorch.load_torch_state(tmp_path / "w.pt", model))
    torch.save({"weights": object()}, tmp_path / "evil.pt")
    with pytest.raises(cl.io.formats.FormatError, match=r"evil.pt' is not a PyTorch state dict convlens can read safely"):
        cl.io.pytorch.load_torch_state(tmp_path / "evil.pt")


@pytest.mark.parametrize("name, build, shape, mode", [
    ("resnet18", lambda: models.resnet18(num_classes=10), (2, 3, 64, 64), "train"),
    ("mobilenet_v2", lambda: models.mobilenet_v2(num_classes=10), (2, 3, 32, 32), "eval"),
    ("densenet", lambda: models.DenseNet(growth_rate=8, block_config=(2, 2), num_init_features=16,
                                         num_classes=10), (2, 3, 32, 32), "train"),
    ("squeezenet1_1", lambda: models.squeezenet1_1(num_classes=10), (2, 3, 48, 48), "eval"),
    # stochastic depth (the identity in eval mode), squeeze-and-excitation, SiLU
    ("efficientnet_b0", lambda: models.efficientnet_b0(num_classes=10), (2, 3, 32, 32), "eval"),
    ("mnasnet0_5", lambda: models.mnasnet0_5(num_classes=10), (2, 3, 32, 32), "eval"),
    # F.layer_norm on channels-last maps, layer scale (a learned constant), at two narrow stages
    ("convnext", lambda: models.convnext.ConvNeXt([models.convnext.CNBlockConfig(8, 16, 1),
                                                   models.convnext.CNBlockConfig(16, None, 1)],
                                                  stochastic_depth_prob=0.1, num_classes=10),
     (2, 3, 32, 32), "eval"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_torchvision_models(name, build, shape, mode):
    torch.manual_seed(0)
    module = build().double()
    getattr(module, mode)()
    x = example(shape)
    model = cl.from_torch(module, torch.from_numpy(x))
    assert_same_function(model, module, x)
    if mode == "eval":
        back = cl.to_torch(model)                  # and out again: the same function
        assert_same_function(model, back, x)


def test_stochastic_depth_in_training_mode_is_refused_by_name():
    module = models.efficientnet_b0(num_classes=10).train()
    with pytest.raises(ConversionError, match=r"stochastic_depth \(torchvision stochastic_depth, "
                                              r"p=0\.025\) in training mode has no convlens "
                                              r"equivalent; convert the module in eval mode"):
        cl.from_torch(module, torch.zeros(2, 3, 32, 32))


def test_float32_resnet18_and_its_state_dict_keys():
    torch.manual_seed(0)
    module = models.resnet18(num_classes=10).eval()
    x = example((2, 3, 32, 32), np.float32)
    model = cl.from_torch(module, torch.from_numpy(x))
    assert sorted(model.state_dict()) == sorted(module.state_dict())         # PyTorch's keys
    assert_same_function(model, module, x)
    assert_same_function(model, cl.to_torch(model).eval(), x)
    table = cl.summary(model, (3, 32, 32), print_table=False)               # look inside
    assert table.total_params == sum(p.numel() for p in module.parameters()) == 11_181_642


def test_a_text_model_with_an_embedding():
    class TextNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(30, 6, padding_idx=0)
            self.conv = nn.Conv1d(6, 5, 3)
            self.out = nn.Linear(5, 2)

        def forward(self, ids):
            h = self.conv(self.embed(ids).permute(0, 2, 1))
            return self.out(F.relu(h).amax(dim=-1))

    torch.manual_seed(0)
    module = TextNet().double()
    ids = np.random.default_rng(0).integers(0, 30, (4, 9))
    model = cl.from_torch(module, torch.from_numpy(ids))
    assert_same_function(model, module, ids)


def test_two_inputs_and_two_outputs():
    class TwoWay(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(2, 3, 3)
            self.fc = nn.Linear(5, 3)

        def forward(self, signal, meta):
            h = self.conv(signal).amax(dim=2)
            return h + self.fc(meta), torch.tanh(h)

    torch.manual_seed(0)
    module = TwoWay().double()
    xs = (example((4, 2, 9)), example((4, 5), seed=1))
    model = cl.from_torch(module, tuple(torch.from_numpy(x) for x in xs))
    assert model.input_names == ["signal", "meta"] and len(model.output_names) == 2
    assert_same_function(model, module, xs)
    assert_same_function(model, cl.to_torch(model), xs)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_graph_built_in_convlens_goes_to_torch_fx(dtype):
    cl.manual_seed(0)
    x = cl.Input((3, 8, 8), name="image")
    conv = cl.Conv2d(3, 4, 3, padding=1)
    a = conv(x, name="conv")
    b = cl.Constant(np.full((4, 1, 1), 0.1), trainable=True)(name="offset")
    s = cl.Add()(cl.ReLU()(a), b)
    m = cl.Concatenate(dim=1)(s, cl.Mean()(s, a), cl.Maximum()(a, s))
    y = cl.Linear(12, 3)(cl.Flatten()(cl.GlobalAvgPool2d()(m)), name="fc")
    model = cl.Graph(x, y).to(dtype)
    module = cl.to_torch(model)
    assert isinstance(module, torch.fx.GraphModule)
    assert sorted(module.state_dict()) == sorted(model.state_dict())
    assert_same_function(model, module, example((2, 3, 8, 8), dtype))


def test_unsupported_operations_are_all_named():
    class Odd(nn.Module):
        def forward(self, x):
            return torch.sin(x) + torch.cumsum(x, dim=1)

    with pytest.raises(ConversionError, match=r"cannot convert these operations to convlens: sin \(torch.sin\); cumsum \(torch.cumsum\)"):
        cl.from_torch(Odd(), torch.randn(1, 4, 3))


def test_shufflenet_channel_split_needs_the_slice_layer():
    """ShuffleNetV2 splits channels with x.chunk(2, dim=1): with convlens's Slice layer (from
    the ONNX work) it converts and matches; without it, the error names the chunk calls."""
    torch.manual_seed(0)
    module = models.shufflenet_v2_x0_5(num_classes=10).double().eval()
    x = example((2, 3, 32, 32))
    if not hasattr(cl, "Slice"):
        with pytest.raises(ConversionError, match=r"cannot convert these operations to convlens: chunk \(method .chunk\(\)\)"):
            cl.from_torch(module, torch.from_numpy(x))
        return
    model = cl.from_torch(module, torch.from_numpy(x))
    assert_same_function(model, module, x)


class ShapeBranch(nn.Module):
    """Python control flow on a shape: torch.fx cannot trace it, torch.export can."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.same = nn.Conv2d(4, 4, 3, padding="same")
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 2)
        self.scale = nn.Parameter(torch.full((4, 1, 1), 2.0))

    def forward(self, x):
        if x.shape[1] == 3:
            x = self.bn(self.same(self.conv(x))).relu() * self.scale
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)).softmax(-1)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_modules_fx_cannot_trace_go_through_torch_export(mode):
    torch.manual_seed(0)
    module = ShapeBranch().double()
    getattr(module, mode)()
    with pytest.raises(torch.fx.proxy.TraceError):
        torch.fx.symbolic_trace(module)
    x = example((3, 3, 8, 8))
    statistics = module.bn.running_mean.clone()
    model = cl.from_torch(module, torch.from_numpy(x))
    assert torch.equal(module.bn.running_mean, statistics)          # the example run left them
    assert {"conv", "same", "bn", "fc"} <= {n.name for n in model.nodes}   # named after the modules
    assert_same_function(model, module, x)


def test_untraceable_modules_are_explained():
    class DataDependent(nn.Module):
        def forward(self, x):
            return x if x.sum() > 0 else -x

    with pytest.raises(ConversionError, match=r"neither torch.fx nor torch.export can trace DataDependent: .*no Python if/for on tensor values"):
        cl.from_torch(DataDependent(), torch.randn(1, 3))


class UpsamplingNet(nn.Module):
    """nn.Upsample (and its bilinear subclass), F.interpolate and a transposed convolution,
    each way round."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 1)
        self.up = nn.Upsample(scale_factor=(2, 3))
        self.smooth = nn.UpsamplingBilinear2d(size=(9, 8))
        self.deconv = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1)

    def forward(self, x):
        h = self.smooth(self.up(self.conv(x)))
        return self.deconv(F.interpolate(h, scale_factor=1.5, mode="bilinear", align_corners=False))


def test_upsampling_both_ways():
    torch.manual_seed(0)
    module = UpsamplingNet().double().eval()
    x = example((2, 2, 3, 5))
    model = cl.from_torch(module, torch.from_numpy(x))
    assert sum(isinstance(layer, cl.Upsample) for layer in model.modules()) == 3
    assert_same_function(model, module, x)
    assert_same_function(model, cl.to_torch(model), x)


def test_a_module_with_several_outputs_becomes_a_node_with_several_outputs():
    """MaxPool2d(return_indices=True) and the getitem calls fx traces after it."""
    class Unpooled(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.pool, self.fc = nn.Conv2d(2, 3, 3, padding=1), nn.MaxPool2d(2, return_indices=True), nn.Linear(27, 4)

        def forward(self, x):
            y, indices = self.pool(self.conv(x))
            return self.fc(y.flatten(1)), indices

    torch.manual_seed(0)
    net = Unpooled()
    graph = cl.from_torch(net, torch.zeros(1, 2, 6, 6))
    assert graph.node("pool").outputs == ["pool", "pool:1"]
    x = np.random.default_rng(0).standard_normal((2, 2, 6, 6)).astype(np.float32)
    scores, indices = graph(x)
    expected_scores, expected_indices = net(torch.from_numpy(x))
    np.testing.assert_allclose(scores, expected_scores.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(indices, expected_indices.numpy())


def test_prelu_selu_and_local_response_norm_both_ways():
    torch.manual_seed(6)
    module = nn.Sequential(nn.Conv2d(2, 4, 3), nn.PReLU(4), nn.LocalResponseNorm(3, 0.1, 0.7, 1.5),
                           nn.SELU(), nn.PReLU()).double()
    with torch.no_grad():
        module[1].weight.uniform_(-0.5, 0.5)      # one slope per channel, none equal
    x = example((2, 2, 7, 7))
    model = cl.from_torch(module, torch.from_numpy(x))
    assert [m.slopes for m in model.modules() if isinstance(m, cl.PReLU)] == [4, 1]
    assert_same_function(model, module, x)
    assert_same_function(model, cl.to_torch(model), x)
