"""Grad-CAM, Grad-CAM++ and saliency: against a hand computation, against PyTorch autograd,
and on trained networks whose evidence is known (a bright square or bump at a known place)."""

from __future__ import annotations

import functools
import re
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from matplotlib.text import Text
from torch_oracle import torch_twin

import convlens as cl
from convlens.data import DataLoader
from convlens.training import fit
from convlens.viz.cam import (
    class_activation_map,
    grad_cam,
    grad_cam_plus_plus,
    plot_grad_cam,
    plot_saliency,
    resolve_layer,
    saliency_map,
    upsample_linear,
)

CONV = {1: cl.Conv1d, 2: cl.Conv2d, 3: cl.Conv3d}
POOL = {1: cl.MaxPool1d, 2: cl.MaxPool2d, 3: cl.MaxPool3d}
GAP = {1: cl.GlobalAvgPool1d, 2: cl.GlobalAvgPool2d, 3: cl.GlobalAvgPool3d}
TORCH_MODE = {1: "linear", 2: "bilinear", 3: "trilinear"}


# -- upsampling ------------------------------------------------------------------------------
def test_upsample_linear_by_hand():
    # output i sits at (i + 0.5)·2/4 − 0.5 = −0.25, 0.25, 0.75, 1.25 -> clamped to [0, 1]
    np.testing.assert_allclose(upsample_linear(np.array([0.0, 1.0]), (4,)), [0, 0.25, 0.75, 1])
    np.testing.assert_allclose(upsample_linear(np.array([[2.0, 4.0]]), (1, 2)), [[2.0, 4.0]])


@pytest.mark.parametrize("shape, size", [((2, 3, 5), (11,)), ((1, 2, 3, 4), (7, 9)),
                                         ((2, 1, 2, 3, 3), (5, 7, 4)), ((1, 1, 8, 6), (3, 5))])
def test_upsample_linear_matches_torch_interpolate(shape, size):
    a = np.random.default_rng(0).standard_normal(shape)
    expected = F.interpolate(torch.from_numpy(a), size=size, mode=TORCH_MODE[len(size)],
                             align_corners=False).numpy()
    np.testing.assert_allclose(upsample_linear(a, size), expected, atol=1e-12)


# -- exact values ----------------------------------------------------------------------------
def test_grad_cam_equals_hand_computation_on_tiny_model():
    conv = cl.Conv2d(1, 2, kernel_size=2, dtype=np.float64)
    conv.weight.data[...] = [[[[1, 0], [0, -1]]], [[[0.5, 0.5], [0.5, 0.5]]]]
    conv.bias.data[...] = [0.0, -1.0]
    head = cl.Linear(8, 2, dtype=np.float64)
    head.weight.data[...] = np.arange(16, dtype=np.float64).reshape(2, 8) / 8 - 1
    head.bias.data[...] = 0
    model = cl.Sequential(conv, cl.ReLU(), cl.Flatten(), head)
    x = np.array([[[1.0, 2.0, 0.0], [0.0, 3.0, 1.0], [2.0, 1.0, 4.0]]])  # (C=1, 3, 3)

    # by hand: A = conv(x) (2 maps of 2×2), score = head.weight[c] · ReLU(A).ravel()
    A = np.zeros((2, 2, 2))
    for k in range(2):
        for i in range(2):
            for j in range(2):
                A[k, i, j] = (conv.weight.data[k, 0] * x[0, i:i + 2, j:j + 2]).sum() + conv.bias.data[k]
    c = 1
    dA = head.weight.data[c].reshape(2, 2, 2) * (A > 0)     # ∂score/∂A through the ReLU
    alpha = dA.mean(axis=(1, 2))
    coarse = np.maximum(np.tensordot(alpha, A, axes=1), 0)

    result = class_activation_map(model, x, target=c)
    assert result.layer == "0"
    np.testing.assert_allclose(result.activations[0], A)
    np.testing.assert_allclose(result.gradients[0], dA)
    np.testing.assert_allclose(result.weights[0], alpha)
    np.testing.assert_allclose(result.coarse[0], coarse)
    assert coarse.max() > 0  # the example is not a degenerate all-zero map
    heat = grad_cam(model, x, target=c)
    assert heat.shape == (3, 3)
    np.testing.assert_allclose(heat, upsample_linear(coarse, (3, 3)))

    # Grad-CAM++ by hand: a = g² / (2g² + ΣA·g³), w = Σ a·ReLU(g)
    g2, g3, sum_a = dA ** 2, dA ** 3, A.sum(axis=(1, 2), keepdims=True)
    denom = 2 * g2 + sum_a * g3
    a = np.divide(g2, denom, out=np.zeros_like(g2), where=denom != 0)
    w = (a * np.maximum(dA, 0)).sum(axis=(1, 2))
    expected_pp = upsample_linear(np.maximum(np.tensordot(w, A, axes=1), 0), (3, 3))
    np.testing.assert_allclose(grad_cam_plus_plus(model, x, target=c), expected_pp)


