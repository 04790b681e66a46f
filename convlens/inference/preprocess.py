"""Turn a picture, a signal or a line of text into the input a trained model expects.

The model's :class:`~convlens.io.model_info.Preprocessing` says how its training data was
made; each function here repeats those steps on one new input and returns the array with the
list of what it did, in words, so a person can check it::

    resized from 400×400 to 28×28
    converted from colour to grayscale
    inverted: the picture has a light background and the model was trained on light-on-dark
    pictures
    normalized with the training mean 0.131 and std 0.308

Pictures (any mode Pillow reads: RGB, grayscale, palette, alpha, 16-bit) are read as values in
[0, 1]. Transparent pixels are filled with white when the drawing is dark, black when it is
light. A picture over :data:`MAX_PIXELS` pixels is refused before it is decoded (a
decompression bomb: a small file that unpacks to gigabytes).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from convlens.io.model_info import Preprocessing

#: pictures with more pixels are refused unread (about 7,000 × 7,000)
MAX_PIXELS = 50_000_000
_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
# MNIST's digits: fitted into 20×20, centred by their centre of mass in 28×28
MNIST_BOX, MNIST_FIELD = 20, 28
MNIST_STROKE = 2.0  # pixels: about the width of an MNIST digit's strokes in its 20×20 box


class InputError(ValueError):
    """One input cannot be used (not an image, truncated, empty, too large, wrong length); the
    message says why. ``convlens predict`` reports it and goes on with the other files."""


# -- pictures ---------------------------------------------------------------------------------
def open_image(source: Any, max_pixels: int = MAX_PIXELS) -> Any:
    """A decoded Pillow image from a path or an image; :class:`InputError` says what is wrong."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if isinstance(source, Image.Image):
        return source
    path = Path(source)
    try:
        if path.stat().st_size == 0:
            raise InputError("is empty (0 bytes)")
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)  # reads the header only
            width, height = image.size
            if width * height > max_pixels:
                raise InputError(f"is {width}×{height} = {width * height:,} pixels, over the limit of "
                                 f"{max_pixels:,} (a decompression bomb?); it was not decoded")
            image.load()
    except InputError:
        raise
    except UnidentifiedImageError:
        raise InputError("is not an image (Pillow reads PNG, JPEG, GIF, BMP, TIFF, WebP, …)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise InputError(f"is too large to decode safely ({error})") from None
    except FileNotFoundError:
        raise InputError("does not exist") from None
    except IsADirectoryError:
        raise InputError("is a folder") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise InputError(f"is truncated or damaged: {error}") from None
    return ImageOps.exif_transpose(image) or image


def image_values(image: Any, steps: list[str]) -> np.ndarray:
    """``(H, W, C)`` float64 in [0, 1], C = 1 (grayscale) or 3 (colour); alpha flattened."""
    mode = image.mode
    if mode in _SIXTEEN_BIT:
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") or values.max(initial=0) > 255 else 255.0
        if mode == "F" and values.max(initial=0) <= 1.0:
            top = 1.0
        steps.append(f"{'16-bit' if top == 65535.0 else mode} grayscale scaled to [0, 1]")
        return np.clip(values / top, 0.0, 1.0)[..., None]
    if mode == "P":
        image = image.convert("RGBA")
        steps.append("palette colours expanded")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float64) / 255.0
        colour, alpha = rgba[..., :3], rgba[..., 3:]
        if alpha.min() < 1.0:
            luma = colour @ np.array([0.299, 0.587, 0.114])
            weight = alpha[..., 0]
            ink = float((luma * weight).sum() / max(weight.sum(), 1e-12))
            background, word = ((1.0, "white (the drawing is dark)") if ink < 0.5
                                else (0.0, "black (the drawing is light)"))
            colour = colour * alpha + background * (1.0 - alpha)
            steps.append(f"transparent pixels filled with {word}")
        if image.mode in ("LA", "La"):
            return colour[..., :1]
        return colour
    if mode in ("L", "1"):
        return np.asarray(image.convert("L"), dtype=np.float64)[..., None] / 255.0
    return np.asarray(image.convert("RGB"), dtype=np.float64) / 255.0


