"""Module and Parameter mechanics: accumulation, zero_grad, state_dict, modes, dtype."""

from __future__ import annotations

import re

import numpy as np
import pytest
from torch_oracle import tensor, torch_twin

import convlens as cl


def small_model(dtype=np.float64):
    cl.manual_seed(0)
    return cl.Sequential(cl.Conv2d(2, 3, 3, padding=1, dtype=dtype), cl.ReLU(),
                         cl.MaxPool2d(2), cl.Flatten(), cl.Linear(12, 4, dtype=dtype))


def data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((3, 2, 4, 4)), rng.standard_normal((3, 4))


def test_gradients_accumulate_across_backward_calls_like_torch():
    model = small_model()
    twin = torch_twin(model)
    (x1, dy1), (x2, dy2) = data(0), data(1)
    for x, dy in ((x1, dy1), (x2, dy2)):
        model(x)
        model.backward(dy)
        twin(tensor(x)).backward(tensor(dy))
    theirs = dict(twin.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, theirs[name].grad.numpy(), rtol=1e-10, atol=1e-12)
    # and the sum is the sum of the two single-call gradients
    single = []
    for x, dy in ((x1, dy1), (x2, dy2)):
        model.zero_grad()
        model(x)
        model.backward(dy)
        single.append({k: p.grad.copy() for k, p in model.named_parameters()})
    model(x1)
    model.backward(dy1)                     # accumulates onto the second call's gradients
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, single[0][name] + single[1][name], rtol=1e-12)


def test_a_shared_parameter_collects_both_contributions_and_is_listed_once():
    first = cl.Linear(3, 3, dtype=np.float64)
    second = cl.Linear(3, 3, dtype=np.float64)
    second.weight = first.weight
    model = cl.Sequential(first, second)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "1.bias"]
    x = np.random.default_rng(0).standard_normal((2, 3))
    report = cl.gradcheck(model, x)
    assert report.ok(1e-6), str(report)


def test_zero_grad_clears_or_zeroes():
    model = small_model()
    x, dy = data()
    model(x)
    model.backward(dy)
    model.zero_grad(set_to_none=False)
    for p in model.parameters():
        assert p.grad is not None and not p.grad.any()
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_parameter_rejects_a_gradient_of_the_wrong_shape():
    p = cl.Parameter(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=re.escape(
            "gradient shape (3, 2) does not match parameter shape (2, 3)")):
        p.accumulate_grad(np.zeros((3, 2)))


def test_first_gradient_is_a_copy_in_the_parameter_dtype():
    p = cl.Parameter(np.zeros(3, np.float32))
    g = np.ones(3)
    p.accumulate_grad(g)
    g[0] = 5
    assert p.grad.dtype == np.float32 and p.grad[0] == 1


def test_state_dict_roundtrip_restores_the_function():
    model = small_model()
    other = small_model()
    for p in other.parameters():
        p.data += 1.0
    x, _ = data()
    assert not np.allclose(model(x), other(x))
    state = model.state_dict()
    other.load_state_dict(state)
    np.testing.assert_array_equal(model(x), other(x))
    # the state is a copy: changing it or the model later does not leak either way
    state["0.weight"][...] = 0
    assert model.state_dict()["0.weight"].any()
    model.parameters()[0].data[...] = 7
    assert not (other.state_dict()["0.weight"] == 7).all()


def test_load_state_dict_names_missing_and_unexpected_keys():
    model = small_model()
    state = model.state_dict()
    del state["4.bias"]
    state["5.weight"] = np.zeros(1)
    with pytest.raises(KeyError, match=re.escape(
            "state does not fit Sequential:\n"
            "  missing keys (in the model, not in the state): ['4.bias']\n"
            "  unexpected keys (in the state, not in the model): ['5.weight']")):
        model.load_state_dict(state)


def test_load_state_dict_non_strict_loads_what_it_can():
    model = small_model()
    state = {"4.bias": np.full(4, 3.0), "extra": np.zeros(2)}
    model.load_state_dict(state, strict=False)
    np.testing.assert_array_equal(model.state_dict()["4.bias"], np.full(4, 3.0))


def test_load_state_dict_names_the_shape_mismatch():
    model = small_model()
    state = model.state_dict()
    state["4.weight"] = np.zeros((4, 13))
    with pytest.raises(ValueError, match=re.escape(
            "shape mismatch for '4.weight': the model expects (4, 12), the state holds (4, 13)")):
        model.load_state_dict(state)


def test_load_state_dict_copies_into_the_parameters_own_layout():
    """Like torch's ``param.copy_(value)``: a transposed source array is copied, C-ordered,
    so the parameter neither aliases nor inherits the source's strides (``gradcheck`` and
    in-place updates rely on ``p.data.reshape(-1)`` being a view)."""
    layer = cl.Linear(4, 3, dtype=np.float64)
    source = np.random.default_rng(0).standard_normal((4, 3))
    layer.load_state_dict({"weight": source.T, "bias": np.zeros(3)})
    assert layer.weight.data.flags.c_contiguous
    assert not np.shares_memory(layer.weight.data, source)
    np.testing.assert_array_equal(layer.weight.data, source.T)
    report = cl.gradcheck(layer, np.random.default_rng(1).standard_normal((5, 4)))
    assert report.ok(1e-6), str(report)


