"""BatchNorm / InstanceNorm / GroupNorm / LayerNorm against PyTorch: outputs, dL/dx, dL/dγ,
dL/dβ, running statistics over several training steps and the eval-mode output; central
differences; and the errors (NaN input, wrong channels, bad groups) a user meets first."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
import torch

import convlens as cl
from convlens.layers.normalization import (
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    GroupNorm,
    InstanceNorm1d,
    InstanceNorm2d,
    InstanceNorm3d,
    LayerNorm,
)

DTYPES = [np.float64, np.float32]
TOL = {np.float64: 1e-10, np.float32: 1e-5}
TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}


def close(actual, expected, dtype, what):
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else expected
    tol = TOL[dtype]
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol, err_msg=what)


def batch(shape, dtype, seed, loc=0.0, scale=1.0):
    """Inputs with a non-zero mean and a non-unit spread, so the statistics matter."""
    rng = np.random.default_rng(seed)
    x = loc + scale * rng.standard_normal(shape)
    return x.astype(dtype)


def randomize_affine(ours, theirs, dtype, seed=7):
    """Non-trivial γ and β (the defaults 1 and 0 would hide a swapped gradient)."""
    rng = np.random.default_rng(seed)
    for name in ("weight", "bias"):
        p = getattr(ours, name, None)
        if p is not None:
            p.data = (rng.standard_normal(p.shape) + (1.0 if name == "weight" else 0.0)).astype(dtype)
            with torch.no_grad():
                getattr(theirs, name).copy_(torch.from_numpy(p.data.copy()))


def step_both(ours, theirs, x, dtype, what, seed):
    """One forward + backward in both libraries; compares y, dx, dγ, dβ."""
    ours.zero_grad()
    theirs.zero_grad()
    y = ours(x)
    xt = torch.tensor(x, requires_grad=True)
    yt = theirs(xt)
    close(y, yt, dtype, f"{what}: output")
    assert y.dtype == dtype, f"{what}: output dtype {y.dtype}"
    dy = np.random.default_rng(seed).standard_normal(y.shape).astype(dtype)
    dx = ours.backward(dy)
    yt.backward(torch.from_numpy(dy))
    close(dx, xt.grad, dtype, f"{what}: dL/dx")
    for name in ("weight", "bias"):
        p = getattr(ours, name, None)
        tp = getattr(theirs, name, None)
        assert (p is None) == (tp is None), f"{what}: {name} presence differs from torch"
        if p is not None:
            close(p.grad, tp.grad, dtype, f"{what}: dL/d{name}")


def compare_buffers(ours, theirs, dtype, what):
    if not ours.track_running_stats:
        assert ours.running_mean is None and theirs.running_mean is None
        assert dict(ours.named_buffers()) == {}
        return
    close(ours.running_mean, theirs.running_mean, dtype, f"{what}: running_mean")
    close(ours.running_var, theirs.running_var, dtype, f"{what}: running_var")
    assert int(ours.num_batches_tracked) == int(theirs.num_batches_tracked), what
    assert ours.running_mean.dtype == dtype


# -- BatchNorm ---------------------------------------------------------------------------
BN = {1: BatchNorm1d, 2: BatchNorm2d, 3: BatchNorm3d}
TORCH_BN = {1: torch.nn.BatchNorm1d, 2: torch.nn.BatchNorm2d, 3: torch.nn.BatchNorm3d}
BN_SHAPES = {"1d-NC": (1, (6, 3)), "1d-NCL": (1, (4, 3, 5)), "2d": (2, (3, 3, 4, 5)),
             "3d": (3, (2, 3, 3, 2, 4))}
BN_GRID = list(itertools.product(BN_SHAPES, [True, False], [True, False], [0.1, 0.3, None],
                                 DTYPES))


@pytest.mark.parametrize("shape_id, affine, track, momentum, dtype", BN_GRID)
def test_batchnorm_matches_torch_over_training_steps_and_eval(shape_id, affine, track, momentum,
                                                              dtype):
    nd, shape = BN_SHAPES[shape_id]
    c = shape[1]
    ours = BN[nd](c, eps=1e-3, momentum=momentum, affine=affine, track_running_stats=track,
                  dtype=dtype)
    theirs = TORCH_BN[nd](c, eps=1e-3, momentum=momentum, affine=affine,
                          track_running_stats=track, dtype=TORCH_DTYPE[dtype])
    randomize_affine(ours, theirs, dtype)
    what = f"{type(ours).__name__}{shape} affine={affine} track={track} momentum={momentum}"
    for step in range(4):  # the statistics drift: each batch has its own mean and spread
        x = batch(shape, dtype, seed=step, loc=step - 1.5, scale=1 + step)
        step_both(ours, theirs, x, dtype, f"{what} train step {step}", seed=100 + step)
        compare_buffers(ours, theirs, dtype, f"{what} after step {step}")
    ours.eval()
    theirs.eval()
    x = batch(shape, dtype, seed=50, loc=0.5, scale=2.0)
    step_both(ours, theirs, x, dtype, f"{what} eval", seed=200)
    compare_buffers(ours, theirs, dtype, f"{what} after eval")  # eval never updates them


def test_batchnorm_running_var_is_unbiased_and_normalization_biased():
    x = batch((5, 2, 3), np.float64, seed=0, loc=2.0, scale=3.0)
    bn = BatchNorm1d(2, momentum=1.0, dtype=np.float64)  # momentum 1: the buffers = this batch
    y = bn(x)
    m = 5 * 3
    np.testing.assert_allclose(bn.running_mean, x.mean(axis=(0, 2)), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, x.var(axis=(0, 2), ddof=1), rtol=1e-12)
    # the output is standardized with the 1/m variance: its 1/m variance is 1/(1 + ε/σ²)
    var = x.var(axis=(0, 2))
    np.testing.assert_allclose(y.var(axis=(0, 2)), var / (var + bn.eps), rtol=1e-12)
    assert m / (m - 1) * var == pytest.approx(bn.running_var)


def test_batchnorm_cumulative_average_with_momentum_none():
    bn = BatchNorm2d(3, momentum=None, dtype=np.float64)
    xs = [batch((4, 3, 2, 2), np.float64, seed=s, loc=s) for s in range(3)]
    for x in xs:
        bn(x)
    means = np.mean([x.mean(axis=(0, 2, 3)) for x in xs], axis=0)
    # running_mean starts at 0 but the first batch has weight 1/1: a plain average of batches
    np.testing.assert_allclose(bn.running_mean, means, rtol=1e-12)
    assert int(bn.num_batches_tracked) == 3


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_batchnorm_eval_uses_running_statistics(nd):
    shape = BN_SHAPES["1d-NCL" if nd == 1 else f"{nd}d"][1]
    bn = BN[nd](3, dtype=np.float64)
    bn.running_mean[...] = [1.0, -2.0, 0.5]
    bn.running_var[...] = [4.0, 0.25, 1.0]
    bn.weight.data[...] = [2.0, 1.0, -1.0]
    bn.bias.data[...] = [0.0, 3.0, 1.0]
    bn.eval()
    x = batch(shape, np.float64, seed=3)
    view = (1, 3) + (1,) * (len(shape) - 2)
    expected = ((x - bn.running_mean.reshape(view)) / np.sqrt(bn.running_var.reshape(view) + 1e-5)
                * bn.weight.data.reshape(view) + bn.bias.data.reshape(view))
    np.testing.assert_allclose(bn(x), expected, rtol=1e-13)
    # one example at a time gives the same output in eval (no batch dependence)
    np.testing.assert_allclose(bn(x[:1]), expected[:1], rtol=1e-13)


# -- InstanceNorm ------------------------------------------------------------------------
IN = {1: InstanceNorm1d, 2: InstanceNorm2d, 3: InstanceNorm3d}
TORCH_IN = {1: torch.nn.InstanceNorm1d, 2: torch.nn.InstanceNorm2d, 3: torch.nn.InstanceNorm3d}
IN_SHAPES = {1: (3, 4, 6), 2: (3, 4, 3, 5), 3: (2, 4, 3, 2, 3)}
IN_GRID = list(itertools.product([1, 2, 3], [False, True], [False, True], DTYPES))


@pytest.mark.parametrize("nd, affine, track, dtype", IN_GRID)
def test_instancenorm_matches_torch(nd, affine, track, dtype):
    shape = IN_SHAPES[nd]
    ours = IN[nd](4, momentum=0.2, affine=affine, track_running_stats=track, dtype=dtype)
    theirs = TORCH_IN[nd](4, momentum=0.2, affine=affine, track_running_stats=track,
                          dtype=TORCH_DTYPE[dtype])
    randomize_affine(ours, theirs, dtype)
    what = f"InstanceNorm{nd}d affine={affine} track={track}"
    for step in range(3):
        x = batch(shape, dtype, seed=step, loc=step, scale=1 + step)
        step_both(ours, theirs, x, dtype, f"{what} train step {step}", seed=10 + step)
        if track:
            close(ours.running_mean, theirs.running_mean, dtype, f"{what}: running_mean")
            close(ours.running_var, theirs.running_var, dtype, f"{what}: running_var")
    ours.eval()
    theirs.eval()
    step_both(ours, theirs, batch(shape, dtype, seed=9, loc=1.0), dtype, f"{what} eval", seed=3)


def test_instancenorm_defaults_follow_torch():
    layer = InstanceNorm2d(5)
    assert (layer.affine, layer.track_running_stats) == (False, False)
    assert layer.parameters() == [] and list(layer.named_buffers()) == []
    assert set(BatchNorm2d(5).state_dict()) == set(torch.nn.BatchNorm2d(5).state_dict())
    assert set(InstanceNorm2d(5, affine=True, track_running_stats=True).state_dict()) == set(
        torch.nn.InstanceNorm2d(5, affine=True, track_running_stats=True).state_dict())


# -- GroupNorm ---------------------------------------------------------------------------
# (3, 6) with 6 groups would put one value in each group: x̂ = 0 exactly, where torch returns
# float32 rounding noise; that degenerate case is pinned separately below.
GN_GRID = [case for case in itertools.product(
    [(3, 6), (2, 6, 5), (2, 6, 3, 4), (2, 6, 2, 3, 2)], [1, 2, 3, 6], [True, False], DTYPES)
    if not (case[0] == (3, 6) and case[1] == 6)]


@pytest.mark.parametrize("shape, groups, affine, dtype", GN_GRID)
def test_groupnorm_matches_torch(shape, groups, affine, dtype):
    ours = GroupNorm(groups, 6, eps=1e-4, affine=affine, dtype=dtype)
    theirs = torch.nn.GroupNorm(groups, 6, eps=1e-4, affine=affine, dtype=TORCH_DTYPE[dtype])
    randomize_affine(ours, theirs, dtype)
    # channels with different offsets and scales: a wrong grouping changes the output
    x = batch(shape, dtype, seed=1) * np.arange(1, 7).reshape((1, 6) + (1,) * (len(shape) - 2))
    x = (x + np.arange(6).reshape((1, 6) + (1,) * (len(shape) - 2))).astype(dtype)
    step_both(ours, theirs, x, dtype, f"GroupNorm({groups}, 6) on {shape}", seed=4)
    ours.eval()
    theirs.eval()
    step_both(ours, theirs, x, dtype, f"GroupNorm({groups}, 6) on {shape} eval", seed=5)


def test_groupnorm_with_one_value_per_group_outputs_the_bias():
    layer = GroupNorm(4, 4, dtype=np.float64)
    layer.bias.data[...] = [1.0, 2.0, 3.0, 4.0]
    y = layer(batch((3, 4), np.float64, seed=0, loc=5.0))
    np.testing.assert_array_equal(y, np.tile([1.0, 2.0, 3.0, 4.0], (3, 1)))
    dx = layer.backward(np.ones((3, 4)))
    np.testing.assert_array_equal(dx, 0)  # x̂ ≡ 0 whatever x: no gradient reaches the input


# -- LayerNorm ---------------------------------------------------------------------------
LN_GRID = list(itertools.product(
    [((4, 7), 7), ((2, 5, 6), 6), ((2, 5, 6), (5, 6)), ((2, 3, 4, 5), (4, 5)),
     ((2, 3, 4, 5), (3, 4, 5))],
    [(True, True), (True, False), (False, True)], DTYPES))


@pytest.mark.parametrize("shapes, affine_bias, dtype", LN_GRID)
def test_layernorm_matches_torch(shapes, affine_bias, dtype):
    shape, normalized = shapes
    affine, bias = affine_bias
    ours = LayerNorm(normalized, eps=1e-5, elementwise_affine=affine, bias=bias, dtype=dtype)
    theirs = torch.nn.LayerNorm(normalized, eps=1e-5, elementwise_affine=affine, bias=bias,
                                dtype=TORCH_DTYPE[dtype])
    randomize_affine(ours, theirs, dtype)
    x = batch(shape, dtype, seed=2, loc=3.0, scale=2.0)
    step_both(ours, theirs, x, dtype, f"LayerNorm({normalized}) on {shape}", seed=6)


# -- central differences -----------------------------------------------------------------
GRADCHECK_CASES = [
    ("BatchNorm1d NC", lambda: BatchNorm1d(3), (5, 3), True),
    ("BatchNorm1d NCL", lambda: BatchNorm1d(3), (3, 3, 4), True),
    ("BatchNorm2d", lambda: BatchNorm2d(2), (3, 2, 3, 3), True),
    ("BatchNorm3d", lambda: BatchNorm3d(2), (2, 2, 2, 3, 2), True),
    ("BatchNorm2d eval", lambda: BatchNorm2d(2), (3, 2, 3, 3), False),
    ("BatchNorm2d untracked eval", lambda: BatchNorm2d(2, track_running_stats=False),
     (3, 2, 3, 3), False),
    ("InstanceNorm1d affine", lambda: InstanceNorm1d(3, affine=True), (2, 3, 5), True),
    ("InstanceNorm2d", lambda: InstanceNorm2d(2), (2, 2, 3, 3), True),
    ("InstanceNorm3d tracked eval", lambda: InstanceNorm3d(2, affine=True,
                                                           track_running_stats=True),
     (2, 2, 2, 2, 3), False),
    ("GroupNorm", lambda: GroupNorm(2, 4), (2, 4, 3, 3), True),
    ("GroupNorm no affine", lambda: GroupNorm(4, 4, affine=False), (2, 4, 5), True),
    ("LayerNorm", lambda: LayerNorm((3, 4)), (2, 5, 3, 4), True),
    ("LayerNorm no bias", lambda: LayerNorm(6, bias=False), (4, 6), True),
]


@pytest.mark.parametrize("what, make, shape, train", GRADCHECK_CASES,
                         ids=[c[0] for c in GRADCHECK_CASES])
def test_central_differences(what, make, shape, train):
    layer = make().double()
    rng = np.random.default_rng(0)
    for p in layer.parameters():
        p.data = rng.standard_normal(p.shape) + 1.0
    for name, buf in layer.named_buffers():
        if name == "running_var":
            buf[...] = rng.uniform(0.5, 2.0, buf.shape)
        elif name == "running_mean":
            buf[...] = rng.standard_normal(buf.shape)
    layer.train(train)
    x = batch(shape, np.float64, seed=1, loc=1.0, scale=2.0)
    report = cl.gradcheck(layer, x)
    expected = {"input"} | {name for name, _ in layer.named_parameters()}
    assert set(report.errors) == expected
    assert report.max_error < 1e-7, f"{what}\n{report}"


def test_backward_without_input_grad_still_fills_parameter_grads():
    layer = BatchNorm2d(2, dtype=np.float64)
    x = batch((3, 2, 2, 2), np.float64, seed=0)
    dy = batch((3, 2, 2, 2), np.float64, seed=1)
    layer(x)
    assert layer.backward(dy, need_input_grad=False) is None
    grads = layer.weight.grad.copy(), layer.bias.grad.copy()
    layer.zero_grad()
    layer(x)
    layer.backward(dy)
    np.testing.assert_allclose(layer.weight.grad, grads[0])
    np.testing.assert_allclose(layer.bias.grad, grads[1])
    layer.backward(dy)  # gradients accumulate, as PyTorch
    np.testing.assert_allclose(layer.bias.grad, 2 * grads[1])


def test_backward_before_forward_explains():
    with pytest.raises(RuntimeError, match=r"LayerNorm\.backward\(\) was called before forward"):
        LayerNorm(3).backward(np.zeros((2, 3)))


def test_state_dict_round_trips_through_torch():
    theirs = torch.nn.BatchNorm2d(3)
    theirs(torch.randn(4, 3, 2, 2) * 3 + 1)
    ours = BatchNorm2d(3)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    ours.eval()
    theirs.eval()
    x = batch((2, 3, 2, 2), np.float32, seed=0)
    np.testing.assert_allclose(ours(x), theirs(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_integer_input_is_normalized_in_floating_point():
    y = LayerNorm(4)(np.array([[1, 2, 3, 4]]))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.mean(), 0, atol=1e-6)


def test_repr_shows_the_configuration():
    assert repr(BatchNorm2d(16)) == ("BatchNorm2d(num_features=16, eps=1e-05, momentum=0.1, "
                                     "affine=True, track_running_stats=True)")
    assert repr(GroupNorm(4, 8)) == "GroupNorm(num_groups=4, num_channels=8, eps=1e-05, affine=True)"
    assert "bias=False" in repr(LayerNorm(3, bias=False))


# -- errors ------------------------------------------------------------------------------
NAN_CASES = [
    (BatchNorm1d(3), (4, 3), (2, 1), "BatchNorm1d", "batch 2, channel 1"),
    (BatchNorm1d(3), (4, 3, 5), (1, 2, 4), "BatchNorm1d", r"batch 1, channel 2, position \(4,\)"),
    (BatchNorm2d(3), (2, 3, 4, 4), (1, 0, 2, 3), "BatchNorm2d",
     r"batch 1, channel 0, position \(2, 3\)"),
    (BatchNorm3d(2), (2, 2, 2, 2, 2), (0, 1, 1, 0, 1), "BatchNorm3d",
     r"batch 0, channel 1, position \(1, 0, 1\)"),
    (InstanceNorm1d(3), (2, 3, 4), (1, 1, 3), "InstanceNorm1d", "batch 1, channel 1"),
    (InstanceNorm2d(3), (2, 3, 4, 4), (0, 2, 0, 1), "InstanceNorm2d", "batch 0, channel 2"),
    (InstanceNorm3d(3), (2, 3, 2, 2, 2), (1, 0, 1, 1, 1), "InstanceNorm3d",
     "batch 1, channel 0"),
    (GroupNorm(2, 4), (2, 4, 3), (1, 3, 2), "GroupNorm", "batch 1, channel 3"),
    (LayerNorm(5), (2, 3, 5), (1, 2, 4), "LayerNorm", r"index \(1, 2, 4\)"),
]


@pytest.mark.parametrize("layer, shape, where, name, location", NAN_CASES,
                         ids=[f"{c[3]}-{len(c[1])}d" for c in NAN_CASES])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_nan_input_raises_naming_layer_count_and_first_position(layer, shape, where, name,
                                                                 location, mode):
    layer.train(mode == "train")
    x = batch(shape, np.float32, seed=0)
    x[where] = np.nan
    last = tuple(n - 1 for n in shape)
    x[last] = np.nan  # a second NaN, after the first one
    count = 2 if last != where else 1
    with pytest.raises(FloatingPointError,
                       match=rf"^{name}: the input holds {count} NaN value\(s\) .*first NaN at "
                             rf"{location}"):
        layer(x)


def test_infinite_input_is_reported_too():
    x = np.zeros((2, 3, 2, 2), np.float32)
    x[1, 2, 0, 1] = np.inf
    with pytest.raises(FloatingPointError,
                       match=r"holds 1 infinite value\(s\).*batch 1, channel 2, position \(0, 1\)"):
        BatchNorm2d(3)(x)


WRONG_CHANNELS = [
    (BatchNorm1d(8), (4, 3), r"BatchNorm1d\(8\) expects 8 channels .* received shape \(4, 3\) "
                             r"with C=3"),
    (BatchNorm2d(16), (2, 3, 8, 8), r"BatchNorm2d\(16\) expects 16 channels \(num_features\) in "
                                    r"the layout \(N, C, H, W\), received shape \(2, 3, 8, 8\) "
                                    r"with C=3"),
    (BatchNorm3d(4), (2, 3, 2, 2, 2), r"BatchNorm3d\(4\) expects 4 channels .* with C=3"),
    (InstanceNorm2d(4), (2, 3, 5, 5), r"InstanceNorm2d\(4\) expects 4 channels .* with C=3"),
    (GroupNorm(2, 8), (2, 6, 4), r"GroupNorm\(2, 8\) expects an input \(N, C, \*\) with C=8 "
                                 r"\(num_channels\), received shape \(2, 6, 4\)"),
    (LayerNorm((3, 4)), (2, 4, 3), r"LayerNorm expects the last 2 axes of its input to be "
                                   r"\(3, 4\) \(normalized_shape\), received shape \(2, 4, 3\)"),
]


@pytest.mark.parametrize("layer, shape, message", WRONG_CHANNELS,
                         ids=[type(c[0]).__name__ for c in WRONG_CHANNELS])
def test_wrong_channel_count_names_expected_and_received(layer, shape, message):
    with pytest.raises(ValueError, match=message):
        layer(np.zeros(shape, np.float32))


def test_wrong_rank_suggests_the_right_layer_or_a_batch_axis():
    with pytest.raises(ValueError, match=re.escape(
            "BatchNorm2d expects a 4-D input (N, C, H, W) with C=3, received shape (3, 5, 5) "
            "(3-D); for a single example add a batch axis: x[None] has shape (1, 3, 5, 5); "
            "for a batch (N, C, L) use BatchNorm1d")):
        BatchNorm2d(3)(np.zeros((3, 5, 5)))
    with pytest.raises(ValueError, match=r"BatchNorm1d expects a 2-D or 3-D input \(N, C\) or "
                                         r"\(N, C, L\).*use BatchNorm2d"):
        BatchNorm1d(3)(np.zeros((2, 3, 4, 4)))


def test_groupnorm_channels_must_divide_into_groups():
    with pytest.raises(ValueError, match=re.escape(
            "GroupNorm: num_channels must be divisible by num_groups, received num_channels=6, "
            "num_groups=4 (6 % 4 = 2)")):
        GroupNorm(4, 6)


def test_batchnorm_training_needs_more_than_one_value_per_channel():
    with pytest.raises(ValueError, match=r"BatchNorm1d: in training each channel needs more "
                                         r"than 1 value.*\(1, 4\).*call \.eval\(\)"):
        BatchNorm1d(4)(np.ones((1, 4)))
    layer = BatchNorm1d(4).eval()
    assert layer(np.ones((1, 4))).shape == (1, 4)  # eval uses the running statistics


@pytest.mark.parametrize("make, message", [
    (lambda: BatchNorm2d(0), r"BatchNorm2d: num_features must be a positive int, received 0"),
    (lambda: BatchNorm2d(4, momentum=1.5), r"momentum must be in \[0, 1\].*received 1\.5"),
    (lambda: BatchNorm2d(4, eps=0), r"eps must be > 0"),
    (lambda: InstanceNorm2d(4, momentum=None), r"InstanceNorm2d: momentum must be a number"),
    (lambda: LayerNorm(()), r"normalized_shape must hold at least one axis"),
])
def test_bad_hyperparameters_are_refused_at_construction(make, message):
    with pytest.raises(ValueError, match=message):
        make()
