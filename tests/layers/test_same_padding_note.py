"""'same' padding that cannot be split evenly: convlens pads like TensorFlow and says so."""

import re

import numpy as np
import pytest

import convlens as cl


def test_stride_two_explains_the_asymmetric_padding():
    conv = cl.Conv2d(1, 2, 3, stride=2, padding="same")
    with pytest.warns(UserWarning, match=re.escape(
            "Conv2d: padding='same' keeps the output at ⌈n/s⌉ but cannot pad both sides equally: "
            "along height (input 28, kernel 3, stride 2) the total padding (⌈28/2⌉ − 1)·2 + 3 − 28 "
            "= 1 goes 0 before and 1 after; along width (input 28, kernel 3, stride 2) the total "
            "padding (⌈28/2⌉ − 1)·2 + 3 − 28 = 1 goes 0 before and 1 after (TensorFlow's rule: "
            "the extra goes after; PyTorch refuses padding='same' with stride > 1). Pass "
            "padding=((0, 1), (0, 1)) to make this explicit.")):
        y = conv(np.zeros((1, 1, 28, 28), np.float32))
    assert y.shape == (1, 2, 14, 14)


def test_even_kernel_stride_one_mentions_that_pytorch_agrees():
    conv = cl.Conv1d(1, 1, 4, padding="same")
    with pytest.warns(UserWarning, match=r"goes 1 before and 2 after .*PyTorch pads the same way"):
        assert conv(np.zeros((1, 1, 10), np.float32)).shape == (1, 1, 10)


def test_even_split_is_silent(recwarn):
    cl.Conv2d(1, 2, 3, padding="same")(np.zeros((1, 1, 28, 28), np.float32))
    cl.Conv2d(1, 2, 4, stride=2, padding="same")(np.zeros((1, 1, 28, 28), np.float32))
    assert not [w for w in recwarn if "padding='same'" in str(w.message)]