def _nested_model(d: int) -> cl.Sequential:
    """Convolutions inside a Residual inside a Sequential; the last one is '3.body.2'."""
    cl.manual_seed(d)
    conv = CONV[d]
    return cl.Sequential(
        conv(2, 4, 3, padding=1, dtype=np.float64), cl.ReLU(), POOL[d](2),
        cl.Residual(cl.Sequential(conv(4, 4, 3, padding=1, dtype=np.float64), cl.ReLU(),
                                  conv(4, 4, 3, padding=1, dtype=np.float64))),
        cl.ReLU(), cl.Flatten(), cl.Linear(4 * 3 ** d, 3, dtype=np.float64))


def _torch_cam(twin, name, x, target, method):
    module = dict(twin.named_modules())[name]
    store = {}

    def keep(m, inputs, out):
        out.retain_grad()
        store["a"] = out

    handle = module.register_forward_hook(keep)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    logits = twin(xt)
    logits[torch.arange(len(x)), torch.as_tensor(target)].sum().backward()
    handle.remove()
    a, g = store["a"].detach(), store["a"].grad
    dims = tuple(range(2, a.ndim))
    if method == "grad-cam":
        w = g.mean(dim=dims)
    else:
        denom = 2 * g ** 2 + a.sum(dim=dims, keepdim=True) * g ** 3
        alpha = torch.where(denom != 0, g ** 2 / torch.where(denom != 0, denom, 1.0), 0.0)
        w = (alpha * torch.relu(g)).sum(dim=dims)
    cam = torch.relu((w.reshape(w.shape + (1,) * len(dims)) * a).sum(dim=1, keepdim=True))
    up = F.interpolate(cam, size=x.shape[2:], mode=TORCH_MODE[len(dims)], align_corners=False)
    saliency = xt.grad.abs().amax(dim=1)
    return up[:, 0].numpy(), w.numpy(), saliency.numpy()


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("method", ["grad-cam", "grad-cam++"])
def test_cam_matches_torch_autograd_in_nested_models(d, method):
    model = _nested_model(d)
    twin = torch_twin(model).eval()
    x = np.random.default_rng(d).standard_normal((3, 2) + (6,) * d)
    target = np.array([0, 2, 1])
    # the default layer is the last convolution, found inside the Residual; "4" is the ReLU
    # after the residual sum (non-negative maps, so this random net gives non-zero maps there)
    for layer, name in ((None, "3.body.2"), ("4", "4")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a random net may give all-zero maps: still comparable
            result = class_activation_map(model, x, target, layer=layer, method=method)
        assert result.layer == name
        heat, weights, sal = _torch_cam(twin, name, x, target, method)
        np.testing.assert_allclose(result.weights, weights, atol=1e-12)
        np.testing.assert_allclose(result.heatmap, heat, atol=1e-12)
        assert result.heatmap.shape == (3,) + (6,) * d
        assert np.abs(weights).max() > 1e-3
    assert heat.max() > 0
    np.testing.assert_allclose(saliency_map(model, x, target), sal, atol=1e-12)
    assert sal.max() > 0


# -- trained networks whose evidence is known ------------------------------------------------
# Class 1: a bright square (a bump in 1-D, a cube in 3-D) at one of four known places on a
# dim noise background; class 0: the background alone. The network is convolutions, global
# average pooling and a linear layer (Grad-CAM generalizes CAM, which is exact for this head).
# The linear layer starts at zero: softmax ignores anything added to every class's row, but
# the score of one class does not, so a random common part would be explained as evidence.
SIZE = {1: 32, 2: 16, 3: 8}
SIDE = {1: 4, 2: 4, 3: 3}
PLACES = {1: [(1,), (10,), (19,), (27,)], 2: [(1, 1), (1, 11), (11, 1), (11, 11)],
          3: [(0, 0, 0), (5, 5, 5), (0, 5, 0), (5, 0, 5)]}


def _patch_task(d: int, n: int, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 0.3, (n, 1) + (SIZE[d],) * d).astype(np.float32)
    y = rng.integers(0, 2, n)
    where = rng.integers(0, 4, n)
    for i in np.flatnonzero(y):
        x[(i, 0) + tuple(slice(s, s + SIDE[d]) for s in PLACES[d][where[i]])] = 1.0
    return x, y, where


def _inside(d: int, peak: tuple[int, ...], place: int) -> bool:
    return all(s <= p < s + SIDE[d] for p, s in zip(peak, PLACES[d][place]))


@functools.cache
def _trained_model(d: int):
    """A network trained on the d-D task (well under a second) and class-1 test examples."""
    cl.manual_seed(0)
    channels = 4 if d == 3 else 8
    model = cl.Sequential(CONV[d](1, channels, 3, padding=1), cl.ReLU(), POOL[d](2),
                          CONV[d](channels, channels, 3, padding=1), cl.ReLU(), GAP[d](),
                          cl.Linear(channels, 2, weight_init="zeros", bias_init="zeros"))
    x, y, _ = _patch_task(d, 256, seed=0)
    fit(model, cl.CrossEntropyLoss(), cl.optim.Adam(model.parameters(), lr=1e-2),
        DataLoader(x, y, 32, seed=0), epochs=6, verbose=False)
    xt, yt, where = _patch_task(d, 40, seed=1)
    assert (model(xt).argmax(1) == yt).all()  # the task is learned
    keep = np.flatnonzero(yt == 1)
    return d, model, xt[keep], where[keep]


@pytest.fixture(params=[1, 2, 3], ids=["1d", "2d", "3d"])
def trained(request):
    return _trained_model(request.param)


def test_grad_cam_peaks_inside_the_patch(trained):
    d, model, x, where = trained
    heat = grad_cam(model, x, target=1)
    assert heat.shape == x.shape[:1] + x.shape[2:]
    for h, place in zip(heat, where):
        assert _inside(d, np.unravel_index(h.argmax(), h.shape), place)
    # one example at a time gives the same maps
    np.testing.assert_allclose(grad_cam(model, x[0], target=1), heat[0], rtol=1e-6, atol=1e-9)


def test_grad_cam_plus_plus_differs_yet_peaks_inside_the_patch(trained):
    d, model, x, where = trained
    plain = class_activation_map(model, x, target=1)
    plus = class_activation_map(model, x, target=1, method="grad-cam++")
    for h, place in zip(plus.heatmap, where):
        assert _inside(d, np.unravel_index(h.argmax(), h.shape), place)
    # not Grad-CAM rescaled: its channel weights are not proportional to the mean gradients
    # (channels with negative gradients drop out, each channel gets its own 1/(2 + ΣA·g))
    def unit(w):
        return w / np.abs(w).max(axis=1, keepdims=True)
    assert (np.abs(unit(plain.weights) - unit(plus.weights)).max(axis=1) > 1e-3).all()
    np.testing.assert_array_equal(plus.heatmap, grad_cam_plus_plus(model, x, target=1))


@pytest.mark.parametrize("d", [2, 3])
def test_saliency_peaks_inside_the_patch(d):
    # the input gradient is noisier than Grad-CAM (in 1-D it peaks anywhere along this
    # network's short edge filters), so it is held to "inside" in 2-D and 3-D, 80 % of the time
    d, model, x, where = _trained_model(d)
    sal = saliency_map(model, x, target=1)
    assert sal.shape == x.shape[:1] + x.shape[2:]
    hits = [_inside(d, np.unravel_index(s.argmax(), s.shape), place) for s, place in zip(sal, where)]
    assert np.mean(hits) >= 0.8, hits


def test_default_target_is_the_predicted_class(trained):
    d, model, x, _ = trained
    np.testing.assert_array_equal(class_activation_map(model, x).target, model(x).argmax(1))
    np.testing.assert_allclose(grad_cam(model, x), grad_cam(model, x, target=1))


# -- warnings ----------------------------------------------------------------------------------
def _positive_net():
    """Conv with positive weights on a positive input, then a head with negative weights:
    every gradient at the conv is ≤ 0, so the class score rises with no feature map."""
    conv = cl.Conv2d(1, 2, 3, dtype=np.float64, weight_init="ones", bias_init="zeros")
    head = cl.Linear(2 * 4 * 4, 2, dtype=np.float64, weight_init="ones", bias_init="zeros")
    head.weight.data *= -1
    return cl.Sequential(conv, cl.ReLU(), cl.Flatten(), head)


@pytest.mark.parametrize("cam, name", [(grad_cam, "Grad-CAM"), (grad_cam_plus_plus, "Grad-CAM++")])
def test_warns_when_no_feature_map_raises_the_score(cam, name):
    model, x = _positive_net(), np.ones((1, 6, 6))
    with pytest.warns(UserWarning, match=re.escape(
            f"{name} map for class 0 is all zeros: all gradients at layer '0' are ≤ 0 after ReLU: "
            "the class score does not increase with any feature map there")):
        heat = cam(model, x, target=0)
    assert heat.shape == (6, 6) and not heat.any()


def test_warns_when_the_mean_gradient_cancels_and_grad_cam_plus_plus_still_sees():
    model, x = _positive_net(), np.ones((1, 6, 6))
    model[3].weight.data[0, 5] = 0.5  # one position of map 0 raises the score of class 0
    with pytest.warns(UserWarning, match=r"Grad-CAM map for class 0 is all zeros: all channel weights "
                                         r"α_k at layer '0' \(mean gradients\) are ≤ 0"):
        grad_cam(model, x, target=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plus = class_activation_map(model, x, target=0, method="grad-cam++")
    assert plus.coarse[0].max() > 0 and plus.weights[0, 0] > 0 and plus.weights[0, 1] == 0


def test_warns_when_the_gradient_is_zero_everywhere():
    model = _positive_net()
    model[0].bias.data[:] = -100.0  # every ReLU after the conv is off: nothing flows back
    with pytest.warns(UserWarning, match=r"is all zeros: the gradient of the class score with respect "
                                         r"to layer '0' is zero everywhere"):
        grad_cam(model, np.ones((1, 6, 6)), target=1)
    with pytest.warns(UserWarning, match=r"saliency map for class 1 is all zeros: the gradient of the "
                                         r"class score with respect to the input is zero everywhere"):
        saliency_map(model, np.ones((1, 6, 6)), target=1)


def test_warns_on_nan_and_names_the_input():
    x = np.ones((1, 6, 6))
    x[0, 2, 2] = np.nan
    with pytest.warns(UserWarning, match=r"Grad-CAM map for class 1 contains NaN: the input holds NaN"):
        heat = grad_cam(_positive_net(), x, target=1)
    assert np.isnan(heat).any()


def test_no_warning_for_a_useful_map(trained):
    _, model, x, _ = trained
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        grad_cam(model, x[:2], target=1)


# -- side effects and arguments ----------------------------------------------------------------
def test_restores_modes_and_parameter_gradients():
    cl.manual_seed(0)
    model = cl.Sequential(cl.Conv2d(1, 3, 3), cl.BatchNorm2d(3), cl.ReLU(), cl.Dropout(0.5),
                          cl.Conv2d(3, 3, 3), cl.ReLU(), cl.Flatten(), cl.Linear(3 * 4 * 4, 2))
    model.train()
    model[3].eval()  # a mixed state must come back as it was, module by module
    modes = [m.training for m in model.modules()]
    running = model[1].running_mean.copy()
    params = model.parameters()
    model[0].weight.grad = np.full(model[0].weight.shape, 7.0, np.float32)
    grads = [p.grad for p in params]
    seen = []
    model[3].register_forward_hook(lambda m, i, o: seen.append([mm.training for mm in model.modules()]))
    x = np.random.default_rng(0).random((1, 8, 8)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = grad_cam(model, x, target=0)
        grad_cam_plus_plus(model, x, target=0)
        saliency_map(model, x, target=0)
    assert seen and not any(any(s) for s in seen)  # every pass ran in eval mode
    assert [m.training for m in model.modules()] == modes
    for p, g in zip(params, grads):
        assert p.grad is g
    assert model[0].weight.grad is not None and (model[0].weight.grad == 7.0).all()
    assert all(p.grad is None for p in params[1:])
    np.testing.assert_array_equal(model[1].running_mean, running)  # eval: statistics untouched
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(grad_cam(model, x, target=0), first)  # no dropout noise


def test_layer_by_name_or_object():
    model = _nested_model(2)
    x = np.random.default_rng(0).standard_normal((2, 6, 6))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        by_name = grad_cam(model, x, target=0, layer="3.body.0")
        by_object = grad_cam(model, x, target=0, layer=model[3].body[0])
        post_relu = class_activation_map(model, x, target=0, layer="4")
    np.testing.assert_array_equal(by_name, by_object)
    assert post_relu.layer == "4" and post_relu.activations.min() >= 0
    assert resolve_layer(model)[0] == "3.body.2"


def test_errors_name_the_problem():
    model = _nested_model(2)
    x = np.zeros((2, 6, 6))
    with pytest.raises(ValueError, match=r"no layer named 'nope' in the model; layers: .*3.body.2: Conv2d"):
        grad_cam(model, x, layer="nope")
    with pytest.raises(ValueError, match=r"not part of the model"):
        grad_cam(model, x, layer=cl.Conv2d(4, 4, 3))
    with pytest.raises(ValueError, match=r"layer '6' \(Linear\) outputs shape \(1, 3\), without spatial"):
        grad_cam(model, x, layer="6")
    with pytest.raises(ValueError, match=r"expected target classes in \[0, 2\]"):
        grad_cam(model, x, target=3)
    with pytest.raises(ValueError, match=r"first convolution is 2-D.*received shape \(6, 6\)"):
        grad_cam(model, np.zeros((6, 6)))
    with cl.no_grad(), pytest.raises(RuntimeError, match=r"called inside cl.no_grad\(\)"):
        grad_cam(model, x)
    with pytest.raises(ValueError, match="has no convolution layer"):
        grad_cam(cl.Sequential(cl.Flatten(), cl.Linear(4, 2)), np.zeros((1, 4)))


# -- figures -----------------------------------------------------------------------------------
def test_figures_show_the_maps(trained):
    d, model, x, _ = trained
    fig = plot_grad_cam(model, x[0], target=1, label=1)
    title = fig._suptitle.get_text()
    assert "class 1 explained (predicted 1, true 1), layer 3" in title
    texts = {t.get_text() for t in fig.findobj(Text)}
    assert {"Grad-CAM", "Grad-CAM++"} <= texts
    assert any(ax.get_label() == "<colorbar>" for ax in fig.get_axes())
    fig = plot_saliency(model, x[0], target=1, label=1)
    assert "gradient saliency of the score of class 1" in fig._suptitle.get_text()


def _graph_with_a_shared_layer():
    """Two branches; ``conv`` serves the nodes ``first`` and ``second``."""
    cl.manual_seed(3)
    x = cl.Input((2, 6, 6), name="image")
    conv = cl.Conv2d(4, 4, 3, padding=1, dtype=np.float64)
    stem = cl.ReLU()(cl.Conv2d(2, 4, 3, padding=1, dtype=np.float64)(x, name="stem"))
    first = conv(stem, name="first")
    second = conv(cl.ReLU()(first, name="act"), name="second")
    join = cl.ReLU()(cl.Add()(second, stem, name="join"), name="joined")
    logits = cl.Linear(4, 3, dtype=np.float64)(cl.GlobalAvgPool2d()(join), name="fc")
    return cl.Graph(x, logits)


@pytest.mark.parametrize("method", ["grad-cam", "grad-cam++"])
def test_cam_of_graph_nodes_by_name_matches_torch(method):
    model = _graph_with_a_shared_layer()
    twin = torch_twin(model).eval()
    x = np.random.default_rng(0).standard_normal((3, 2, 6, 6))
    target = np.array([0, 2, 1])
    # 'second' reuses first's layer: only its own call counts (the twin holds that layer once,
    # as 'first', and the torch hook keeps the module's last call, which is second's);
    # 'join' is a merge node
    results = {}
    for name, twin_name in (("second", "first"), ("join", "join"), ("joined", "joined")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results[name] = class_activation_map(model, x, target, layer=name, method=method)
        heat, weights, sal = _torch_cam(twin, twin_name, x, target, method)
        np.testing.assert_allclose(results[name].weights, weights, atol=1e-12)
        np.testing.assert_allclose(results[name].heatmap, heat, atol=1e-12)
        assert results[name].layer == name and np.abs(weights).max() > 1e-4
    np.testing.assert_allclose(saliency_map(model, x, target), sal, atol=1e-12)
    first = class_activation_map(model, x, target, layer="first", method=method)
    np.testing.assert_array_equal(first.activations, model.node("first").layer(
        np.maximum(model.node("stem").layer(x), 0)))
    assert not np.allclose(first.activations, results["second"].activations)


def test_the_default_layer_of_a_graph_is_its_last_convolution_call_in_forward_order():
    # conv serves 'first' and then 'second': named_modules lists it once, as 'first', but the
    # convolution nearest the output is its call at 'second'
    model = _graph_with_a_shared_layer()
    assert [name for name, _ in model.named_modules() if isinstance(_, cl.Conv2d)] == ["stem", "first"]
    name, layer = resolve_layer(model)
    assert name == "second" and layer is model.node("second").layer
    x = np.random.default_rng(1).standard_normal((2, 2, 6, 6))
    target = np.array([1, 0])
    default = class_activation_map(model, x, target)
    chosen = class_activation_map(model, x, target, layer="second")
    assert default.layer == "second"
    np.testing.assert_array_equal(default.heatmap, chosen.heatmap)
    assert not np.allclose(default.activations,
                           class_activation_map(model, x, target, layer="first").activations)
