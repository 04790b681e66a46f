"""cl.to_torch: every zoo model becomes an equivalent torch module (values and every gradient,
float64 and float32, training and eval mode); weights and sharing carry over."""

import numpy as np
import pytest
import torch
from torch_bridge_checks import assert_same_function

import convlens as cl
from convlens.io.pytorch.export import ConversionError

ZOO = [
    ("lenet5", {}, (4, 1, 28, 28)),
    ("lenet5-1998", {}, (4, 1, 28, 28)),
    ("seed_net", {}, (4, 1, 28, 28)),
    ("simple_cnn", {}, (4, 1, 28, 28)),
    ("vgg_small", {"widths": (4, 8), "hidden": 16}, (4, 1, 28, 28)),
    ("resnet_small", {"in_channels": 3, "widths": (4, 8), "blocks": (2, 1)}, (4, 3, 32, 32)),
    ("cnn1d", {"width": 8}, (4, 1, 40)),
    ("cnn3d", {"widths": (4, 8)}, (4, 1, 8, 8, 8)),
    ("fmnist_cnn", {"widths": (4, 8), "hidden": 16}, (4, 1, 28, 28)),
]


def zoo_model(name, kwargs, dtype, mode):
    cl.manual_seed(0)
    model = cl.models.get_model(name, **kwargs).to(dtype)
    getattr(model, mode)()
    if mode == "train":
        for m in model.modules():  # dropout masks differ between libraries: switch them off
            if isinstance(m, cl.Dropout):
                m.p = 0.0
    return model


@pytest.mark.parametrize("name, kwargs, shape", ZOO, ids=[c[0] for c in ZOO])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_zoo_model_and_its_torch_twin_compute_the_same(name, kwargs, shape, dtype, mode):
    model = zoo_model(name, kwargs, dtype, mode)
    twin = cl.to_torch(model)
    assert twin.training == (mode == "train")
    x = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    assert_same_function(model, twin, x)
    if mode == "train":  # batch statistics moved the running averages the same way
        for key, value in twin.state_dict().items():
            np.testing.assert_allclose(model.state_dict()[key], value.numpy(), rtol=1e-5, atol=1e-6)


def test_sequential_becomes_nn_sequential_with_the_same_state_dict_keys():
    model = zoo_model("vgg_small", {"widths": (4, 8), "hidden": 16}, np.float32, "eval")
    twin = cl.to_torch(model)
    assert isinstance(twin, torch.nn.Sequential)
    ours, theirs = model.state_dict(), twin.state_dict()
    assert sorted(ours) == sorted(theirs)  # convlens lists parameters, then buffers
    for key in ours:
        np.testing.assert_array_equal(ours[key], theirs[key].numpy())
        assert theirs[key].dtype == torch.from_numpy(ours[key]).dtype


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_text_cnn_with_token_input(dtype):
    model = zoo_model("text_cnn", {"vocab_size": 50, "embedding_dim": 6, "channels": 4}, dtype, "train")
    ids = np.random.default_rng(2).integers(0, 50, (3, 12))
    assert_same_function(model, cl.to_torch(model), ids)


def test_a_layer_used_twice_stays_one_module_and_a_shared_parameter_one_parameter():
    cl.manual_seed(0)
    conv = cl.Conv2d(3, 3, 3, padding=1)
    other = cl.Conv2d(3, 3, 3, padding="same", stride=2)
    other.weight = conv.weight                    # tied weight, separate bias
    model = cl.Sequential(conv, cl.ReLU(), conv, other, cl.Flatten()).double()
    twin = cl.to_torch(model)
    assert twin[0] is twin[2]
    assert twin[3].weight is twin[0].weight and twin[3].bias is not twin[0].bias
    assert len(list(twin.parameters())) == len(model.parameters()) == 3
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 7))
    assert_same_function(model, twin, x)


@pytest.mark.parametrize("layer", [
    cl.Conv2d(2, 4, 3, stride=2, padding="same", padding_mode="reflect"),
    cl.Conv1d(2, 4, 3, padding=((1, 2),)),
    cl.Conv2d(4, 4, 3, groups=2, dilation=2, padding=2, padding_mode="circular"),
    cl.MinPool2d(3, stride=2, padding=1, ceil_mode=True),
    cl.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
    cl.AdaptiveMaxPool2d((3, None)),
    cl.GlobalMaxPool2d(keepdims=True),
    cl.Permute(0, 2, 3, 1),
    cl.Reshape(-1, 4),
    cl.GroupNorm(2, 4),
    cl.InstanceNorm2d(4, affine=True, track_running_stats=True),
    cl.LayerNorm((4, 9, 9)),
    cl.PixelShuffle(2),
    cl.LogSoftmax(dim=1),
    cl.GELU("tanh"),
    cl.Residual(cl.Sequential(cl.Conv2d(4, 4, 3, padding=1), cl.ELU(0.5))),
    cl.Concat(cl.Identity(), cl.Sequential(cl.LeakyReLU(0.2), cl.SiLU()), dim=1),
    cl.PReLU(4, init=-0.3),
    cl.SELU(),
    cl.LocalResponseNorm(3, alpha=0.1, beta=0.7, k=1.5),
], ids=lambda layer: type(layer).__name__)
def test_layers_beyond_the_zoo(layer):
    layer.double()
    x = np.random.default_rng(0).standard_normal((2, 4 if not isinstance(layer, cl.Conv1d | cl.Conv2d)
                                                  or layer.in_channels == 4 else 2, 9, 9))
    if isinstance(layer, cl.Conv1d):
        x = x[:, :, :, 0]
    assert_same_function(layer, cl.to_torch(layer), x)


def test_a_layer_pytorch_cannot_express_is_named():
    model = cl.Sequential(cl.Conv2d(1, 2, 3), cl.AvgPool2d(2, dilation=2))
    with pytest.raises(ConversionError, match=r"AvgPool2d with dilation \(2, 2\): PyTorch's average pooling has no dilation"):
        cl.to_torch(model)


def test_selu_with_its_own_constants_is_named():
    with pytest.raises(ConversionError, match=r"SELU\(alpha=1.5, scale=1.0\): PyTorch's SELU has only the fixed"):
        cl.to_torch(cl.SELU(alpha=1.5, scale=1.0))


def test_each_module_keeps_its_layers_mode():
    """A BatchNorm kept in eval mode inside a training model (a frozen layer) stays in eval
    mode in the twin, and the twin computes what the model computes."""
    cl.manual_seed(4)
    model = cl.Sequential(cl.Conv2d(2, 3, 3), cl.BatchNorm2d(3), cl.ReLU(),
                          cl.Sequential(cl.BatchNorm2d(3), cl.Dropout(0.0)), cl.Flatten()).double()
    model[1].running_mean[:] = 0.5
    model.train()
    model[1].eval()
    twin = cl.to_torch(model)
    assert [m.training for m in twin.modules()] == [True, True, False, True, True, True, True, True]
    assert_same_function(model, twin, np.random.default_rng(5).standard_normal((4, 2, 6, 6)))
