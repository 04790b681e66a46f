"""Feature maps are exactly the layers' outputs, for plain and nested models."""

from __future__ import annotations

import numpy as np
import pytest

import convlens as cl
from convlens.viz.feature_maps import describe_maps, feature_maps, map_mosaic, plot_feature_maps


def _model():
    cl.manual_seed(0)
    return cl.Sequential(
        cl.Conv2d(1, 4, 3, padding=1), cl.BatchNorm2d(4), cl.ReLU(), cl.Dropout(0.5),
        cl.Residual(cl.Sequential(cl.Conv2d(4, 4, 3, padding=1), cl.ReLU())), cl.MaxPool2d(2),
        cl.Flatten(), cl.Linear(4 * 4 * 4, 3))


def test_maps_equal_the_outputs_of_each_layer():
    model = _model()
    x = np.random.default_rng(0).random((2, 1, 8, 8)).astype(np.float32)
    model.train()
    maps = feature_maps(model, x)
    assert list(maps) == ["0", "1", "2", "3", "4.body.0", "4.body.1", "5"]  # leaves with spatial output
    # by hand, in eval mode (dropout off, batch norm on running statistics)
    model.eval()
    a0 = model[0](x)
    a1 = model[1](a0)
    a2 = model[2](a1)
    b0 = model[4].body[0](a2)
    b1 = model[4].body[1](b0)
    a5 = model[5](a2 + b1)
    for name, expected in (("0", a0), ("1", a1), ("2", a2), ("3", a2), ("4.body.0", b0),
                           ("4.body.1", b1), ("5", a5)):
        np.testing.assert_allclose(maps[name], expected, rtol=1e-6, err_msg=name)


def test_one_example_named_layers_and_modes():
    model = _model()
    model.train()
    model[3].eval()
    modes = [m.training for m in model.modules()]
    x = np.random.default_rng(1).random((1, 8, 8)).astype(np.float32)
    seen = []
    model[3].register_forward_hook(lambda m, i, o: seen.append(m.training))
    maps = feature_maps(model, x, ["5", "4.body.0", "4", "7"])
    assert seen == [False]  # ran in eval mode
    assert [m.training for m in model.modules()] == modes  # and gave every module its mode back
    assert list(maps) == ["4", "4.body.0", "5", "7"]  # model order
    assert maps["4"].shape == (4, 8, 8) and maps["5"].shape == (4, 4, 4) and maps["7"].shape == (3,)
    model.eval()
    np.testing.assert_allclose(maps["7"], model(x[None])[0], rtol=1e-6)
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        feature_maps(model, x, "nope")


def test_mosaic_places_map_k_at_row_k_div_ncols():
    maps = np.random.default_rng(5).standard_normal((6, 3, 4))
    mosaic = map_mosaic(maps, ncols=4)
    assert mosaic.shape == (2 * 3 + 1, 4 * 4 + 3)
    for k in range(6):
        r, c = divmod(k, 4)
        np.testing.assert_array_equal(mosaic[r * 4: r * 4 + 3, c * 5: c * 5 + 4], maps[k])
    assert np.isnan(mosaic[3]).all() and np.isnan(mosaic[4:, 10:]).all()  # gap, unused tiles
    assert np.isfinite(mosaic).sum() == maps.size


def test_plot_draws_every_map_on_one_scale():
    maps = np.random.default_rng(2).standard_normal((6, 5, 7))
    fig = plot_feature_maps(maps, "layer 0 (Conv2d): 6 maps of 5×7", ncols=4)
    ax = fig.axes[0]
    np.testing.assert_array_equal(np.ma.filled(ax.images[0].get_array(), np.nan), map_mosaic(maps, 4))
    assert ax.images[0].get_clim() == pytest.approx((maps.min(), maps.max()))
    assert [t.get_text() for t in ax.texts] == [f"map {i}" for i in range(6)]
    assert any(a.get_label() == "<colorbar>" for a in fig.axes)
    assert fig._suptitle.get_text() == "layer 0 (Conv2d): 6 maps of 5×7"

    fig = plot_feature_maps(np.zeros((40, 3, 3)), "many", max_maps=32)
    assert len(fig.axes[0].texts) == 32 and fig._suptitle.get_text() == "many (first 32 of 40)"


def test_plot_1d_and_3d_maps():
    one_d = np.random.default_rng(3).standard_normal((5, 20))
    fig = plot_feature_maps(one_d, "1-D")
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), one_d)
    assert fig.axes[0].get_xlabel() == "position"
    three_d = np.random.default_rng(4).standard_normal((2, 5, 4, 4))
    fig = plot_feature_maps(three_d, "3-D")
    np.testing.assert_array_equal(np.ma.filled(fig.axes[0].images[0].get_array(), np.nan),
                                  map_mosaic(three_d[:, 2]))
    assert fig._suptitle.get_text() == "3-D, depth slice 2 of 5"


def test_describe_maps():
    conv = cl.Conv2d(1, 6, 5)
    assert describe_maps("0", conv, np.zeros((6, 24, 24))) == "layer 0 (Conv2d): 6 maps of 24×24"


def test_feature_maps_of_a_graph_per_node_shared_layers_included():
    x_in = cl.Input((1, 6, 6), name="image")
    stem = cl.Conv2d(1, 2, 3, padding=1)
    conv = cl.Conv2d(2, 2, 3, padding=1)
    first = conv(stem(x_in, name="stem"), name="first")
    second = conv(cl.ReLU()(first, name="act"), name="second")      # the same layer again
    model = cl.Graph(x_in, cl.Add()(first, second, name="join"))
    x = np.random.default_rng(0).standard_normal((1, 6, 6)).astype(np.float32)
    maps = feature_maps(model, x)
    assert list(maps) == ["stem", "first", "act", "second", "join"]  # the forward order
    h = conv(stem(x[None]))
    np.testing.assert_allclose(maps["first"], h[0], rtol=1e-6)
    np.testing.assert_allclose(maps["second"], conv(np.maximum(h, 0))[0], rtol=1e-6)
    np.testing.assert_allclose(maps["join"], maps["first"] + maps["second"], rtol=1e-6)
    assert list(feature_maps(model, x, "second")) == ["second"]
    assert list(feature_maps(model, x, ["join", "second", "act", "first"])) == ["first", "act", "second", "join"]