def test_loaded_values_keep_the_model_dtype():
    model = small_model(np.float32)
    model.load_state_dict({k: v.astype(np.float64) for k, v in model.state_dict().items()})
    assert all(p.dtype == np.float32 for p in model.parameters())


def test_buffers_are_saved_converted_and_loaded():
    class WithBuffer(cl.Identity):
        def __init__(self):
            super().__init__()
            self.register_buffer("running_mean", np.zeros(3, np.float32))
            self.register_buffer("count", np.zeros((), np.int64))

    model = cl.Sequential(cl.Linear(3, 3), WithBuffer())
    assert list(model.state_dict()) == ["0.weight", "0.bias", "1.running_mean", "1.count"]
    state = model.state_dict()
    state["1.running_mean"] = np.arange(3.0)
    model.load_state_dict(state)
    np.testing.assert_array_equal(model[1].running_mean, [0, 1, 2])
    model.double()
    assert model[1].running_mean.dtype == np.float64 and model[1].count.dtype == np.int64
    state["1.running_mean"] = np.zeros(4)
    with pytest.raises(ValueError, match=re.escape("shape mismatch for '1.running_mean'")):
        model.load_state_dict(state)


def test_train_and_eval_reach_every_module():
    model = cl.Sequential(cl.Linear(2, 2), cl.Residual(cl.Sequential(cl.Linear(2, 2),
                                                                     cl.ReLU())))
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert [m.training for m in model.modules()] == [False] * 6
    model.train()
    assert all(m.training for m in model.modules())
    model[1].eval()
    assert model.training and model[0].training and not model[1].body[1].training


def test_double_and_float_convert_parameters_gradients_and_outputs():
    model = small_model(np.float32)
    x, dy = data()
    model(x.astype(np.float32))
    model.backward(dy.astype(np.float32))
    assert model.double() is model
    for p in model.parameters():
        assert p.dtype == np.float64 and p.grad.dtype == np.float64
    assert model(x).dtype == np.float64
    model.float()
    assert all(p.dtype == np.float32 for p in model.parameters())
    assert model(x.astype(np.float32)).dtype == np.float32


def test_named_modules_and_parameter_counts():
    model = small_model()
    assert [n for n, _ in model.named_modules()] == ["", "0", "1", "2", "3", "4"]
    assert model.num_parameters() == 3 * 2 * 9 + 3 + 12 * 4 + 4
    model[4].bias.requires_grad = False
    assert model.num_parameters(trainable_only=True) == model.num_parameters() - 4


def test_torch_named_parameters_match_ours():
    model = small_model()
    ours = [(n, p.shape) for n, p in model.named_parameters()]
    theirs = [(n, tuple(p.shape)) for n, p in torch_twin(model).named_parameters()]
    assert ours == theirs


@pytest.mark.parametrize("layer", [
    cl.Conv1d(1, 1, 1), cl.Conv3d(1, 1, 1), cl.Linear(1, 1), cl.MinPool1d(2), cl.AvgPool3d(2),
    cl.LeakyReLU(), cl.ELU(), cl.Tanh(), cl.SiLU(), cl.LogSoftmax(), cl.Reshape(1),
    cl.Sequential(cl.ReLU()), cl.Residual(cl.ReLU()),
], ids=lambda layer: type(layer).__name__)
def test_backward_before_forward_says_what_to_do(layer):
    # a container keeps the caches of its children's calls (for weight sharing), so it is
    # the container itself that reports the missing forward pass
    expected = type(layer).__name__
    with pytest.raises(RuntimeError, match=re.escape(
            f"{expected}.backward() was called before forward(): run a forward pass first, it "
            "keeps what the backward pass needs")):
        layer.backward(np.zeros((1, 1, 1)))


def test_torch_twin_rejects_keys_that_differ():
    """The oracle itself: a convlens state that PyTorch would not accept fails loudly."""
    model = small_model()
    model.extra = cl.Parameter(np.zeros(1))
    with pytest.raises(RuntimeError, match="Unexpected key"):
        torch_twin(model)


@pytest.mark.parametrize("build, name", [(lambda: cl.Conv2d(1, 10**12, 3), "Conv2d"),
                                         (lambda: cl.Linear(10**12, 2), "Linear")])
def test_parameters_too_large_for_memory_are_a_value_error_naming_the_layer(build, name):
    with pytest.raises(ValueError, match=rf"^{name}\(.*1000000000000.*\): its parameters do not fit in memory "
                                         r"\(Unable to allocate .* TiB"):
        build()
