"""The pictures a learner reads: titles inside the figure and apart from each other, filter gaps
in a colour no weight takes, no empty tiles or axes, the input beside its feature maps, and a
one-epoch curve that shows its point."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from matplotlib import colormaps
from matplotlib.colors import to_rgb

import convlens as cl
from convlens.data.fashion_mnist import CLASS_NAMES as FASHION
from convlens.viz import (
    history_figure,
    plot_confusion_matrix,
    plot_feature_maps,
    plot_filters,
    plot_grad_cam,
    plot_misclassified,
    plot_saliency,
    plot_seed003,
)
from convlens.viz.filters import SEPARATOR, filter_mosaic


def _titles(fig):
    """The figure's title and every axes title that holds text."""
    texts = [fig._suptitle] if fig._suptitle is not None else []
    for ax in fig.axes:
        texts += [t for t in (ax.title, ax._left_title, ax._right_title) if t.get_text()]
    return texts


def assert_titles_readable(fig):
    """Every title lies inside the figure and no two titles overlap."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    width, height = fig.bbox.width, fig.bbox.height
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in _titles(fig)]
    assert boxes
    for text, box in boxes:
        assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= width and box.y1 <= height, f"{text!r} is cut"
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        assert not box_a.overlaps(box_b), f"titles {a!r} and {b!r} overlap"


def _model():
    cl.manual_seed(0)
    return cl.Sequential(cl.Conv2d(1, 6, 5, padding=2), cl.ReLU(), cl.MaxPool2d(2), cl.Conv2d(6, 13, 5),
                         cl.ReLU(), cl.MaxPool2d(2), cl.Flatten(), cl.Linear(13 * 25, 10))


def _examples(n=60):
    return np.random.default_rng(0).random((n, 1, 28, 28)).astype(np.float32)


def test_misclassified_fashion_names_never_overlap_or_get_cut():
    x = _examples()
    y_true = np.arange(60) % 10
    y_pred = (y_true + 1 + np.arange(60) % 3) % 10  # every example wrong, all name pairs
    fig = plot_misclassified(x, y_true, y_pred, FASHION, max_examples=18)
    assert_titles_readable(fig)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0] == "#0: pred Trouser\ntrue T-shirt/top"  # long names: two lines
    assert all(ax.images for ax in fig.axes)  # no empty axes after the last example
    fig = plot_misclassified(x, y_true, y_pred, [str(i) for i in range(10)], max_examples=13)
    assert_titles_readable(fig)
    assert len(fig.axes) == 13 and fig.axes[0].get_title() == "#0: pred 1, true 0"  # short: one line


def test_every_readme_figure_keeps_its_titles_apart_and_inside():
    model = _model()
    x = _examples(1)[0]
    history = cl.History(val_name="test")
    history.record({"loss": 1.2, "accuracy": 0.6}, {"loss": 0.3, "accuracy": 0.92}, 1.0)
    cm = np.random.default_rng(1).integers(0, 50, (10, 10))
    maps = cl.viz.feature_maps(model, x, "0")["0"]
    with warnings.catch_warnings():  # an untrained model's Grad-CAM may warn; the layout is the point
        warnings.simplefilter("ignore")
        figures = {
            "filters 0": plot_filters(model[0], "0"),
            "filters 3": plot_filters(model[3], "3"),
            "feature maps": plot_feature_maps(maps, "test example 8 (class Ankle boot): layer 0 (Conv2d): "
                                              "6 maps of 28×28", x=x),
            "curves": history_figure(history, "lenet5 on fashion-mnist"),
            "confusion": plot_confusion_matrix(cm, FASHION, title="lenet5 on fashion-mnist, 500 test "
                                               "examples: accuracy 20.00%"),
            "seed003": plot_seed003(x, label="Ankle boot"),
            "grad-cam": plot_grad_cam(model, x, label=9, class_names=FASHION),
            "saliency": plot_saliency(model, x, label=9, class_names=FASHION),
        }
    for name, fig in figures.items():
        try:
            assert_titles_readable(fig)
        except AssertionError as err:
            raise AssertionError(f"{name}: {err}") from None


def test_filter_gaps_have_a_colour_no_weight_can_take():
    cl.manual_seed(2)
    conv = cl.Conv2d(1, 6, 5)
    fig = plot_filters(conv)
    image = fig.axes[0].images[0]
    bad = image.cmap.get_bad()
    assert bad[:3] == pytest.approx(to_rgb(SEPARATOR)) and bad[3] == 1.0
    weights = image.cmap(np.linspace(0, 1, 256))[:, :3]  # every colour of the weight scale
    assert np.abs(weights - np.asarray(to_rgb(SEPARATOR))).max(axis=1).min() > 0.15
    assert image.cmap.name.startswith("gray") and np.allclose(weights, weights[:, :1])  # greys only
    # the rendered picture: the gap columns are the separator, the tiles are grey
    rgba = image.to_rgba(np.ma.masked_invalid(filter_mosaic(conv) * np.abs(conv.weight.data).max()))
    assert np.allclose(rgba[:, 5, :3], to_rgb(SEPARATOR)) and np.allclose(rgba[:, :5, 0], rgba[:, :5, 1])
    assert colormaps["gray"].get_bad()[3] == 0.0  # the shared colormap was not changed


def test_filter_grid_draws_no_empty_tiles_or_axes():
    cl.manual_seed(3)
    fig = plot_filters(cl.Conv2d(1, 13, 3))  # 13 filters: 8 + 5, three tiles unused
    ax, colorbar = fig.axes
    assert colorbar.get_label() == "<colorbar>" and ax.images
    alpha = np.asarray(ax.images[0].get_alpha())
    mosaic = filter_mosaic(cl.Conv2d(1, 13, 3), ncols=8)
    assert alpha.shape == mosaic.shape
    assert (alpha[4:, 4 * 4 + 3:] == 0).all()  # from the gap after filter 12 to the right edge
    assert (alpha[:3] == 1).all() and (alpha[4:, :4 * 4 + 3] == 1).all()
    # tiles per row fill the rows when a divisor allows it: 16 filters, 2 rows of 8; 20: 4 of 5
    assert np.asarray(plot_filters(cl.Conv2d(1, 16, 3)).axes[0].images[0].get_alpha()).min() == 1
    assert plot_filters(cl.Conv2d(1, 20, 3)).axes[0].get_xticks().size == 5
    rgb = plot_filters(cl.Conv2d(3, 5, 3))  # colour kernels: any colour is a weight, gaps hatched
    rgba = rgb.axes[0].images[0].get_array()
    assert rgb.axes[0].patch.get_hatch() and (rgba[:, 3, 3] == 0).all() and (rgba[:, :3, 3] == 1).all()


def test_feature_maps_show_the_input_beside_them():
    model = _model()
    x = _examples(1)[0]
    maps = cl.viz.feature_maps(model, x, "0")["0"]
    fig = plot_feature_maps(maps, "maps", x=x)
    (input_ax,) = [ax for ax in fig.axes if ax.get_title() == "input 28×28"]
    np.testing.assert_array_equal(input_ax.images[0].get_array(), x[0])
    maps_ax = next(ax for ax in fig.axes if ax.texts)
    assert input_ax.get_position().x1 < maps_ax.get_position().x0  # on the left
    signal = np.random.default_rng(4).standard_normal((1, 30))
    fig = plot_feature_maps(np.zeros((3, 30)), "1-D", x=signal)
    (line,) = fig.axes[0].lines
    np.testing.assert_array_equal(line.get_ydata(), signal[0])
    assert fig.axes[0].get_position().y0 > fig.axes[1].get_position().y1  # above the maps


def test_a_one_epoch_curve_shows_its_point_on_sensible_axes():
    history = cl.History(val_name="test")
    history.record({"loss": 0.31234, "accuracy": 0.9123}, {"loss": 0.25, "accuracy": 0.93}, 1.0)
    fig = history_figure(history)
    loss_ax, acc_ax = fig.axes[:2]
    for ax in (loss_ax, acc_ax):
        assert ax.get_xlim() == (0.5, 1.5) and list(ax.get_xticks()) == [1]
        for line in ax.lines:
            assert len(line.get_xdata()) == 1 and line.get_marker() not in (None, "", "None")
            assert line.get_markersize() >= 8
    assert loss_ax.get_ylim()[0] == 0 and acc_ax.get_ylim() == (0, 100)
    assert [t.get_text() for t in acc_ax.get_legend().get_texts()] == ["train: 91.23 %", "test: 93.00 %"]
    assert [t.get_text() for t in loss_ax.get_legend().get_texts()] == ["train: 0.3123", "test: 0.2500"]
    history.record({"loss": 0.2, "accuracy": 0.95}, {"loss": 0.2, "accuracy": 0.94}, 1.0)
    acc_ax = history_figure(history).axes[1]
    low, high = acc_ax.get_ylim()
    assert 0 < low < 91.23 and 95 < high <= 100  # two epochs: zoomed on the values, within 0–100
