"""The Optimizer base: parameter handling, zero_grad, state_dict errors, lookup by name."""

from __future__ import annotations

import re

import numpy as np
import pytest

import convlens as cl


def params():
    return [cl.Parameter(np.ones(2)), cl.Parameter(np.ones(3))]


@pytest.mark.parametrize("cls", [cl.optim.SGD, cl.optim.Adam, cl.optim.AdamW])
def test_frozen_parameters_are_not_updated(cls):
    frozen, free = params()
    frozen.requires_grad = False
    opt = cls([frozen, free], lr=0.1)
    frozen.grad, free.grad = np.ones(2), np.ones(3)
    opt.step()
    np.testing.assert_array_equal(frozen.data, np.ones(2))
    assert not opt.state[0] and (free.data < 1).all()


def test_zero_grad_clears_every_parameter():
    ps = params()
    opt = cl.optim.SGD(ps, lr=0.1)
    for p in ps:
        p.grad = np.ones_like(p.data)
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in ps)
    opt.zero_grad()
    assert all(p.grad is None for p in ps)


def test_takes_a_model_parameter_generator():
    model = cl.Sequential(cl.Linear(2, 3), cl.ReLU(), cl.Linear(3, 1))
    opt = cl.optim.SGD(iter(model.parameters()), lr=0.1)
    assert len(opt.params) == 4 and opt.step_count == 0
    opt.step()
    assert opt.step_count == 1


def test_empty_and_foreign_parameters_are_refused():
    with pytest.raises(ValueError, match=re.escape("SGD received an empty parameter list")):
        cl.optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match=re.escape(
            "Adam expects convlens Parameters (model.parameters()), received ndarray at "
            "position 1")):
        cl.optim.Adam([cl.Parameter(np.ones(1)), np.ones(1)])


def test_state_dict_of_another_optimizer_or_model_is_refused():
    sgd = cl.optim.SGD(params(), lr=0.1)
    with pytest.raises(ValueError, match=re.escape("cannot load SGD state into Adam")):
        cl.optim.Adam(params()).load_state_dict(sgd.state_dict())
    with pytest.raises(ValueError, match=re.escape(
            "optimizer state holds 2 parameters, this optimizer has 1")):
        cl.optim.SGD(params()[:1], lr=0.1).load_state_dict(sgd.state_dict())


def test_get_optimizer_by_name():
    opt = cl.optim.get_optimizer("AdamW", params(), lr=0.5)
    assert type(opt) is cl.optim.AdamW and opt.lr == 0.5 and opt.weight_decay == 0.01
    assert {"sgd", "adam", "adamw"} <= set(cl.optim.OPTIMIZERS)
    with pytest.raises(ValueError, match=re.escape(
            f"unknown optimizer 'lbfgs'; expected one of {sorted(cl.optim.OPTIMIZERS)}")):
        cl.optim.get_optimizer("lbfgs", params())


def test_repr_shows_hyperparameters():
    assert repr(cl.optim.SGD(params(), lr=0.1, momentum=0.9)) == (
        "SGD(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=False)")
