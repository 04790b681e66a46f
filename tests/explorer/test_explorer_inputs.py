"""What a request sends, turned into the model's input with the model's own preprocessing
(convlens.inference.preprocess): drawings framed like MNIST digits, signals resampled, the
training normalization applied, and the steps said in words."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from convlens.explorer.inputs import InputError, from_image, from_signal, from_upload
from convlens.explorer.models import open_model
from convlens.io.model_info import ModelInfo, Preprocessing


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_drawing_is_framed_like_an_mnist_digit():
    served = open_model("simple_cnn")                        # trained on mnist-5k: framed digits
    canvas = Image.new("L", (280, 280))
    canvas.paste(255, (20, 30, 60, 230))                     # a bar in the top-left corner, 40 × 200
    x, steps = from_image(served, _png(canvas))
    framed = x[0].astype(np.float64)
    rows, _ = np.nonzero(framed > 0.25)
    assert rows.max() - rows.min() + 1 == 20                 # the longer side fills 20 of 28 pixels
    cy = (framed.sum(axis=1) * np.arange(28)).sum() / framed.sum()
    cx = (framed.sum(axis=0) * np.arange(28)).sum() / framed.sum()
    assert abs(cy - 13.5) <= 0.6 and abs(cx - 13.5) <= 0.6
    assert any("centred by its centre of mass in 28×28" in s for s in steps)


def test_a_dark_on_light_colour_picture_is_inverted_to_grey():
    served = open_model("simple_cnn")
    picture = Image.new("RGB", (56, 56), (250, 250, 240))
    picture.paste((10, 20, 200), (24, 8, 32, 48))
    x, steps = from_image(served, _png(picture))
    assert x.shape == (1, 28, 28) and x.dtype == np.float32
    assert x[0, 0, 0] == pytest.approx(0.0, abs=0.05) and x.max() == pytest.approx(1.0)
    assert "converted from colour to grayscale" in steps
    assert any(s.startswith("inverted: the picture has a light background") for s in steps)


def test_signals_are_resampled_and_normalized_as_the_model_was_trained():
    served = open_model("cnn1d")
    served.info = ModelInfo(input_shape=(1, 40), preprocessing=Preprocessing(kind="signals", mean=(1.0,), std=(2.0,)))
    x, steps = from_signal(served, "\n".join(["3"] * 80))
    np.testing.assert_array_equal(x, np.full((1, 40), 1.0, np.float32))    # (3 − 1) / 2
    assert steps == ["resampled from 80 to 40 values (linear interpolation)",
                     "normalized with the training mean 1 and std 2"]
    with pytest.raises(InputError, match="the signal holds 2 values that are not finite numbers"):
        from_signal(served, ",".join(["nan", "1", "inf"]))
    with pytest.raises(InputError, match="received no Content-Type") as caught:
        from_upload(served, "", b"1,2")
    assert caught.value.status == 415
