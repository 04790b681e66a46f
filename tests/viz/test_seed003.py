"""Seed 003's figure: three edge maps of a real MNIST digit, 26×26 without padding, 28×28 with."""

from __future__ import annotations

import numpy as np
import pytest

from convlens.viz.seed003 import (
    EDGE_KERNELS,
    mnist_digit,
    plot_seed003,
    seed003_conv,
    seed003_feature_maps,
)


def _direct_correlation(image: np.ndarray, kernel: np.ndarray, padding: int) -> np.ndarray:
    """map[i, j] = Σ_ab kernel[a, b]·padded[i + a, j + b], with plain loops."""
    padded = np.pad(image.astype(np.float64), padding)
    n = padded.shape[0] - 2
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            out[i, j] = sum(kernel[a, b] * padded[i + a, j + b] for a in range(3) for b in range(3))
    return out


@pytest.fixture(scope="module")
def digit():
    image, label = mnist_digit()
    return image, label


def test_the_digit_is_a_real_mnist_five(digit):
    image, label = digit
    assert label == 5 and image.shape == (1, 28, 28)
    assert image.min() == 0.0 and image.max() == 1.0 and 0.05 < (image > 0.5).mean() < 0.4


def test_maps_have_seed_003_shapes_and_equal_a_direct_convolution(digit):
    image, _ = digit
    no_pad, pad = seed003_feature_maps(image)
    assert no_pad.shape == (3, 26, 26)  # 28 − 3 + 1
    assert pad.shape == (3, 28, 28)     # 28 + 2·1 − 3 + 1
    for k, kernel in enumerate(EDGE_KERNELS.values()):
        np.testing.assert_allclose(no_pad[k], _direct_correlation(image[0], kernel, 0), atol=1e-5)
        np.testing.assert_allclose(pad[k], _direct_correlation(image[0], kernel, 1), atol=1e-5)
    # padding only adds a border: the inside of the padded map is the unpadded map
    np.testing.assert_allclose(pad[:, 1:-1, 1:-1], no_pad)
    assert np.abs(no_pad).max() > 1  # the digit's strokes give strong edges


def test_the_kernels_are_the_documented_edge_detectors():
    assert list(EDGE_KERNELS) == ["vertical edge", "horizontal edge", "diagonal edge"]
    np.testing.assert_array_equal(EDGE_KERNELS["vertical edge"], [[-1, 0, 1]] * 3)
    np.testing.assert_array_equal(EDGE_KERNELS["horizontal edge"], EDGE_KERNELS["vertical edge"].T)
    step = np.zeros((5, 5))
    step[:, 3:] = 1.0  # dark on the left, bright on the right: a vertical edge
    maps, _ = seed003_feature_maps(step)
    assert maps[0].max() == 3 and not maps[1].any()  # seen by the vertical, not the horizontal
    conv = seed003_conv(1)
    assert conv.padding == ((1, 1), (1, 1)) and conv.bias is None


def test_figure_reproduces_the_seed_layout(digit):
    image, label = digit
    fig = plot_seed003(image, label)
    no_pad, pad = seed003_feature_maps(image)
    titles = {ax.get_title(): ax for ax in fig.axes}
    for i, name in enumerate(EDGE_KERNELS):
        top = titles[f"[No Pad] Map {i + 1}: {name}\n26×26 (padding=0)"]
        bottom = titles[f"[Pad] Map {i + 1}: {name}\n28×28 (padding=1)"]
        np.testing.assert_array_equal(top.images[0].get_array(), no_pad[i])
        np.testing.assert_array_equal(bottom.images[0].get_array(), pad[i])
        assert top.images[0].get_cmap().name == "gray"
    assert "input 28×28 (digit 5)" in titles
    assert sum(a.get_label() == "<colorbar>" for a in fig.axes) == 2
