"""What a request sends, turned into the model's input: drawings framed like MNIST digits,
signals as text, the run's normalization."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from convlens.explorer.inputs import InputError, center_digit, from_image, from_signal, from_upload
from convlens.explorer.models import open_model


def test_a_drawing_is_framed_like_an_mnist_digit():
    canvas = Image.new("L", (280, 280))
    canvas.paste(255, (20, 30, 60, 230))          # a bar in the top-left corner, 40 × 200
    framed = np.asarray(center_digit(canvas, (28, 28)), dtype=np.float64)
    rows, cols = np.nonzero(framed > 0)
    assert rows.max() - rows.min() + 1 == 20        # the longer side fills 20 of 28 pixels
    cy = (framed.sum(axis=1) * np.arange(28)).sum() / framed.sum()
    cx = (framed.sum(axis=0) * np.arange(28)).sum() / framed.sum()
    assert abs(cy - 13.5) <= 0.5 and abs(cx - 13.5) <= 0.5
    blank = np.asarray(center_digit(Image.new("L", (280, 280)), (28, 28)))
    assert blank.shape == (28, 28) and blank.max() == 0


def test_rgb_pictures_for_grey_models_become_luminance():
    served = open_model("simple_cnn")
    buffer = io.BytesIO()
    Image.new("RGB", (56, 56), (255, 255, 255)).save(buffer, format="PNG")
    x = from_image(served, buffer.getvalue())
    assert x.shape == (1, 28, 28) and x.dtype == np.float32 and np.allclose(x, 1.0)


def test_signals_and_the_runs_normalization():
    served = open_model("cnn1d")
    served.config = {"normalize": True, "normalization": {"mean": [1.0], "std": [2.0]}}
    x = from_signal(served, "\n".join(["3"] * 40))
    np.testing.assert_array_equal(x, np.full((1, 40), 1.0, np.float32))    # (3 − 1) / 2
    with pytest.raises(InputError, match=r"expected 40 finite numbers .* received 41"):
        from_signal(served, ",".join(["1"] * 41))
    with pytest.raises(InputError, match="received 40") as caught:
        from_signal(served, ",".join(["nan"] * 40))
    assert caught.value.status == 400
    with pytest.raises(InputError, match="received no Content-Type") as caught:
        from_upload(served, "", b"1,2")
    assert caught.value.status == 415