def prepare_image(source: Any, pre: Preprocessing, input_shape: tuple[int, ...],
                  max_pixels: int = MAX_PIXELS, dataset: str | None = None) -> tuple[np.ndarray, list[str]]:
    """``(C, H, W)`` float32, converted as the model's training pictures were, and the steps."""
    if len(input_shape) != 3:
        raise InputError(f"the model takes inputs of shape {tuple(input_shape)}, not pictures (C, H, W)")
    channels, height, width = input_shape
    image = open_image(source, max_pixels)
    steps: list[str] = []
    x = image_values(image, steps)
    x = _match_channels(x, channels, steps)
    trained_on = f" ({dataset})" if dataset else ""
    if pre.polarity is not None:
        background = _border_mean(x)
        light = background > 0.5
        if (pre.polarity == "light-on-dark") == light:
            x = 1.0 - x
            what = "light" if light else "dark"
            steps.append(f"inverted: the picture has a {what} background and the model was trained "
                         f"on {pre.polarity} pictures{trained_on}")
    # a picture of exactly 28×28 is taken as framed already (an MNIST digit saved as a file)
    if (pre.framing == "mnist" and (height, width) == (MNIST_FIELD, MNIST_FIELD) and channels == 1
            and x.shape[:2] != (height, width)):
        x = _frame_like_mnist(x[..., 0], steps)[..., None]
    elif x.shape[:2] != (height, width):
        x = _resize(x, height, width)
        stretched = abs(image.size[0] / image.size[1] - width / height) > 0.02 * width / height
        steps.append(f"resized from {image.size[0]}×{image.size[1]} to {width}×{height}"
                     + (" (stretched: the aspect ratio changed)" if stretched else ""))
    if not steps:
        steps.append(f"used as it is: {width}×{height}, {'grayscale' if channels == 1 else 'colour'}"
                     + (f", {pre.polarity}" if pre.polarity else ""))
    x = _value_range(x, pre, steps)
    x = x.transpose(2, 0, 1)
    return normalize(x, pre, steps), steps


def _match_channels(x: np.ndarray, channels: int, steps: list[str]) -> np.ndarray:
    if x.shape[2] == channels:
        return x
    if channels == 1:
        steps.append("converted from colour to grayscale")
        return (x @ np.array([0.299, 0.587, 0.114]))[..., None]  # ITU-R 601-2 luma, as Pillow's "L"
    if channels == 3 and x.shape[2] == 1:
        steps.append("grayscale repeated into 3 channels")
        return np.repeat(x, 3, axis=2)
    raise InputError(f"the model takes {channels} channels; a picture gives 1 (grayscale) or 3 (colour)")


def _border_mean(x: np.ndarray) -> float:
    """Mean brightness of the outermost ring of pixels (the background of a drawing)."""
    gray = x.mean(axis=2)
    ring = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return float(ring.mean())


