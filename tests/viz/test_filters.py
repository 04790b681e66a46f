"""Filter mosaics: every tile is the right kernel, normalized by the layer's max |w|."""

from __future__ import annotations

import numpy as np
import pytest

import convlens as cl
from convlens.viz.filters import (
    filter_mosaic,
    model_filters,
    mosaic_geometry,
    plot_filters,
    plot_model_filters,
)


def _tile(mosaic, row, col, th, tw, gap=1):
    return mosaic[row * (th + gap): row * (th + gap) + th, col * (tw + gap): col * (tw + gap) + tw]


def test_first_layer_grid_holds_each_filter_as_an_image():
    cl.manual_seed(0)
    conv = cl.Conv2d(1, 10, kernel_size=(3, 4))
    w = conv.weight.data.astype(np.float64)
    mosaic = filter_mosaic(conv, ncols=4)  # 10 filters: rows of 4, 4, 2
    assert mosaic.shape == (3 * 3 + 2, 4 * 4 + 3)
    scale = np.abs(w).max()
    for f in range(10):
        r, c = divmod(f, 4)
        np.testing.assert_allclose(_tile(mosaic, r, c, 3, 4), w[f, 0] / scale)
    assert np.nanmax(np.abs(mosaic)) == pytest.approx(1.0)
    # gaps and the unused cells of the last row are blank (NaN)
    assert np.isnan(mosaic[3, :]).all() and np.isnan(mosaic[:, 4]).all()
    assert np.isnan(_tile(mosaic, 2, 2, 3, 4)).all() and np.isnan(_tile(mosaic, 2, 3, 3, 4)).all()
    assert np.isfinite(mosaic).sum() == w.size


def test_deeper_layer_has_one_row_per_filter_and_one_column_per_input_channel():
    cl.manual_seed(1)
    conv = cl.Conv2d(3, 5, kernel_size=3)
    conv.weight.data[2, 1] *= 10  # the largest weight sets the scale of the whole layer
    w = conv.weight.data.astype(np.float64)
    mosaic = filter_mosaic(conv, layout="channels")
    assert mosaic.shape == (5 * 3 + 4, 3 * 3 + 2)
    for f in range(5):
        for c in range(3):
            np.testing.assert_allclose(_tile(mosaic, f, c, 3, 3), w[f, c] / np.abs(w).max())
    np.testing.assert_allclose(filter_mosaic(conv, layout="channels", normalize=False)[:3, :3], w[0, 0])


def test_default_layout_and_rgb_first_layer():
    cl.manual_seed(2)
    rgb = cl.Conv2d(3, 4, kernel_size=2)
    w = rgb.weight.data.astype(np.float64) / np.abs(rgb.weight.data).max()
    mosaic = filter_mosaic(rgb)  # 3 input channels in 2-D: colour tiles
    assert mosaic.shape == (2, 4 * 2 + 3, 3)
    np.testing.assert_allclose(_tile(mosaic, 0, 1, 2, 2), (w[1].transpose(1, 2, 0) + 1) / 2)
    assert filter_mosaic(cl.Conv2d(4, 2, 3)).shape == (2 * 3 + 1, 4 * 3 + 3)  # channels layout
    with pytest.raises(ValueError, match="1 input channel .* these have 4: use layout='channels'"):
        filter_mosaic(cl.Conv2d(4, 2, 3), layout="grid")


def test_1d_strips_and_3d_depth_slices():
    cl.manual_seed(3)
    conv1 = cl.Conv1d(2, 3, kernel_size=5)
    m1 = filter_mosaic(conv1)
    w1 = conv1.weight.data / np.abs(conv1.weight.data).max()
    assert m1.shape == (3 + 2, 2 * 5 + 1)
    np.testing.assert_allclose(m1[4, 6:11], w1[2, 1])

    conv3 = cl.Conv3d(1, 2, kernel_size=(2, 3, 4))
    m3 = filter_mosaic(conv3)
    w3 = conv3.weight.data / np.abs(conv3.weight.data).max()
    assert mosaic_geometry(conv3.weight.shape, "grid") == (1, 2, 3, 2 * 4 + 1)
    tile = _tile(m3, 0, 1, 3, 9)  # filter 1: depth slice 0, a blank column, depth slice 1
    np.testing.assert_allclose(tile[:, :4], w3[1, 0, 0])
    np.testing.assert_allclose(tile[:, 5:], w3[1, 0, 1])
    assert np.isnan(tile[:, 4]).all()


def test_plot_shows_the_mosaic_in_weight_units_with_a_colorbar():
    cl.manual_seed(4)
    conv = cl.Conv2d(1, 6, kernel_size=5)
    fig = plot_filters(conv, name="0")
    ax = fig.axes[0]
    image = ax.images[0].get_array()
    scale = np.abs(conv.weight.data).max()
    np.testing.assert_allclose(np.ma.filled(image, np.nan), filter_mosaic(conv) * scale, rtol=1e-6)
    assert ax.images[0].get_clim() == pytest.approx((-scale, scale))
    assert ax.get_title().startswith("Conv2d 0: 6 filters of 1×5×5")
    assert any(a.get_label() == "<colorbar>" for a in fig.axes)
    assert ax.get_xlabel() == "filter" and ax.get_yticks().size == 0  # one row: no row numbers
    assert plot_filters(cl.Conv2d(1, 10, 3), ncols=4).axes[0].get_xlabel() == "column"


def test_every_convolution_of_a_model():
    model = cl.models.get_model("lenet5")
    assert list(model_filters(model)) == ["0", "3"]
    np.testing.assert_array_equal(model_filters(model)["3"], model[3].weight.data)
    figures = plot_model_filters(model)
    assert list(figures) == ["0", "3"]
    assert figures["3"].axes[0].get_xlabel() == "input channel"
    assert figures["3"].axes[0].get_ylabel() == "filter (output channel)"
