"""Learning-rate schedules against torch.optim.lr_scheduler, epoch by epoch."""

import numpy as np
import pytest
import torch

import convlens as cl

S = cl.optim.lr_scheduler
TS = torch.optim.lr_scheduler


def rates(make, make_torch, epochs=40, metrics=None):
    opt = cl.optim.SGD([cl.Parameter(np.zeros(1))], lr=0.1)
    sched = make(opt)
    t_opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    t_sched = make_torch(t_opt)
    ours, theirs = [opt.lr], [t_opt.param_groups[0]["lr"]]
    for epoch in range(epochs):
        t_opt.step()
        if metrics is None:
            sched.step()
            t_sched.step()
        else:
            sched.step(metrics[epoch])
            t_sched.step(metrics[epoch])
        ours.append(opt.lr)
        theirs.append(t_opt.param_groups[0]["lr"])
    return np.array(ours), np.array(theirs)


CASES = {
    "step": (lambda o: S.StepLR(o, 7, 0.5), lambda o: TS.StepLR(o, 7, 0.5)),
    "exponential": (lambda o: S.ExponentialLR(o, 0.9), lambda o: TS.ExponentialLR(o, 0.9)),
    "cosine": (lambda o: S.CosineAnnealingLR(o, 15, 1e-3), lambda o: TS.CosineAnnealingLR(o, 15, 1e-3)),
    "linear_warmup": (lambda o: S.LinearLR(o, 0.1, 1.0, 5), lambda o: TS.LinearLR(o, 0.1, 1.0, 5)),
    "warmup_then_cosine": (
        lambda o: S.SequentialLR(o, [S.LinearLR(o, 0.1, 1.0, 5), S.CosineAnnealingLR(o, 30)], [5]),
        lambda o: TS.SequentialLR(o, [TS.LinearLR(o, 0.1, 1.0, 5), TS.CosineAnnealingLR(o, 30)], [5]),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_schedule_matches_torch(case):
    ours, theirs = rates(*CASES[case])
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    assert len(set(np.round(ours, 12))) > 2  # the rate really changes


@pytest.mark.parametrize("mode, threshold_mode", [("min", "rel"), ("max", "abs")])
def test_reduce_on_plateau_matches_torch(mode, threshold_mode):
    rng = np.random.default_rng(0)
    metrics = np.round(rng.random(40), 1) if mode == "max" else 1 / (1 + np.arange(40) // 6)
    make = lambda o: S.ReduceLROnPlateau(o, mode, factor=0.5, patience=2, cooldown=1,  # noqa: E731
                                         threshold_mode=threshold_mode, min_lr=1e-3)
    make_t = lambda o: TS.ReduceLROnPlateau(o, mode, factor=0.5, patience=2, cooldown=1,  # noqa: E731
                                            threshold_mode=threshold_mode, min_lr=1e-3)
    ours, theirs = rates(make, make_t, metrics=metrics)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    assert ours[-1] < ours[0]


def test_scheduler_state_roundtrip():
    opt = cl.optim.SGD([cl.Parameter(np.zeros(1))], lr=0.1)
    sched = S.CosineAnnealingLR(opt, 10)
    for _ in range(4):
        sched.step()
    state = sched.state_dict()
    other_opt = cl.optim.SGD([cl.Parameter(np.zeros(1))], lr=0.1)
    other = S.CosineAnnealingLR(other_opt, 10)
    other.load_state_dict(state)
    sched.step()
    other.step()
    assert other_opt.lr == opt.lr


def test_bad_arguments():
    opt = cl.optim.SGD([cl.Parameter(np.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match=r"StepLR: step_size must be >= 1, received 0"):
        S.StepLR(opt, 0)
    with pytest.raises(ValueError, match=r"SequentialLR: expected 1 milestones for 2 schedulers, received 0"):
        S.SequentialLR(opt, [S.StepLR(opt, 1), S.StepLR(opt, 1)], [])
