"""Turning what a request sends into one input array of the model's shape, or a clear refusal.

Three ways in, each checked before any work is done:

* ``input``: the array itself, nested lists of numbers of the model's input shape ``(C, *S)``;
* ``image``: a PNG/JPEG/GIF/BMP/WebP picture (a ``data:`` URL or base64, or the raw bytes of an
  upload), converted to the model's channels (grey or RGB), resized to its spatial size and
  scaled to [0, 1], then standardized with the run's ``--normalize`` statistics if it had them.
  With ``center`` (the page's drawings) a grey picture is first framed as MNIST frames its
  digits: the ink's bounding box scaled to fit 20/28 of the side, placed so that its centre of
  mass is the picture's centre (LeCun et al.'s preprocessing of MNIST);
* ``signal``: numbers as text (CSV, spaces or new lines) for a 1-D model, ``C × L`` of them.

Everything that fails raises :class:`InputError` (a ``ValueError``: the API answers 4xx) with
what was expected and what was received. Pictures are limited in bytes (checked by the app on
the request body) and in pixels (here, before decoding: a small file can unpack to a huge image).
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import re
from typing import Any

import numpy as np

from convlens.explorer.models import ServedModel

MAX_PIXELS = 4_000_000          # width × height of an uploaded picture
MAX_VALUES = 1_000_000          # numbers in an ``input`` array or a signal
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/bmp", "image/webp")
SIGNAL_TYPES = ("text/csv", "text/plain")


class InputError(ValueError):
    """An input the model cannot take; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"


def from_array(served: ServedModel, value: Any) -> np.ndarray:
    """``value`` (nested lists) as one input of ``served``'s shape."""
    try:
        x = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"expected 'input' to be nested lists of numbers of shape "
                         f"{_shape_text(served.input_shape)}, received ragged or non-numeric data") from None
    if x.size > MAX_VALUES:
        raise InputError(f"'input' holds {x.size:,} numbers; at most {MAX_VALUES:,} are accepted", 413)
    if x.shape != served.input_shape:
        raise InputError(f"expected 'input' of shape {_shape_text(served.input_shape)} for model "
                         f"{served.name!r}, received shape {_shape_text(x.shape)}")
    if not np.isfinite(x).all():
        raise InputError("'input' holds NaN or infinite values")
    return x.astype(np.float32)


def decode_base64(text: str) -> bytes:
    """The bytes of a ``data:…;base64,`` URL or of plain base64 text."""
    if not isinstance(text, str):
        raise InputError(f"expected 'image' to be a data: URL or base64 text, received {type(text).__name__}")
    body = text.split(",", 1)[1] if text.startswith("data:") else text
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise InputError("'image' is not valid base64 (expected a data: URL such as "
                         "'data:image/png;base64,…' or base64 text)") from None


def center_digit(image: Any, size: tuple[int, int]) -> Any:
    """A grey picture framed like an MNIST digit of ``size`` (H, W): the ink's bounding box
    scaled (aspect kept) to fit 20/28 of the side, then shifted so that the ink's centre of mass
    sits at the centre. A blank picture is only resized."""
    from PIL import Image

    h, w = size
    box = image.getbbox()
    if box is None:
        return image.resize((w, h), Image.Resampling.BILINEAR)
    ink = image.crop(box)
    scale = min(h, w) * 20 / 28 / max(ink.size)
    ink = ink.resize((max(1, round(ink.size[0] * scale)), max(1, round(ink.size[1] * scale))),
                     Image.Resampling.LANCZOS)
    pixels = np.asarray(ink, dtype=np.float64)
    total = pixels.sum() or 1.0
    cy = (pixels.sum(axis=1) * np.arange(pixels.shape[0])).sum() / total
    cx = (pixels.sum(axis=0) * np.arange(pixels.shape[1])).sum() / total
    canvas = Image.new("L", (w, h))
    canvas.paste(ink, (round((w - 1) / 2 - cx), round((h - 1) / 2 - cy)))
    return canvas


