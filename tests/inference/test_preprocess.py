"""Converting pictures, signals and text the way a model's training data was made."""

import numpy as np
import pytest
from PIL import Image

from convlens.inference.preprocess import (
    InputError,
    open_image,
    prepare_image,
    prepare_signal,
    prepare_text,
    read_signals,
)
from convlens.io.model_info import Preprocessing

DIGITS = Preprocessing(kind="images", channels=1, size=(28, 28), value_range=(0.0, 1.0),
                       polarity="light-on-dark")


def _stroke(size=56):
    """A dark bar on a light background, as uint8 (H, W)."""
    pixels = np.full((size, size), 255, np.uint8)
    pixels[size // 4: 3 * size // 4, size // 2 - 4: size // 2 + 4] = 0
    return pixels


def _modes():
    gray = _stroke()
    yield "L", Image.fromarray(gray)
    yield "RGB", Image.fromarray(np.stack([gray] * 3, axis=2))
    yield "P", Image.fromarray(np.stack([gray] * 3, axis=2)).convert("P")
    rgba = np.zeros((*gray.shape, 4), np.uint8)
    rgba[..., 3] = 255 - gray  # black ink on a transparent background
    yield "RGBA", Image.fromarray(rgba)
    yield "LA", Image.fromarray(np.stack([gray, np.full_like(gray, 255)], axis=2))
    yield "I;16", Image.fromarray(gray.astype(np.uint16) * 257)
    yield "1", Image.fromarray(gray > 127).convert("1")


def test_every_picture_mode_gives_the_same_input():
    reference, _ = prepare_image(Image.fromarray(_stroke()), DIGITS, (1, 28, 28))
    assert reference.shape == (1, 28, 28) and reference.dtype == np.float32
    assert reference[0, 14, 14] > 0.9 and reference[0, 2, 2] == 0  # inverted: light on dark
    for mode, image in _modes():
        assert image.mode == mode
        x, steps = prepare_image(image, DIGITS, (1, 28, 28))
        np.testing.assert_allclose(x, reference, atol=0.02, err_msg=mode)
        assert "resized from 56×56 to 28×28" in steps, mode
        assert any(s.startswith("inverted: the picture has a light background and the model was trained on "
                                "light-on-dark pictures") for s in steps), mode
    _, steps = prepare_image(dict(_modes())["RGB"], DIGITS, (1, 28, 28))
    assert steps[0] == "converted from colour to grayscale"
    _, steps = prepare_image(dict(_modes())["RGBA"], DIGITS, (1, 28, 28))
    assert steps[0] == "transparent pixels filled with white (the drawing is dark)"
    _, steps = prepare_image(dict(_modes())["I;16"], DIGITS, (1, 28, 28))
    assert steps[0] == "16-bit grayscale scaled to [0, 1]"


def test_normalization_channels_and_polarity_follow_the_training_data():
    pre = Preprocessing(kind="images", channels=3, size=(28, 28), mean=(0.5, 0.4, 0.3), std=(0.25, 0.2, 0.1))
    gray = Image.fromarray(_stroke(28))
    x, steps = prepare_image(gray, pre, (3, 28, 28))
    assert steps == ["grayscale repeated into 3 channels",
                     "normalized with the training mean (0.5, 0.4, 0.3) and std (0.25, 0.2, 0.1)"]
    np.testing.assert_allclose(x[:, 0, 0], [(1 - 0.5) / 0.25, (1 - 0.4) / 0.2, (1 - 0.3) / 0.1], rtol=1e-6)
    # no polarity recorded (photos): never inverted; a picture that needs nothing says so
    x, steps = prepare_image(gray, DIGITS.__class__(kind="images", channels=1, size=(28, 28)), (1, 28, 28))
    assert x[0, 0, 0] == 1.0 and steps == ["used as it is: 28×28, grayscale"]
    dark_on_light = Preprocessing(kind="images", channels=1, size=(28, 28), polarity="dark-on-light")
    inverted = Image.fromarray(255 - _stroke(28))
    x, steps = prepare_image(inverted, dark_on_light, (1, 28, 28))
    assert x[0, 0, 0] == 1.0 and steps[0].startswith("inverted: the picture has a dark background")


def test_mnist_framing_crops_fits_into_20_and_centres_the_mass():
    pre = Preprocessing(kind="images", channels=1, size=(28, 28), polarity="light-on-dark", framing="mnist")
    canvas = np.zeros((100, 200), np.uint8)
    canvas[5:45, 10:20] = 255  # a small bar in the top left corner of a wide picture
    x, steps = prepare_image(Image.fromarray(canvas), pre, (1, 28, 28))
    ink = x[0] > 0.1
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    assert rows[-1] - rows[0] + 1 <= 21 and cols[-1] - cols[0] + 1 <= 7
    total = x[0].sum()
    cy = (x[0].sum(axis=1) @ np.arange(28)) / total
    cx = (x[0].sum(axis=0) @ np.arange(28)) / total
    assert abs(cy - 13.5) <= 1 and abs(cx - 13.5) <= 1
    assert steps == ["cropped to the drawing (10×40 of 200×100), scaled into 20×20 and centred by its centre of "
                     "mass in 28×28, as MNIST digits are"]


def test_bad_files_say_what_is_wrong(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("hello")
    with pytest.raises(InputError, match=r"is not an image \(Pillow reads PNG, JPEG"):
        open_image(text)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match=r"is empty \(0 bytes\)"):
        open_image(empty)
    good = tmp_path / "good.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)).save(good)
    cut = tmp_path / "cut.png"
    cut.write_bytes(good.read_bytes()[:300])
    with pytest.raises(InputError, match=r"is truncated or damaged"):
        open_image(cut)
    with pytest.raises(InputError, match=r"is 64×64 = 4,096 pixels, over the limit of 1,000 \(a decompression "
                                         r"bomb\?\); it was not decoded"):
        open_image(good, max_pixels=1000)


def test_a_decompression_bomb_is_refused_before_it_is_decoded(tmp_path):
    bomb = tmp_path / "bomb.png"
    Image.new("1", (10_000, 6_000)).save(bomb)  # 60 million pixels in a few kilobytes
    assert bomb.stat().st_size < 100_000
    with pytest.raises(InputError, match=r"is 10000×6000 = 60,000,000 pixels, over the limit of 50,000,000"):
        open_image(bomb)


def test_signals_are_read_resampled_and_normalized(tmp_path):
    pre = Preprocessing(kind="signals", channels=1, size=(8,), mean=(1.0,), std=(2.0,))
    csv = tmp_path / "beats.csv"
    csv.write_text("t0,t1,t2,t3\n0,1,2,3\n1,1,1,1,1,1,1,1,1\n")
    signals = read_signals(csv)
    assert [name for name, _ in signals] == [f"{csv}:2", f"{csv}:3"]
    x, steps = prepare_signal(signals[0][1], pre, (1, 8))
    np.testing.assert_allclose(x[0], (np.linspace(0, 3, 8) - 1) / 2, rtol=1e-6)
    assert steps == ["resampled from 4 to 8 values (linear interpolation)",
                     "normalized with the training mean 1 and std 2"]
    _, steps = prepare_signal(signals[1][1], pre, (1, 8))
    assert steps[0] == "9 values: the last one taken as a label and left out"
    npy = tmp_path / "beat.npy"
    np.save(npy, np.arange(8.0)[None])
    x, _ = prepare_signal(read_signals(npy)[0][1], pre, (1, 8))
    np.testing.assert_allclose(x[0], (np.arange(8.0) - 1) / 2)
    with pytest.raises(InputError, match=r"has shape \(3, 8\); the model takes 1 channel\(s\) of 8 values"):
        prepare_signal(np.zeros((3, 8)), pre, (1, 8))
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2,3\n4,x,6\n")
    with pytest.raises(InputError, match=r"line 2: expected numbers separated by commas, received '4,x,6'"):
        read_signals(bad)


def test_text_is_encoded_with_the_training_vocabulary():
    pre = Preprocessing(kind="tokens", tokens="chars", lowercase=True, length=6,
                        vocabulary=("<pad>", "<unk>", "a", "b", "c"))
    ids, steps = prepare_text("AbcZ", pre)
    assert ids.tolist() == [2, 3, 4, 1, 0, 0]
    assert steps == ["lowercased", "4 characters as token ids, padded to 6; 1 not in the training vocabulary (<unk>)"]
    ids, steps = prepare_text("abcabcabc", pre)
    assert ids.tolist() == [2, 3, 4, 2, 3, 4] and steps == ["9 characters as token ids, cut to the first 6"]


def test_the_stroke_width_of_a_drawing_is_estimated_from_its_area_and_outline():
    from convlens.inference.preprocess import _dilate, _stroke_width

    ink = np.zeros((200, 200), bool)
    ink[20:180, 50:56] = True  # a 6-pixel stroke
    ink[100:106, 56:150] = True  # and a 6-pixel bar across
    assert 5.0 <= _stroke_width(ink) <= 7.0
    dot = np.zeros((9, 9))
    dot[4, 4] = 1.0
    assert _dilate(dot, 2).tolist() == np.pad(np.ones((5, 5)), 2).tolist()
