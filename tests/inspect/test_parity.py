"""`parity`: a convlens model against its PyTorch twin, same weights, same upstream gradient."""

import sys

import numpy as np
import pytest

import convlens as cl
from convlens.inspect.parity import TORCH_MISSING, parity, torch_twin


def test_lenet5_float32_within_1e_5():
    cl.manual_seed(0)
    model = cl.models.get_model("lenet5")
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    report = parity(model, x)
    names = {d.name for d in report.differences}
    assert names == {"output", "input grad"} | {f"{n} grad" for n, _ in model.named_parameters()}
    assert report.dtype == "float32"
    assert report.max_abs <= 1e-5 and report.ok()
    assert report["output"].shape == (2, 10)
    assert "largest difference" in str(report)
    assert all(p.grad is None for p in model.parameters())  # gradients restored


def test_float64_residual_batchnorm_pooling_and_padding():
    cl.manual_seed(1)
    model = cl.Sequential(
        cl.Conv2d(3, 4, 3, stride=2, padding="same"), cl.BatchNorm2d(4),
        cl.Residual(cl.Sequential(cl.Conv2d(4, 4, 3, padding=1), cl.LeakyReLU(0.2)),
                    cl.Conv2d(4, 4, 1)),
        cl.Conv2d(4, 4, (2, 3), padding=((0, 1), (1, 1))), cl.MinPool2d(2), cl.ELU(),
        cl.Dropout(0.5), cl.GlobalAvgPool2d(), cl.Linear(4, 3), cl.LogSoftmax(dim=1),
    ).double()
    running = model[1].running_mean.copy()
    report = parity(model, np.random.default_rng(1).standard_normal((3, 3, 9, 9)))
    assert report.max_rel <= 1e-10 and report.ok()
    np.testing.assert_array_equal(model[1].running_mean, running)  # buffers put back
    assert model[6].training  # dropout back in training mode


class WrongLeakyReLU(cl.LeakyReLU):
    """A deliberately wrong layer: parity must notice."""

    def forward(self, x):
        return super().forward(x) * 1.1


def test_a_wrong_layer_is_reported():
    model = cl.Sequential(cl.Linear(4, 4), WrongLeakyReLU(0.1), cl.Linear(4, 2)).double()
    report = parity(model, np.random.default_rng(2).standard_normal((2, 4)))
    assert not report.ok()
    assert report["output"].max_rel > 1e-3
    assert report["2.weight grad"].max_rel > 1e-3  # it multiplies the scaled activations


def test_twin_has_the_same_names_and_values():
    model = cl.models.get_model("seed_net")
    twin = torch_twin(model)
    state = twin.state_dict()
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(state[name].numpy(), value)


def test_layers_without_a_twin_are_named():
    with pytest.raises(TypeError, match="layer 1: no PyTorch equivalent for the convlens layer Reduce"):
        torch_twin(cl.Sequential(cl.ReLU(), cl.Reduce("mean", 1)))


def test_a_layer_with_several_outputs_inside_a_graph():
    """The statistics outputs feed the result too: their gradients reach the input."""
    x = cl.Input((4, 6))
    y, mean, inv_std = cl.LayerNorm(6, return_stats=True, dtype=np.float64)(x)
    out = cl.Add()(cl.Multiply()(y, inv_std), mean)
    report = parity(cl.Graph(x, out), np.random.default_rng(3).standard_normal((2, 4, 6)))
    assert report.max_rel < 1e-12 and {d.name for d in report.differences} >= {"output", "input grad"}


def test_a_model_with_several_outputs_is_refused_by_name():
    x = cl.Input((4, 6))
    with pytest.raises(TypeError, match="parity compares a model with one output; this one returns 2"):
        parity(cl.Graph(x, (cl.ReLU()(x), cl.Sigmoid()(x))), np.ones((2, 4, 6)))


def test_a_nested_graph_with_several_outputs():
    x = cl.Input((4, 6))
    inner = cl.Graph(x, (cl.Linear(6, 3, dtype=np.float64)(x), cl.ReLU()(x)))
    outer_x = cl.Input((4, 6))
    scores, relu = inner(outer_x, name="inner")
    report = parity(cl.Graph(outer_x, cl.Concatenate(dim=2)(scores, relu)),
                    np.random.default_rng(0).standard_normal((2, 4, 6)))
    assert report.max_rel < 1e-12 and len(report.differences) == 4


def test_missing_torch_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    with pytest.raises(ImportError, match="pip install torch") as info:
        parity(cl.Linear(2, 2), np.ones((1, 2), np.float32))
    assert str(info.value) == TORCH_MISSING