def from_image(served: ServedModel, data: bytes, center: bool = False) -> np.ndarray:
    """A picture as the model sees it: its channels, its size, values in [0, 1] (then the run's
    normalization). Grey models get the luminance; 3-channel models RGB. ``center``: frame a
    grey drawing like an MNIST digit (:func:`center_digit`)."""
    from PIL import Image, UnidentifiedImageError

    if served.spatial_dims != 2 or served.input_shape[0] not in (1, 3):
        raise InputError(f"model {served.name!r} takes inputs of shape "
                         f"{_shape_text(served.input_shape)}, not pictures: send 'input' or 'signal'")
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise InputError(f"the picture has {width}×{height} = {width * height:,} pixels; at "
                                 f"most {MAX_PIXELS:,} are accepted", 413)
            mode = "L" if served.input_shape[0] == 1 else "RGB"
            image = image.convert("RGBA").convert(mode) if image.mode in ("P", "LA", "PA") else \
                image.convert(mode)
            h, w = served.input_shape[1:]
            if center and mode == "L":
                resized = center_digit(image, (h, w))
            else:
                resized = image.resize((w, h), Image.Resampling.BILINEAR, reducing_gap=2.0)
            pixels = np.asarray(resized, dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError):
        raise InputError("the data is not a picture convlens can read (expected PNG, JPEG, GIF, "
                         "BMP or WebP)", 415) from None
    x = pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)
    return normalize(served, x)


def normalize(served: ServedModel, x: np.ndarray) -> np.ndarray:
    """Standardize like the run did (``--normalize``), else unchanged."""
    stats = served.normalization()
    if stats is None:
        return x.astype(np.float32)
    mean, std = stats
    extra = (1,) * served.spatial_dims
    return ((x - mean.reshape(-1, *extra)) / std.reshape(-1, *extra)).astype(np.float32)


def from_signal(served: ServedModel, text: str) -> np.ndarray:
    """Numbers in text (commas, spaces, semicolons or new lines) as a 1-D input ``(C, L)``."""
    if served.spatial_dims != 1:
        raise InputError(f"model {served.name!r} takes inputs of shape "
                         f"{_shape_text(served.input_shape)}; signals are for 1-D models")
    if not isinstance(text, str):
        raise InputError(f"expected 'signal' to be text of numbers, received {type(text).__name__}")
    tokens = [t for t in re.split(r"[\s,;]+", text.strip()) if t]
    if len(tokens) > MAX_VALUES:
        raise InputError(f"the signal holds {len(tokens):,} numbers; at most {MAX_VALUES:,} are "
                         "accepted", 413)
    try:
        values = np.array([float(t) for t in tokens], dtype=np.float64)
    except ValueError as err:
        raise InputError(f"the signal must be numbers separated by commas, spaces or new lines: "
                         f"{err}") from None
    need = math.prod(served.input_shape)
    if values.size != need or not np.isfinite(values).all():
        raise InputError(f"expected {need} finite numbers for an input of shape "
                         f"{_shape_text(served.input_shape)}, received {values.size}")
    return normalize(served, values.reshape(served.input_shape))


def from_payload(served: ServedModel, body: dict[str, Any]) -> np.ndarray:
    """The input named by a JSON body: exactly one of ``input``, ``image`` or ``signal``."""
    given = [k for k in ("input", "image", "signal") if body.get(k) is not None]
    if len(given) != 1:
        raise InputError("expected exactly one of 'input' (an array), 'image' (a data: URL) or "
                         f"'signal' (numbers as text), received {given or 'none'}", 422)
    if given[0] == "input":
        return from_array(served, body["input"])
    if given[0] == "image":
        return from_image(served, decode_base64(body["image"]), bool(body.get("center")))
    return from_signal(served, body["signal"])


def from_upload(served: ServedModel, content_type: str, data: bytes) -> np.ndarray:
    """The raw body of an upload: a picture (``image/*``) or a signal (``text/csv``)."""
    kind = content_type.split(";")[0].strip().lower()
    if kind in IMAGE_TYPES:
        return from_image(served, data)
    if kind in SIGNAL_TYPES:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("the signal is not UTF-8 text") from None
        return from_signal(served, text)
    raise InputError(f"expected an upload of type {', '.join(IMAGE_TYPES + SIGNAL_TYPES)}, "
                     f"received {kind or 'no Content-Type'}", 415)
