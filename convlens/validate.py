"""What users hold becomes an array, or one clear error: the check every layer and loss shares.

Layers and losses take NumPy arrays of real numbers. People also hold Python lists, PyTorch
CPU tensors and other objects with ``__array__``: those are converted with ``np.asarray``.
Anything else gets a ``TypeError`` (or a ``ValueError`` for a value of the right kind but
the wrong size) naming what was expected — the layout and the dtype — and what was received:

* ``None``, strings, dicts, single numbers (a scalar where an array of examples is needed);
* complex, object, string, byte or date dtypes (never silently cut to their real part);
* ragged nested lists (rows of different lengths);
* empty inputs. The rule, the same for every layer and loss: an input with no values (a
  batch of 0 examples, or an axis of size 0) is refused with a message rather than passed
  through. A batch of nothing is almost always a bug upstream (an empty split, a filter that
  kept nothing), a loss of no examples has no value (its mean would be NaN), and batch
  normalization cannot estimate statistics from it; refusing at the first layer says where.

``check_grad`` is the matching check for ``backward(dy)``: ``dy`` must have the shape of what
``forward`` returned.
"""

from __future__ import annotations

import os
import sys
from types import FrameType
from typing import Any

import numpy as np

#: dtype kinds a layer computes with: bool, signed and unsigned integers, floating point
REAL_KINDS = "biuf"

_KIND_NAMES = {"c": "complex", "O": "object (Python objects)", "U": "string", "S": "bytes",
               "V": "structured (void)", "M": "datetime", "m": "timedelta"}


def _describe(value: Any) -> str:
    """A short description of what the user passed, for "received …"."""
    if value is None:
        return "None"
    if isinstance(value, (str, bytes)):
        text = repr(value)
        return f"a {type(value).__name__} {text[:40] + '…' if len(text) > 40 else text}"
    if isinstance(value, (bool, int, float, complex, np.generic)):
        number = value.item() if isinstance(value, np.generic) else value
        return f"a single number {number!r} ({type(value).__name__})"
    return f"a {type(value).__module__.split('.')[0]}.{type(value).__qualname__}" \
        if type(value).__module__ != "builtins" else f"a {type(value).__name__}"


def _from_tensor(value: Any, who: str, expected: str) -> Any:
    """A PyTorch tensor (duck-typed: torch is never imported here) as something np.asarray takes."""
    device = getattr(value, "device", None)
    if device is not None and getattr(device, "type", "cpu") != "cpu":
        raise TypeError(f"{who} expects {expected}, received a tensor on {device}; "
                        "move it to the CPU first (tensor.cpu())")
    return value.detach()  # a tensor that requires grad refuses __array__


def as_array(value: Any, who: str, expected: str, *, allow_scalar: bool = False,
             allow_empty: bool = False) -> np.ndarray:
    """``value`` as a NumPy array of real numbers, or an error naming ``expected``.

    Args:
        value: an ndarray, or an array-like (list, PyTorch CPU tensor, object with ``__array__``).
        who: names the caller in the message, e.g. ``"Conv2d"`` or ``"CrossEntropyLoss: target"``.
        expected: layout and dtype, e.g. ``"an array (N, C, H, W) of real numbers"``.
        allow_scalar: accept a 0-d array (a constant, an upstream gradient of a scalar loss).
        allow_empty: accept an array with no values.

    Raises:
        TypeError: not an array-like, a single number where an array is needed, or a dtype
            that is not real (complex, object, string, bytes, dates).
        ValueError: a ragged nested list, or an empty array (module docstring).
    """
    if type(value) is np.ndarray:
        array = value
    else:
        if value is None or isinstance(value, (str, bytes, dict, set)) or (
                not allow_scalar and isinstance(value, (bool, int, float, complex, np.generic))):
            raise TypeError(f"{who} expects {expected}, received {_describe(value)}")
        if hasattr(value, "detach") and hasattr(value, "numpy"):
            value = _from_tensor(value, who, expected)
        try:
            array = np.asarray(value)
        except ValueError as err:  # ragged: [[1, 2], [3]]
            raise ValueError(f"{who} expects {expected}, received {_describe(value)} that is not "
                             f"rectangular (rows of different lengths: {err})") from None
        except (TypeError, RuntimeError) as err:  # e.g. a tensor dtype NumPy has no match for
            raise TypeError(f"{who} expects {expected}, received {_describe(value)} that "
                            f"NumPy cannot convert ({err})") from None
    kind = array.dtype.kind
    if kind not in REAL_KINDS:
        what = _KIND_NAMES.get(kind, str(array.dtype))
        hint = " (take np.real or np.abs first if that is what you mean)" if kind == "c" else ""
        raise TypeError(f"{who} expects {expected}, received an array of {what} dtype "
                        f"{array.dtype} with shape {array.shape}{hint}")
    if array.ndim == 0 and not allow_scalar:
        raise TypeError(f"{who} expects {expected}, received a single number "
                        f"{array.item()!r} (a 0-d array)")
    if array.size == 0 and array.ndim > 0 and not allow_empty:
        raise ValueError(empty_message(who, expected, array.shape))
    return array


