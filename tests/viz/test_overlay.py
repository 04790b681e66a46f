"""Drawing helpers: atomic PNG/SVG saving, display scaling, heat maps over 1-D/2-D/3-D inputs."""

from __future__ import annotations

import numpy as np
import pytest

from convlens.viz.overlay import display_scale, new_figure, overlay_heatmap, save_figure


def test_save_figure_writes_png_or_svg_atomically(tmp_path):
    fig = new_figure(2, 2)
    fig.subplots().plot([0, 1], [1, 0])
    png = save_figure(fig, tmp_path / "a.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = save_figure(fig, tmp_path / "b.data", format="svg")
    assert b"<svg" in svg.read_bytes()[:500]
    with pytest.raises(ValueError, match=r"expected a format in \('png', 'svg'\), received 'jpg'"):
        save_figure(fig, tmp_path / "c.jpg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.data"]  # no leftovers


def test_display_scale_keeps_zero_as_no_evidence():
    np.testing.assert_allclose(display_scale(np.array([0.0, 1.0, 4.0])), [0, 0.25, 1])
    np.testing.assert_allclose(display_scale(np.array([2.0, 3.0, 4.0])), [0.5, 0.75, 1])
    np.testing.assert_allclose(display_scale(np.array([-1.0, 0.0, 1.0])), [0, 0.5, 1])
    np.testing.assert_allclose(display_scale(np.array([np.nan, 2.0])), [0, 1])
    np.testing.assert_allclose(display_scale(np.zeros(3)), np.zeros(3))


@pytest.mark.parametrize("shape, panels", [((1, 12), 2), ((1, 6, 5), 1), ((2, 6, 4, 4), 4)])
def test_overlay_draws_the_scaled_map_over_each_input_kind(shape, panels):
    rng = np.random.default_rng(0)
    x, heat = rng.random(shape), rng.random(shape[1:]) * 3
    fig = new_figure(6, 4)
    axes = overlay_heatmap(fig, x, heat, title="t")
    assert len(axes) == panels
    if len(shape) == 3:  # 2-D: the grey input, then the map on top
        np.testing.assert_allclose(axes[0].images[1].get_array(), heat / heat.max())
    if len(shape) == 4:  # 3-D: four evenly spaced depth slices of 6: 0, 2, 3, 5
        assert [ax.get_title() for ax in axes] == ["depth 0", "depth 2", "depth 3", "depth 5"]
        np.testing.assert_allclose(axes[2].images[1].get_array(), heat[3] / heat.max())
    assert any(a.get_label() == "<colorbar>" for a in fig.axes)
    with pytest.raises(ValueError, match="expected a heat map of the input's spatial shape"):
        overlay_heatmap(new_figure(2, 2), x, heat[..., :-1])
