"""``pad`` equals ``torch.nn.functional.pad`` in every mode; ``pad_backward`` is its adjoint
(equal to torch's autograd of ``F.pad``)."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
import torch.nn.functional as F
from torch_oracle import tensor, torch_pad_arg

from convlens.functional.padding import check_padding_mode, pad, pad_backward

TORCH_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate",
              "circular": "circular"}
SHAPES = {1: (2, 3, 6), 2: (2, 3, 5, 4), 3: (1, 2, 4, 5, 3)}
PADS = {1: [((2, 0),), ((1, 3),)], 2: [((0, 2), (1, 1)), ((3, 0), (2, 3))],
        3: [((1, 0), (0, 2), (2, 2)), ((0, 0), (1, 0), (0, 1))]}


@pytest.mark.parametrize("mode, nd, which", list(itertools.product(TORCH_MODE, [1, 2, 3], [0, 1])))
def test_pad_and_its_backward_equal_torch(mode, nd, which):
    pads = PADS[nd][which]
    rng = np.random.default_rng(0)
    x = rng.standard_normal(SHAPES[nd])
    xt = tensor(x, requires_grad=True)
    yt = F.pad(xt, torch_pad_arg(pads), mode=TORCH_MODE[mode])
    y = pad(x, pads, mode)
    np.testing.assert_array_equal(y, yt.detach().numpy())
    dy = rng.standard_normal(y.shape)
    yt.backward(tensor(dy))
    np.testing.assert_allclose(pad_backward(dy, pads, mode), xt.grad.numpy(), rtol=1e-14,
                               atol=1e-14)


@pytest.mark.parametrize("mode", TORCH_MODE)
def test_pad_backward_is_the_adjoint(mode):
    """⟨pad(x), g⟩ = ⟨x, pad_backward(g)⟩ for any x, g."""
    rng = np.random.default_rng(1)
    pads = ((2, 1), (0, 3))
    x = rng.standard_normal((2, 2, 4, 5))
    g = rng.standard_normal(pad(x, pads, mode).shape)
    assert np.sum(pad(x, pads, mode) * g) == pytest.approx(np.sum(x * pad_backward(g, pads, mode)),
                                                           rel=1e-12)


def test_constant_value_and_no_padding():
    x = np.ones((1, 1, 2))
    np.testing.assert_array_equal(pad(x, ((1, 0),), value=-np.inf)[0, 0], [-np.inf, 1, 1])
    assert pad(x, ((0, 0),), "reflect") is x
    assert pad_backward(x, ((0, 0),), "circular") is x


def test_mode_limits_match_torch():
    x = np.zeros((1, 1, 3))
    with pytest.raises(ValueError, match=re.escape(
            "reflect padding 3 must be smaller than the input size 3")):
        pad(x, ((0, 3),), "reflect")
    with pytest.raises(ValueError, match=re.escape(
            "circular padding 4 must not exceed the input size 3")):
        pad(x, ((4, 0),), "circular")
    assert pad(x, ((3, 3),), "circular").shape == (1, 1, 9)        # = n is allowed (as torch)
    assert pad(x, ((2, 2),), "reflect").shape == (1, 1, 7)


def test_check_padding_mode():
    assert check_padding_mode("replicate") == "replicate"
    with pytest.raises(ValueError, match=re.escape(
            "padding_mode must be one of ['circular', 'reflect', 'replicate', 'zeros'], "
            "received 'edge'")):
        check_padding_mode("edge")