def empty_message(who: str, expected: str, shape: tuple[int, ...]) -> str:
    """The message for an input with no values (module docstring: the empty-input rule)."""
    if shape[0] == 0:
        return (f"{who} expects {expected} with at least one example, received an empty batch "
                f"of shape {shape}")
    axis = next(i for i, n in enumerate(shape) if n == 0)
    return (f"{who} expects {expected}, received shape {shape} whose axis {axis} has size 0 "
            "(no values)")


def check_grad(who: str, dy: Any, expected_shape: tuple[int, ...] | None) -> Any:
    """``dy`` as an array of the forward output's shape (``expected_shape``), or a ValueError.

    ``expected_shape`` None (no forward pass recorded) skips the shape test: the layer's own
    backward then says that forward must come first. A tuple of shapes (a module with several
    outputs) expects a tuple of gradients, one per output.
    """
    if expected_shape is None:
        return dy
    if expected_shape and isinstance(expected_shape[0], tuple):  # several outputs
        if not isinstance(dy, (tuple, list)) or len(dy) != len(expected_shape):
            raise ValueError(f"{who}.backward: expected a tuple of {len(expected_shape)} gradients "
                             f"(one per output of forward, shapes {list(expected_shape)}), "
                             f"received {_describe(dy)}")
        return tuple(None if d is None else check_grad(f"{who} (output {i})", d, s)  # None: unused
                     for i, (d, s) in enumerate(zip(dy, expected_shape)))
    dy = as_array(dy, f"{who}.backward", f"dy, an array of shape {expected_shape} (the output of "
                  "forward)", allow_scalar=True, allow_empty=True)
    if dy.shape != expected_shape:
        raise ValueError(f"{who}.backward: expected dy of shape {expected_shape} (the output of "
                         f"forward), received {dy.shape}")
    return dy


def user_stacklevel() -> int:
    """The ``stacklevel`` for ``warnings.warn`` that points at the first caller outside
    convlens (the layer wrappers above add frames that vary with how a layer is called)."""
    package = os.path.dirname(os.path.abspath(__file__))
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package + os.sep):
        frame, level = frame.f_back, level + 1
    return level


def output_shapes(y: Any) -> tuple[Any, ...] | None:
    """The shape of a forward result (a tuple of shapes for several outputs) or None."""
    if isinstance(y, np.ndarray):
        return y.shape
    if isinstance(y, (tuple, list)) and y and all(isinstance(v, np.ndarray) for v in y):
        return tuple(v.shape for v in y)
    return None


def finite_number(who: str, name: str, value: Any, *, allow_infinite: bool = False) -> float:
    """``value`` as a float, or ``ValueError`` unless it is a real number, finite unless
    ``allow_infinite`` (never NaN, a bool or a string, which ``float()`` would quietly accept)."""
    if isinstance(value, (bool, np.bool_, str, bytes)) or not np.isscalar(value) and not (
            isinstance(value, np.ndarray) and value.ndim == 0):
        number = float("nan")
    else:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
    if np.isnan(number) or not (allow_infinite or np.isfinite(number)):
        kind = "a real number (not NaN)" if allow_infinite else "a finite real number"
        raise ValueError(f"{who}: {name} must be {kind}, received {value!r}")
    return number