def _resize(x: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize of ``(h, w, C)`` values (antialiased when shrinking, as Pillow does)."""
    from PIL import Image

    planes = [np.asarray(Image.fromarray(x[..., c].astype(np.float32))
                         .resize((width, height), Image.Resampling.BILINEAR)) for c in range(x.shape[2])]
    return np.stack(planes, axis=2).astype(np.float64)


def _frame_like_mnist(x: np.ndarray, steps: list[str]) -> np.ndarray:
    """Crop to the strokes, fit into 20×20 keeping the aspect ratio, and put the centre of mass
    at the centre of 28×28: the way the MNIST digits were made (LeCun et al.)."""
    h, w = x.shape
    ink = x > 0.25 * x.max() if x.max() > 0 else np.zeros_like(x, dtype=bool)
    if not ink.any():
        steps.append(f"resized from {w}×{h} to 28×28 (the picture is blank)")
        return _resize(x[..., None], MNIST_FIELD, MNIST_FIELD)[..., 0]
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    crop = x[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    scale = MNIST_BOX / max(crop.shape)
    cropped, thickened = crop.shape, ""
    width = _stroke_width(ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])
    if width * scale < MNIST_STROKE:  # a thin pen: thicken the strokes as MNIST's are
        radius = int(np.ceil((MNIST_STROKE / scale - width) / 2))
        crop = _dilate(np.pad(crop, radius), radius)
        scale = MNIST_BOX / max(crop.shape)
        thickened = (f", its strokes thickened from about {width:.0f} to {width + 2 * radius:.0f} pixels "
                     f"(MNIST's are about {MNIST_STROKE:g} pixels wide in 20×20)")
    new_h, new_w = max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale))
    box = np.clip(_resize(crop[..., None], new_h, new_w)[..., 0], 0.0, None)
    if box.max() > 0:
        box = box / box.max()  # thin strokes keep full brightness
    field = np.zeros((MNIST_FIELD, MNIST_FIELD))
    total = box.sum()
    cy = (box.sum(axis=1) @ np.arange(new_h)) / total
    cx = (box.sum(axis=0) @ np.arange(new_w)) / total
    top = int(np.clip(round(MNIST_FIELD / 2 - 0.5 - cy), 0, MNIST_FIELD - new_h))
    left = int(np.clip(round(MNIST_FIELD / 2 - 0.5 - cx), 0, MNIST_FIELD - new_w))
    field[top:top + new_h, left:left + new_w] = box
    steps.append(f"cropped to the drawing ({cropped[1]}×{cropped[0]} of {w}×{h}){thickened}, scaled into "
                 f"{MNIST_BOX}×{MNIST_BOX} and centred by its centre of mass in 28×28, as MNIST digits are")
    return field


def _stroke_width(ink: np.ndarray) -> float:
    """The mean width of the strokes of a binary drawing: twice its area over its perimeter
    (a stroke of length l and width w has area l·w and perimeter about 2·l)."""
    padded = np.pad(ink, 1)
    inner = padded[1:-1, 1:-1]
    edge = inner & ~(padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:])
    return 2.0 * inner.sum() / max(int(edge.sum()), 1)


def _dilate(x: np.ndarray, radius: int) -> np.ndarray:
    """Grey-level dilation with a (2r + 1)² square: the maximum over each window (separable)."""
    for axis in (0, 1):
        padded = np.pad(x, [(radius, radius) if a == axis else (0, 0) for a in (0, 1)])
        n = x.shape[axis]
        x = np.max([np.take(padded, range(k, k + n), axis=axis) for k in range(2 * radius + 1)], axis=0)
    return x


def _value_range(x: np.ndarray, pre: Preprocessing, steps: list[str]) -> np.ndarray:
    if pre.value_range is None or tuple(pre.value_range) == (0.0, 1.0):
        return x
    low, high = pre.value_range
    steps.append(f"scaled to the training range [{low:g}, {high:g}]")
    return low + x * (high - low)


def normalize(x: np.ndarray, pre: Preprocessing, steps: list[str]) -> np.ndarray:
    """``(x − mean) / std`` per channel (axis 0) when the model was trained so; float32."""
    x = np.asarray(x, dtype=np.float64)
    if pre.mean is not None and pre.std is not None:
        shape = (-1,) + (1,) * (x.ndim - 1)
        mean = np.asarray(pre.mean, dtype=np.float64).reshape(shape)
        std = np.asarray(pre.std, dtype=np.float64)
        std = np.where(std > 0, std, 1.0).reshape(shape)
        x = (x - mean) / std
        steps.append(f"normalized with the training mean {_numbers(pre.mean)} and std {_numbers(pre.std)}")
    return x.astype(np.float32)


def _numbers(values: Any) -> str:
    values = list(values)
    text = ", ".join(f"{v:.3g}" for v in values)
    return text if len(values) == 1 else f"({text})"


# -- signals ----------------------------------------------------------------------------------
def read_signals(path: str | os.PathLike[str]) -> list[tuple[str, np.ndarray]]:
    """The signals of a file: an ``.npy`` array (one signal, (L,) or (C, L)) or a CSV / text
    file of numbers, one signal per line (``value, value, …``); each with its name."""
    target = Path(path)
    if target.suffix.lower() == ".npy":
        try:
            values = np.load(target, allow_pickle=False)
        except (OSError, ValueError, EOFError) as error:
            raise InputError(f"is not a readable .npy array: {error}") from None
        if not np.issubdtype(values.dtype, np.number):
            raise InputError(f"holds {values.dtype} values, expected numbers")
        return [(str(target), np.asarray(values, dtype=np.float64))]
    text = _read_text(target)
    signals: list[tuple[str, np.ndarray]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = [f for f in line.replace(",", " ").replace(";", " ").split()]
        try:
            values = np.array([float(f) for f in fields])
        except ValueError:
            if not signals:  # a header line
                continue
            raise InputError(f"line {number}: expected numbers separated by commas, "
                             f"received {line[:60]!r}") from None
        signals.append((f"{target}:{number}" if len(text.splitlines()) > 1 else str(target), values))
    if not signals:
        raise InputError("holds no line of numbers")
    return signals


def prepare_signal(values: np.ndarray, pre: Preprocessing,
                   input_shape: tuple[int, ...]) -> tuple[np.ndarray, list[str]]:
    """``(C, L)`` float32 from a signal of any length: resampled to L, normalized."""
    if len(input_shape) != 2:
        raise InputError(f"the model takes inputs of shape {tuple(input_shape)}, not signals (C, L)")
    channels, length = input_shape
    steps: list[str] = []
    x = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise InputError(f"holds {int(np.sum(~np.isfinite(x)))} values that are not finite numbers")
    if x.ndim == 1 and channels > 1:
        if x.size % channels:
            raise InputError(f"holds {x.size} values; the model takes {channels} channels, so expected a "
                             "multiple of that")
        x = x.reshape(channels, -1)
    x = x.reshape(1, -1) if x.ndim == 1 else x
    if x.ndim != 2 or x.shape[0] != channels:
        raise InputError(f"has shape {x.shape}; the model takes {channels} channel(s) of {length} values")
    if x.shape[1] == length + 1 and channels == 1:
        x = x[:, :-1]
        steps.append(f"{length + 1} values: the last one taken as a label and left out")
    if x.shape[1] != length:
        if x.shape[1] < 2:
            raise InputError(f"holds {x.shape[1]} value(s); the model takes {length}")
        old = np.linspace(0.0, 1.0, x.shape[1])
        new = np.linspace(0.0, 1.0, length)
        steps.append(f"resampled from {x.shape[1]} to {length} values (linear interpolation)")
        x = np.stack([np.interp(new, old, row) for row in x])
    return normalize(x, pre, steps), steps


# -- text -------------------------------------------------------------------------------------
def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("does not exist") from None
    except IsADirectoryError:
        raise InputError("is a folder") from None
    except OSError as error:
        raise InputError(f"cannot be read: {error.strerror or error}") from None
    if not data:
        raise InputError("is empty (0 bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"is not UTF-8 text (byte {error.start})") from None


def read_texts(path: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """Each non-empty line of a UTF-8 text file, with its name (``file:line``)."""
    target = Path(path)
    lines = [(n, line) for n, line in enumerate(_read_text(target).splitlines(), start=1) if line.strip()]
    if not lines:
        raise InputError("holds no line of text")
    return [(f"{target}:{n}" if len(lines) > 1 else str(target), line) for n, line in lines]


def prepare_text(text: str, pre: Preprocessing) -> tuple[np.ndarray, list[str]]:
    """``(L,)`` int64 token ids, encoded as the training texts were."""
    from convlens.data.tokens import encode, tokenize

    if not pre.vocabulary or pre.length is None:
        raise InputError("the model file does not record its vocabulary and sequence length, so text "
                         "cannot be encoded")
    steps: list[str] = []
    if pre.lowercase and text != text.lower():
        text = text.lower()
        steps.append("lowercased")
    by = pre.tokens or "words"
    tokens = tokenize(text.strip(), by)
    ids = encode([tokens], pre.vocabulary, pre.length)[0]
    unit = "characters" if by == "chars" else "words"
    unknown = sum(1 for t in tokens[: pre.length] if t not in set(pre.vocabulary))
    fit = (f"cut to the first {pre.length}" if len(tokens) > pre.length
           else f"padded to {pre.length}" if len(tokens) < pre.length else "")
    steps.append(f"{len(tokens)} {unit} as token ids" + (f", {fit}" if fit else "")
                 + (f"; {unknown} not in the training vocabulary (<unk>)" if unknown else ""))
    return ids, steps
