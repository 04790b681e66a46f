"""AdaGrad and RMSprop trajectories against torch.optim (same gradients, 25 steps)."""

import numpy as np
import pytest
import torch

import convlens as cl


def trajectories_agree(make_ours, make_theirs, steps=25, resume_at=None):
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((4, 3))
    grads = [rng.standard_normal((4, 3)) for _ in range(steps)]
    p = cl.Parameter(w0.copy())
    ours = make_ours([p])
    tp = torch.nn.Parameter(torch.tensor(w0))
    theirs = make_theirs([tp])
    worst = 0.0
    for step, g in enumerate(grads):
        if step == resume_at:  # save, rebuild, restore: the trajectory must not notice
            state = ours.state_dict()
            ours = make_ours([p])
            ours.load_state_dict(state)
        p.grad = g.copy()
        ours.step()
        tp.grad = torch.tensor(g)
        theirs.step()
        worst = max(worst, float(np.abs(p.data - tp.detach().numpy()).max()))
    return worst


@pytest.mark.parametrize("kwargs", [
    {}, {"lr_decay": 0.01}, {"weight_decay": 0.1}, {"initial_accumulator_value": 0.3, "eps": 1e-6}])
def test_adagrad(kwargs):
    err = trajectories_agree(lambda p: cl.optim.AdaGrad(p, lr=0.1, **kwargs),
                             lambda p: torch.optim.Adagrad(p, lr=0.1, **kwargs))
    assert err < 1e-12


@pytest.mark.parametrize("centered", [False, True])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_rmsprop(centered, momentum, weight_decay):
    kwargs = dict(lr=0.01, alpha=0.95, centered=centered, momentum=momentum, weight_decay=weight_decay)
    err = trajectories_agree(lambda p: cl.optim.RMSprop(p, **kwargs),
                             lambda p: torch.optim.RMSprop(p, **kwargs))
    assert err < 1e-12


@pytest.mark.parametrize("name, cls, kwargs", [
    ("adagrad", torch.optim.Adagrad, {"lr": 0.1}),
    ("rmsprop", torch.optim.RMSprop, {"lr": 0.01, "momentum": 0.9, "centered": True}),
])
def test_state_dict_resume_keeps_the_trajectory(name, cls, kwargs):
    err = trajectories_agree(lambda p: cl.optim.get_optimizer(name, p, **kwargs),
                             lambda p: cls(p, **kwargs), resume_at=11)
    assert err < 1e-12


def test_invalid_hyperparameters():
    p = [cl.Parameter(np.zeros(2))]
    with pytest.raises(ValueError, match=r"RMSprop: alpha must be in \[0, 1\], received 1.5"):
        cl.optim.RMSprop(p, alpha=1.5)
    with pytest.raises(ValueError, match=r"AdaGrad: lr_decay must be >= 0, received -1"):
        cl.optim.AdaGrad(p, lr_decay=-1)
    with pytest.raises(ValueError, match=r"unknown optimizer 'adadelta'; expected one of"):
        cl.optim.get_optimizer("adadelta", p)
