"""Every zoo model: builds, has the documented size, and equals its PyTorch twin."""

import numpy as np
import pytest
import torch
from torch_oracle import check_parity, torch_twin

import convlens as cl

CASES = [
    ("lenet5", {}, (3, 1, 28, 28)),
    ("lenet5-1998", {}, (3, 1, 28, 28)),
    ("seed_net", {}, (3, 1, 28, 28)),
    ("simple_cnn", {}, (3, 1, 28, 28)),
    ("vgg_small", {"widths": (4, 8), "hidden": 16}, (3, 1, 28, 28)),
    ("vgg_small", {"in_channels": 3, "input_size": 32, "widths": (4, 8, 8), "hidden": 8}, (3, 3, 32, 32)),
    ("resnet_small", {"widths": (4, 8, 8)}, (3, 1, 28, 28)),
    ("resnet_small", {"in_channels": 3, "widths": (4, 8), "blocks": (2, 1)}, (3, 3, 32, 32)),
    ("cnn1d", {"width": 8}, (3, 1, 40)),
    ("cnn3d", {"widths": (4, 8)}, (3, 1, 8, 8, 8)),
    ("fmnist_cnn", {"widths": (4, 8), "hidden": 16}, (3, 1, 28, 28)),
    ("fmnist_cnn", {"in_channels": 3, "input_size": 32, "widths": (4, 6), "hidden": 8}, (3, 3, 32, 32)),
]


@pytest.mark.parametrize("name, kwargs, shape", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_zoo_model_equals_pytorch_in_float64(name, kwargs, shape, mode):
    cl.manual_seed(0)
    model = cl.models.get_model(name, **kwargs).double()
    getattr(model, mode)()
    if mode == "train":
        for m in model.modules():  # dropout masks differ between libraries: switch them off
            if isinstance(m, cl.Dropout):
                m.p = 0.0
    x = np.random.default_rng(1).standard_normal(shape)
    check_parity(model, x)


def test_text_cnn_equals_pytorch():
    cl.manual_seed(0)
    model = cl.models.get_model("text_cnn", vocab_size=50, embedding_dim=6, channels=4).double().eval()
    ids = np.random.default_rng(2).integers(0, 50, (3, 12))
    twin = torch_twin(model).eval()
    y = model(ids)
    yt = twin(torch.from_numpy(ids))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    dy = np.random.default_rng(3).standard_normal(y.shape)
    model.backward(dy)
    yt.backward(torch.from_numpy(dy))
    grads = dict(twin.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, grads[name].grad.numpy(), rtol=1e-10, atol=1e-12)


def test_documented_parameter_counts():
    counts = {name: cl.models.get_model(name).num_parameters() for name in cl.models.available_models()}
    assert counts["lenet5"] == counts["lenet5-1998"] == 61_706
    assert counts["seed_net"] == 38_390
    assert counts["simple_cnn"] == 5_258
    assert counts["fmnist_cnn"] == 824_810
    assert counts["cnn3d"] == 14_682  # 14,616 with 8 classes (moving-mnist-5k's directions)
    for name in cl.models.available_models():
        info = cl.models.model_info(name)
        assert info.summary and info.source


def test_text_cnn_reads_tokens_and_has_its_documented_size():
    assert cl.models.takes_tokens("text_cnn") and not cl.models.takes_tokens("lenet5")
    assert cl.models.get_model("text_cnn").num_parameters() == 113_730
    assert cl.models.get_model("text_cnn", vocab_size=53, num_classes=7).num_parameters() == 54_087  # words-lang


def test_unknown_model_lists_the_zoo():
    listing = r"unknown model 'alexnet'; available models: cnn1d, cnn3d, fmnist_cnn, lenet5"
    with pytest.raises(ValueError, match=listing):
        cl.models.get_model("alexnet")


def test_concat_of_branches_equals_torch_cat():
    model = cl.Concat(cl.Conv1d(4, 3, 3, padding=1), cl.Conv1d(4, 5, 5, padding=2)).double()
    check_parity(model, np.random.default_rng(0).standard_normal((2, 4, 9)))
    assert cl.gradcheck(model, np.random.default_rng(1).standard_normal((2, 4, 9))).ok(1e-7)
