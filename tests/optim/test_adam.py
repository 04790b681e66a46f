"""Adam and AdamW against ``torch.optim``: 25-step trajectories, and resuming from a state_dict."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
import torch
from torch_oracle import initial_weights, run_steps, torch_trajectory

import convlens as cl

STEPS = 25
CLASSES = {"adam": (cl.optim.Adam, torch.optim.Adam), "adamw": (cl.optim.AdamW, torch.optim.AdamW)}
GRID = [
    (name, dict(lr=0.02, betas=betas, eps=eps, weight_decay=wd))
    for name, betas, eps, wd in itertools.product(
        CLASSES, [(0.9, 0.999), (0.5, 0.8)], [1e-8, 1e-2], [0.0, 0.1])
]


def make(name, kwargs, seed=0):
    return CLASSES[name][0]([cl.Parameter(w) for w in initial_weights(seed)], **kwargs)


@pytest.mark.parametrize("name, kwargs", GRID, ids=lambda v: v if isinstance(v, str) else
                         ",".join(f"{a}={b}" for a, b in v.items()))
def test_adam_trajectory_matches_torch(name, kwargs):
    expected = torch_trajectory(CLASSES[name][1], STEPS, kwargs)
    got = run_steps(make(name, kwargs), range(STEPS))
    for t, (ours, theirs) in enumerate(zip(got, expected)):
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=f"step {t}")


@pytest.mark.parametrize("name", CLASSES)
def test_default_hyperparameters_match_torch(name):
    """Adam's weight decay defaults to 0, AdamW's to 0.01 (both as in torch)."""
    expected = torch_trajectory(CLASSES[name][1], STEPS, {})
    got = run_steps(make(name, {}), range(STEPS))
    for ours, theirs in zip(got, expected):
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", CLASSES)
def test_parameters_without_gradient_are_skipped_like_torch(name):
    kwargs = dict(lr=0.02, weight_decay=0.1)
    expected = torch_trajectory(CLASSES[name][1], STEPS, kwargs, skip=(2, 4))
    got = run_steps(make(name, kwargs), range(STEPS), skip=(2, 4))
    for ours, theirs in zip(got, expected):
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", CLASSES)
def test_resuming_from_a_state_dict_continues_identically(name):
    kwargs = dict(lr=0.02, betas=(0.5, 0.8), eps=1e-6, weight_decay=0.1)
    straight = run_steps(make(name, kwargs), range(STEPS))

    first = make(name, kwargs)
    run_steps(first, range(10))
    saved_weights = [p.data.copy() for p in first.params]
    saved_state = first.state_dict()
    run_steps(first, range(10, 12))          # moving on must not change what was saved
    resumed = CLASSES[name][0]([cl.Parameter(w) for w in saved_weights])   # defaults
    resumed.load_state_dict(saved_state)
    assert resumed.betas == [0.5, 0.8] and resumed.eps == 1e-6 and resumed.weight_decay == 0.1
    assert int(resumed.state[0]["step"]) == 10
    rest = run_steps(resumed, range(10, STEPS))
    for ours, theirs in zip(rest, straight[10:]):
        for a, b in zip(ours, theirs):
            np.testing.assert_array_equal(a, b)


def test_first_step_moves_each_weight_by_lr():
    """Bias correction: after one step m̂/√v̂ = sign(g), so every weight moves by ≈ lr."""
    p = cl.Parameter(np.array([1.0, -3.0, 0.5]))
    p.grad = np.array([1e-2, -50.0, 2.0])
    cl.optim.Adam([p], lr=0.1).step()
    # |g| / (|g| + ε) with ε = 1e-8: the smallest gradient moves 1e-6 less than lr
    np.testing.assert_allclose(p.data, [0.9, -2.9, 0.4], rtol=0, atol=1e-6)
    assert p.data[0] > 0.9


def test_float32_parameters_stay_float32():
    p = cl.Parameter(np.ones(3, np.float32))
    opt = cl.optim.AdamW([p])
    for _ in range(3):
        p.grad = np.ones(3, np.float32)
        opt.step()
    assert p.data.dtype == np.float32 and opt.state[0]["exp_avg_sq"].dtype == np.float32


@pytest.mark.parametrize("kwargs, message", [
    (dict(betas=(1.0, 0.999)), "Adam: betas must be in [0, 1), received (1.0, 0.999)"),
    (dict(betas=(0.9, -0.1)), "Adam: betas must be in [0, 1), received (0.9, -0.1)"),
    (dict(eps=-1.0), "Adam: eps and weight_decay must be >= 0"),
    (dict(weight_decay=-0.1), "Adam: eps and weight_decay must be >= 0"),
    (dict(lr=-1.0), "Adam: lr must be >= 0, received -1.0"),
])
def test_invalid_hyperparameters(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        cl.optim.Adam([cl.Parameter(np.zeros(1))], **kwargs)
