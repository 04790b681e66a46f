"""Gradient clipping against torch.nn.utils."""

import numpy as np
import pytest
import torch

import convlens as cl


def params_and_twins(seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (5,), (2, 2, 3)]
    ours, theirs = [], []
    for shape in shapes:
        g = rng.standard_normal(shape) * 3
        p = cl.Parameter(np.zeros(shape))
        p.grad = g.copy()
        t = torch.nn.Parameter(torch.zeros(shape, dtype=torch.float64))
        t.grad = torch.tensor(g)
        ours.append(p)
        theirs.append(t)
    return ours, theirs


@pytest.mark.parametrize("max_norm", [0.5, 1e6])
@pytest.mark.parametrize("norm_type", [1.0, 2.0, float("inf")])
def test_clip_grad_norm(max_norm, norm_type):
    ours, theirs = params_and_twins()
    total = cl.optim.clip_grad_norm_(ours, max_norm, norm_type)
    t_total = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert total == pytest.approx(t_total.item(), rel=1e-12)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-12)


def test_clip_grad_value():
    ours, theirs = params_and_twins(1)
    cl.optim.clip_grad_value_(ours, 0.8)
    torch.nn.utils.clip_grad_value_(theirs, 0.8)
    for p, t in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad, t.grad.numpy())
        assert np.abs(p.grad).max() <= 0.8
