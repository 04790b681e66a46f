"""SGD against ``torch.optim.SGD``: 25-step trajectories, and resuming from a state_dict."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch_oracle import initial_weights, run_steps, torch_trajectory

import convlens as cl

STEPS = 25
GRID = [
    dict(lr=lr, momentum=m, dampening=d, nesterov=n, weight_decay=wd)
    for lr, m, d, n, wd in itertools.product([0.05], [0.0, 0.9], [0.0, 0.3], [False, True],
                                             [0.0, 0.01])
    if not (n and (m == 0 or d != 0))      # Nesterov needs momentum and no dampening
]


def make(kwargs, seed=0):
    params = [cl.Parameter(w) for w in initial_weights(seed)]
    return cl.optim.SGD(params, **kwargs)


@pytest.mark.parametrize("kwargs", GRID, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
def test_sgd_trajectory_matches_torch(kwargs):
    expected = torch_trajectory(torch.optim.SGD, STEPS, kwargs)
    got = run_steps(make(kwargs), range(STEPS))
    for t, (ours, theirs) in enumerate(zip(got, expected)):
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, err_msg=f"step {t}")


def test_parameters_without_gradient_are_skipped_like_torch():
    kwargs = dict(lr=0.05, momentum=0.9, weight_decay=0.01)
    expected = torch_trajectory(torch.optim.SGD, STEPS, kwargs, skip=(1, 3))
    got = run_steps(make(kwargs), range(STEPS), skip=(1, 3))
    for ours, theirs in zip(got, expected):
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kwargs", [GRID[-1], dict(lr=0.05, momentum=0.9, nesterov=True)],
                         ids=["momentum-dampening-decay", "nesterov"])
def test_resuming_from_a_state_dict_continues_identically(kwargs):
    straight = run_steps(make(kwargs), range(STEPS))

    first = make(kwargs)
    run_steps(first, range(10))
    saved_weights = [p.data.copy() for p in first.params]
    saved_state = first.state_dict()
    run_steps(first, range(10, 12))          # moving on must not change what was saved
    resumed = cl.optim.SGD([cl.Parameter(w) for w in saved_weights], lr=1.0)
    resumed.load_state_dict(saved_state)
    assert resumed.lr == kwargs["lr"] and resumed.step_count == 10
    rest = run_steps(resumed, range(10, STEPS))
    for ours, theirs in zip(rest, straight[10:]):
        for a, b in zip(ours, theirs):
            np.testing.assert_array_equal(a, b)


def test_plain_sgd_is_the_seed_rule():
    p = cl.Parameter(np.array([1.0, -2.0]))
    p.grad = np.array([0.5, 0.25])
    cl.optim.SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [1.0 - 0.05, -2.0 - 0.025], rtol=1e-15)


def test_float32_parameters_stay_float32():
    p = cl.Parameter(np.ones(3, np.float32))
    opt = cl.optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.1)
    for _ in range(3):
        p.grad = np.ones(3, np.float32)
        opt.step()
    assert p.data.dtype == np.float32 and opt.state[0]["momentum_buffer"].dtype == np.float32


@pytest.mark.parametrize("kwargs, message", [
    (dict(momentum=-0.1), "SGD: momentum must be >= 0, received -0.1"),
    (dict(weight_decay=-1), "SGD: weight_decay must be >= 0, received -1"),
    (dict(nesterov=True), "SGD: Nesterov momentum requires momentum > 0 and dampening = 0"),
    (dict(nesterov=True, momentum=0.9, dampening=0.1),
     "SGD: Nesterov momentum requires momentum > 0 and dampening = 0"),
    (dict(lr=-0.1), "SGD: lr must be >= 0, received -0.1"),
])
def test_invalid_hyperparameters(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        cl.optim.SGD([cl.Parameter(np.zeros(1))], **kwargs)
