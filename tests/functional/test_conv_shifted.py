"""convlens.functional.conv_shifted: convolution as one product per tap on shifted views.

Checked with the path forced on for every stride-1, one-group geometry (``MIN_CHANNELS = 1``,
no limit on the grid's growth): against the plain-loop reference (the hypothesis search of
test_loops_reference.py), PyTorch (values and every gradient), and the im2col path.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from torch_oracle import check_parity

import convlens as cl
from convlens.functional import conv_shifted
from convlens.functional.conv import ConvCache, conv_backward, conv_forward
from convlens.functional.conv_shifted import ShiftedConvCache, tap_offsets, use_shifted


@pytest.fixture
def forced(monkeypatch):
    monkeypatch.setattr(conv_shifted, "MIN_CHANNELS", 1)
    monkeypatch.setattr(conv_shifted, "MAX_GROWTH", float("inf"))


def test_forced_shifted_conv_equals_the_plain_loops(forced):
    path = Path(__file__).with_name("test_loops_reference.py")
    spec = importlib.util.spec_from_file_location("shifted_loops_reference", path)
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    reference.test_conv_matches_loops()


@pytest.mark.parametrize("layer, shape", [
    (lambda: cl.Conv2d(3, 5, 3, padding=1), (2, 3, 7, 6)),
    (lambda: cl.Conv2d(2, 4, (3, 2), padding=(2, 1), dilation=(2, 1), bias=False), (3, 2, 9, 8)),
    (lambda: cl.Conv1d(4, 3, 5, padding="same", padding_mode="reflect"), (2, 4, 23)),
    (lambda: cl.Conv3d(2, 3, 3, padding=1, padding_mode="circular"), (2, 2, 4, 5, 3)),
    (lambda: cl.Conv2d(3, 4, 2), (1, 3, 5, 5)),                       # no padding
], ids=["conv2d", "dilated", "reflect1d", "circular3d", "valid"])
def test_forced_shifted_layers_match_pytorch(forced, layer, shape):
    cl.manual_seed(0)
    made = layer().to(np.float64)
    x = np.random.default_rng(1).standard_normal(shape)
    made(x)
    assert isinstance(made._cache, ShiftedConvCache)
    check_parity(made, x)


def test_shifted_and_im2col_paths_agree_in_float32():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 32, 16, 16)).astype(np.float32)
    w = rng.standard_normal((8, 32, 3, 3)).astype(np.float32)
    b = rng.standard_normal(8).astype(np.float32)
    y, cache = conv_forward(x, w, b, padding=1)
    assert isinstance(cache, ShiftedConvCache)  # 32 channels, 18²/16² = 1.27: picked
    dy = rng.standard_normal(y.shape).astype(np.float32)
    grads = conv_backward(dy, cache)
    conv_shifted_min = conv_shifted.MIN_CHANNELS
    try:
        conv_shifted.MIN_CHANNELS = 10**9
        y_ref, cache_ref = conv_forward(x, w, b, padding=1)
        assert isinstance(cache_ref, ConvCache)
        grads_ref = conv_backward(dy, cache_ref)
    finally:
        conv_shifted.MIN_CHANNELS = conv_shifted_min
    assert y.dtype == np.float32 and all(g.dtype == np.float32 for g in grads)
    np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-4)
    for got, want in zip(grads, grads_ref, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3)


def test_tap_offsets_walk_the_padded_grid():
    # a 2×3 kernel with dilation (1, 2) on a padded 5×7 grid: rows are 7 apart
    assert tap_offsets((2, 3), (1, 2), (5, 7)) == (0, 2, 4, 7, 9, 11)


def test_the_path_is_chosen_by_channels_stride_groups_and_grid_growth():
    def pick(x, w, groups=1, stride=(1, 1), pads=((1, 1), (1, 1)), out=(32, 32)):
        return use_shifted(x, w, groups, stride, pads, out)

    assert pick((8, 64, 32, 32), (64, 64, 3, 3))
    assert not pick((8, 3, 32, 32), (64, 3, 3, 3))                        # few input channels
    assert not pick((8, 64, 32, 32), (64, 64, 3, 3), stride=(2, 2))
    assert not pick((8, 64, 32, 32), (64, 32, 3, 3), groups=2)
    assert not pick((8, 64, 4, 4), (64, 64, 3, 3), out=(4, 4))             # 6²/4² = 2.25× the grid
    assert not pick((8, 64, 32, 32), (64, 64, 1, 1), pads=((0, 0), (0, 0)))  # 1×1: one product
