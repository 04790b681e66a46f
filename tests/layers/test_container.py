"""Sequential and Residual against ``torch.nn.Sequential`` and a torch residual block."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from torch_oracle import check_parity, tensor, torch_twin

import convlens as cl


def lenet(dtype=np.float32):
    cl.manual_seed(0)
    return cl.Sequential(
        cl.Conv2d(1, 6, 5, padding=2, dtype=dtype), cl.Tanh(), cl.AvgPool2d(2),
        cl.Conv2d(6, 16, 5, dtype=dtype), cl.ReLU(), cl.MaxPool2d(2),
        cl.Flatten(), cl.Linear(400, 32, dtype=dtype), cl.GELU(),
        cl.Linear(32, 10, dtype=dtype), cl.LogSoftmax(dim=1),
    )


def residual_net(dtype=np.float32):
    cl.manual_seed(1)
    block = cl.Sequential(cl.Conv2d(4, 8, 3, stride=2, padding=1, dtype=dtype), cl.ReLU(),
                          cl.Conv2d(8, 8, 3, padding="same", bias=False, dtype=dtype))
    return cl.Sequential(
        cl.Conv2d(3, 4, 3, padding=1, dtype=dtype), cl.ReLU(),
        cl.Residual(cl.Sequential(cl.Conv2d(4, 4, 3, padding=1, dtype=dtype), cl.SiLU())),
        cl.Residual(block, cl.Conv2d(4, 8, 1, stride=2, dtype=dtype)), cl.ELU(),
        cl.Flatten(), cl.Linear(8 * 4 * 4, 5, dtype=dtype),
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lenet_matches_torch_sequential(dtype):
    x = np.random.default_rng(0).standard_normal((4, 1, 28, 28)).astype(dtype)
    y = check_parity(lenet(dtype), x)
    assert y.shape == (4, 10)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_residual_network_matches_torch(dtype):
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(dtype)
    check_parity(residual_net(dtype), x)


def test_state_dict_keys_are_torch_keys():
    for model in (lenet(), residual_net()):
        twin = torch_twin(model)
        ours = model.state_dict()
        theirs = twin.state_dict()
        assert list(ours) == list(theirs)          # same names, same order
        for key in ours:
            assert ours[key].shape == tuple(theirs[key].shape), key
    assert list(lenet().state_dict()) == ["0.weight", "0.bias", "3.weight", "3.bias",
                                          "7.weight", "7.bias", "9.weight", "9.bias"]
    assert "3.body.2.weight" in residual_net().state_dict()
    assert "3.body.2.bias" not in residual_net().state_dict()
    assert "3.shortcut.weight" in residual_net().state_dict()


def test_loads_a_torch_state_dict_and_computes_the_same():
    torch.manual_seed(0)
    reference = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.Tanh(), torch.nn.AvgPool2d(2),
        torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(400, 32), torch.nn.GELU(), torch.nn.Linear(32, 10),
        torch.nn.LogSoftmax(dim=1))
    model = lenet()
    model.load_state_dict({k: v.numpy() for k, v in reference.state_dict().items()})
    for key, value in reference.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[key], value.numpy())
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(model(x), reference(tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("model", [
    cl.Sequential(cl.Conv1d(2, 3, 3, padding=1), cl.Tanh(), cl.MaxPool1d(2, stride=1),
                  cl.Flatten(), cl.Linear(3 * 5, 2)),
    cl.Residual(cl.Sequential(cl.Conv2d(2, 2, 3, padding=1), cl.Sigmoid())),
    cl.Residual(cl.Conv2d(2, 3, 3, stride=2, padding=1), cl.Conv2d(2, 3, 1, stride=2)),
], ids=["sequential", "residual_identity", "residual_projection"])
def test_container_gradcheck(model):
    model.double()
    shape = (2, 2, 6) if isinstance(model, cl.Sequential) else (2, 2, 5, 5)
    x = np.random.default_rng(0).standard_normal(shape)
    report = cl.gradcheck(model, x, max_checks=40)
    assert report.errors.keys() == {"input", *dict(model.named_parameters())}
    assert report.ok(1e-6), str(report)


def test_residual_gradient_adds_both_paths():
    body = cl.Linear(3, 3, dtype=np.float64)
    block = cl.Residual(body)
    x = np.random.default_rng(0).standard_normal((2, 3))
    dy = np.random.default_rng(1).standard_normal((2, 3))
    block(x)
    np.testing.assert_allclose(block.backward(dy), dy @ body.weight.data + dy, rtol=1e-13)


def test_first_layer_skips_the_input_gradient_but_not_its_weights():
    model = lenet(np.float64)
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28))
    dy = np.random.default_rng(1).standard_normal((2, 10))
    model(x)
    model.backward(dy)
    expected = {k: p.grad.copy() for k, p in model.named_parameters()}
    model.zero_grad()
    model(x)
    assert model.backward(dy, need_input_grad=False) is None
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(p.grad, expected[name], err_msg=name)


def test_residual_without_input_gradient():
    block = cl.Residual(cl.Linear(3, 3, dtype=np.float64), cl.Linear(3, 3, dtype=np.float64))
    block(np.ones((1, 3)))
    assert block.backward(np.ones((1, 3)), need_input_grad=False) is None
    assert block.body.weight.grad is not None and block.shortcut.weight.grad is not None


def test_sequential_indexing_and_building():
    layers = [cl.Linear(2, 3), cl.ReLU(), cl.Linear(3, 1)]
    model = cl.Sequential(*layers)
    assert len(model) == 3 and model[1] is layers[1] and list(model) == layers
    head = model[:2]
    assert isinstance(head, cl.Sequential) and list(head) == layers[:2]
    assert list(cl.Sequential(layers)) == layers          # a list works too
    model.append(cl.Sigmoid())
    assert len(model) == 4 and "3" in dict(model.named_children())


def test_sequential_rejects_non_modules():
    with pytest.raises(TypeError, match=re.escape(
            "Sequential expects layers (convlens Modules), received function at position 1")):
        cl.Sequential(cl.ReLU(), lambda x: x)


def test_residual_shape_mismatch_suggests_a_projection():
    block = cl.Residual(cl.Conv2d(2, 4, 3, padding=1))
    with pytest.raises(ValueError, match=re.escape(
            "Residual: body output (1, 4, 5, 5) and shortcut output (1, 2, 5, 5) must have the "
            "same shape to be added")):
        block(np.zeros((1, 2, 5, 5), np.float32))


def test_repr_shows_the_tree():
    text = repr(cl.Sequential(cl.Conv2d(1, 2, 3), cl.ReLU()))
    assert text.splitlines()[1].strip() == (
        "(0): Conv2d(in_channels=1, out_channels=2, kernel_size=3, stride=1, padding=0)")
    assert text.splitlines()[2].strip() == "(1): ReLU()"
