"""Turning what a request sends into one input array of the model's shape, or a clear refusal.

Three ways in, each checked before any work is done:

* ``input``: the array itself, nested lists of numbers of the model's input shape ``(C, *S)``,
  used as it is (it is already what the model sees);
* ``image``: a PNG/JPEG/GIF/BMP/WebP picture (a ``data:`` URL or base64, or the raw bytes of an
  upload);
* ``signal``: numbers as text (CSV, spaces or new lines) for a 1-D model.

Pictures and signals go through :mod:`convlens.inference.preprocess` with the model's own
``Preprocessing`` (``model.info``), exactly as ``cl.predict`` and ``convlens predict`` do: the
channels and size, the polarity, MNIST's framing of a drawn digit, the training normalization.
The steps taken are returned in words, for the page to show.

Everything that fails raises :class:`InputError` (a ``ValueError``: the API answers 4xx) with
what was expected and what was received. Pictures are limited in bytes (checked by the app on
the request body) and in pixels (here, before decoding: a small file can unpack to a huge image).
"""

from __future__ import annotations

import base64
import binascii
import io
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


def from_image(served: ServedModel, data: bytes) -> tuple[np.ndarray, list[str]]:
    """A picture as the model sees it, and the preprocessing steps in words."""
    from PIL import Image, UnidentifiedImageError

    from convlens.inference import preprocess

    if served.spatial_dims != 2:
        raise InputError(f"model {served.name!r} takes inputs of shape "
                         f"{_shape_text(served.input_shape)}, not pictures: send 'input' or 'signal'")
    try:
        image = Image.open(io.BytesIO(data))       # reads the header only
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise InputError(f"the picture has {width}×{height} = {width * height:,} pixels; at "
                             f"most {MAX_PIXELS:,} are accepted", 413)
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError, ValueError) as err:
        if isinstance(err, InputError):
            raise
        raise InputError("the data is not a picture convlens can read (expected PNG, JPEG, GIF, "
                         "BMP or WebP)", 415) from None
    try:
        return preprocess.prepare_image(image, served.preprocessing, served.input_shape,
                                        MAX_PIXELS, served.dataset)
    except preprocess.InputError as err:
        raise InputError(f"the picture cannot be used: {err}") from None


def from_signal(served: ServedModel, text: str) -> tuple[np.ndarray, list[str]]:
    """Numbers in text (commas, spaces, semicolons or new lines) as a 1-D input ``(C, L)``
    (resampled to the model's length), and the preprocessing steps in words."""
    from convlens.inference import preprocess

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
    try:
        return preprocess.prepare_signal(values, served.preprocessing, served.input_shape)
    except preprocess.InputError as err:
        raise InputError(f"the signal {err}") from None


def prepare_payload(served: ServedModel, body: dict[str, Any]) -> tuple[np.ndarray, list[str]]:
    """The input named by a JSON body (exactly one of ``input``, ``image`` or ``signal``) and
    the preprocessing steps taken."""
    given = [k for k in ("input", "image", "signal") if body.get(k) is not None]
    if len(given) != 1:
        raise InputError("expected exactly one of 'input' (an array), 'image' (a data: URL) or "
                         f"'signal' (numbers as text), received {given or 'none'}", 422)
    if given[0] == "input":
        return from_array(served, body["input"]), ["used as given: an array of the model's input shape"]
    if given[0] == "image":
        return from_image(served, decode_base64(body["image"]))
    return from_signal(served, body["signal"])


def from_payload(served: ServedModel, body: dict[str, Any]) -> np.ndarray:
    """The input array of :func:`prepare_payload`."""
    return prepare_payload(served, body)[0]


def from_upload(served: ServedModel, content_type: str, data: bytes) -> tuple[np.ndarray, list[str]]:
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
