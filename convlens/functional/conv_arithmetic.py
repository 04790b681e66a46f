"""Convolution arithmetic: output sizes, padding rules and the errors that explain them.

For one spatial axis of length ``n``, kernel ``k``, stride ``s``, dilation ``d`` and padding
``p_lo`` before / ``p_hi`` after, the window covers ``d·(k − 1) + 1`` input positions and

    out = ⌊(n + p_lo + p_hi − d·(k − 1) − 1) / s⌋ + 1

which with symmetric padding ``p`` and ``d = 1`` is the seeds' ⌊(n + 2p − k)/s⌋ + 1.
This module is the only place that formula lives; convolution and pooling both use it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Union

import numpy as np

Pairs = tuple[tuple[int, int], ...]
PaddingSpec = Union[int, str, Sequence[int], Sequence[Sequence[int]]]

_AXIS_NAMES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}


LAYOUTS = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}


def layout(nd: int) -> str:
    """The channels-first layout with ``nd`` spatial axes: ``(N, C, H, W)`` for 2."""
    return LAYOUTS.get(nd, f"(N, C, …{nd} axes)")


def check_rank(name: str, shape: tuple[int, ...], nd: int, detail: str = "") -> None:
    """Refuse an input whose rank is not ``nd + 2``, naming the layout the layer expects.

    A missing batch axis (rank ``nd + 1``) gets the fix: ``x[None]``.
    """
    if len(shape) == nd + 2:
        return
    hint = ""
    if len(shape) == nd + 1:
        hint = f"; for a single example add a batch axis: x[None] has shape {(1, *shape)}"
    raise ValueError(
        f"{name} expects a {nd + 2}-D input {layout(nd)}{detail}, received shape {tuple(shape)} "
        f"({len(shape)}-D){hint}"
    )


def axis_names(ndim: int) -> tuple[str, ...]:
    """Human names of the spatial axes: ('height', 'width') for 2-D."""
    return _AXIS_NAMES.get(ndim, tuple(f"axis {i}" for i in range(ndim)))


def _is_int(value: object) -> bool:
    """An integer, Python's or NumPy's (``np.int64(3)`` from array arithmetic counts)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def as_tuple(value: int | Sequence[int], ndim: int, name: str, minimum: int = 1) -> tuple[int, ...]:
    """``3 -> (3, 3)`` for ``ndim=2``; validates length, type and lower bound.

    Fractions are refused rather than truncated (``kernel_size=2.5`` is a mistake, not 2).
    """
    message = f"{name} must be an int or a tuple of {ndim} ints, received {value!r}"
    if _is_int(value):
        values: tuple[int, ...] = (int(value),) * ndim  # type: ignore[arg-type]
    else:
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise TypeError(message)
        items = tuple(value)  # type: ignore[arg-type]
        if not all(_is_int(v) for v in items):
            raise TypeError(message)
        if len(items) != ndim:
            raise ValueError(f"{message} ({len(items)} values)")
        values = tuple(int(v) for v in items)
    if any(v < minimum for v in values):
        raise ValueError(f"{name} must be >= {minimum}, received {value!r}")
    return values


def check_channels(name: str, in_channels: int, out_channels: int, groups: int) -> tuple[int, int, int]:
    """``(C_in, C_out, G)`` as ints, each positive and both channel counts divisible by G."""
    for arg, value in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
        if not _is_int(value) or value < 1:
            raise ValueError(f"{name}: {arg} must be a positive int, received {value!r}")
    for arg, value in (("in_channels", in_channels), ("out_channels", out_channels)):
        if value % groups:
            raise ValueError(f"{name}: {arg} must be divisible by groups, received {arg}={value}, "
                             f"groups={groups} ({value} % {groups} = {value % groups})")
    return int(in_channels), int(out_channels), int(groups)


def config_value(value: Any) -> Any:
    """A per-axis tuple as a layer config writes it: one int when every axis has the same."""
    return value[0] if isinstance(value, tuple) and len(set(value)) == 1 and not isinstance(value[0], tuple) \
        else value


def config_padding(padding: PaddingSpec) -> Any:
    """A padding as a layer config writes it: ``'same'``, one int, one int per axis, or the
    (before, after) pairs when some axis pads unequally."""
    if isinstance(padding, tuple) and all(lo == hi for lo, hi in padding):  # type: ignore[misc]
        return config_value(tuple(lo for lo, _ in padding))  # type: ignore[misc]
    return padding


def check_padding_spec(padding: PaddingSpec, ndim: int) -> PaddingSpec:
    """Validate a padding argument at construction time and return it in canonical form.

    Accepted: ``'valid'``, ``'same'``, an int, a tuple of ``ndim`` ints (symmetric per axis)
    or a tuple of ``ndim`` ``(before, after)`` pairs (asymmetric).
    """
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise ValueError(
                f"padding must be 'valid', 'same', an int or a tuple, received {padding!r}"
            )
        return padding
    if _is_int(padding):
        if padding < 0:  # type: ignore[operator]
            raise ValueError(f"padding must be >= 0, received {padding}")
        return ((int(padding), int(padding)),) * ndim  # type: ignore[call-overload]
    items = list(padding)  # type: ignore[arg-type]
    if len(items) != ndim:
        raise ValueError(
            f"padding must have one entry per spatial axis ({ndim}), received {padding!r}"
        )
    pairs = []
    for item in items:
        if _is_int(item):
            pair = (int(item), int(item))
        else:
            if isinstance(item, str) or not hasattr(item, "__iter__") or not all(_is_int(v) for v in item):
                raise TypeError(
                    f"padding must be 'valid', 'same', an int or a tuple of ints / (before, after) "
                    f"pairs, received {padding!r}"
                )
            pair = tuple(int(v) for v in item)
            if len(pair) != 2:
                raise ValueError(f"padding pairs must be (before, after), received {item!r}")
        if min(pair) < 0:
            raise ValueError(f"padding must be >= 0, received {padding!r}")
        pairs.append(pair)
    return tuple(pairs)  # type: ignore[return-value]


def same_padding(n: int, k: int, s: int, d: int) -> tuple[int, int]:
    """TensorFlow's 'same': ``out = ⌈n / s⌉``; the extra pixel (if any) goes after.

    Total padding ``max((out − 1)·s + d·(k − 1) + 1 − n, 0)``, split ``before = total // 2``.
    For stride 1 and an odd effective kernel this is the symmetric ``d·(k − 1) / 2``.
    """
    out = -(-n // s)
    total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def resolve_padding(
    padding: PaddingSpec,
    spatial: Sequence[int],
    kernel: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
) -> Pairs:
    """Turn a (validated) padding spec into ``(before, after)`` pairs for this input size."""
    ndim = len(spatial)
    if padding == "valid":
        return ((0, 0),) * ndim
    if padding == "same":
        return tuple(
            same_padding(n, k, s, d) for n, k, s, d in zip(spatial, kernel, stride, dilation)
        )
    return check_padding_spec(padding, ndim)  # type: ignore[return-value]


def output_size(n: int, k: int, s: int, pad: tuple[int, int], d: int = 1,
                ceil_mode: bool = False) -> int:
    """⌊(n + p_lo + p_hi − d·(k − 1) − 1)/s⌋ + 1 (⌈…⌉ with ``ceil_mode``, as PyTorch pools).

    With ``ceil_mode`` the last window must start inside the input or the left padding.
    """
    span = n + pad[0] + pad[1] - d * (k - 1) - 1
    if span < 0:
        return span // s + 1 if not ceil_mode else 0
    if not ceil_mode:
        return span // s + 1
    out = -(-span // s) + 1
    if (out - 1) * s >= n + pad[0]:
        out -= 1
    return out


def output_shape(
    layer: str,
    spatial: Sequence[int],
    kernel: Sequence[int],
    stride: Sequence[int],
    pads: Pairs,
    dilation: Sequence[int] | None = None,
    ceil_mode: bool = False,
    max_padding: Sequence[int] | None = None,
) -> tuple[int, ...]:
    """Output spatial shape, or a ``ValueError`` that shows the formula with the numbers.

    The message names the layer, the axis, every term of ⌊(n + 2p − k)/s⌋ + 1 and only the
    fixes that are possible: the smallest padding that makes the window fit (unless it
    exceeds ``max_padding``, pooling's limit of half the kernel), the largest kernel that
    fits, a larger input.
    """
    dilation = dilation or (1,) * len(spatial)
    names = axis_names(len(spatial))
    out = []
    for axis, (n, k, s, pad, d) in enumerate(zip(spatial, kernel, stride, pads, dilation)):
        if n < 1:
            raise ValueError(f"{layer}: expected an input {names[axis]} of at least 1, received "
                             f"{n}: there is nothing to slide the window over")
        size = output_size(n, k, s, pad, d, ceil_mode)
        if size < 1:
            k_eff = d * (k - 1) + 1
            if pad[0] == pad[1]:
                formula = f"⌊(n + 2p − k)/s⌋ + 1 = ⌊({n} + 2·{pad[0]} − {k_eff})/{s}⌋ + 1"
            else:
                formula = (f"⌊(n + p_before + p_after − k)/s⌋ + 1 = "
                           f"⌊({n} + {pad[0]} + {pad[1]} − {k_eff})/{s}⌋ + 1")
            need = math.ceil((k_eff - n) / 2)
            kernel_note = f" (kernel {k} with dilation {d} spans {k_eff})" if d != 1 else ""
            # the largest kernel_size whose span d·(k − 1) + 1 fits the padded input (>= 1)
            largest = (n + pad[0] + pad[1] - 1) // d + 1
            fixes = [f"a kernel of at most {largest} along {names[axis]}", "a larger input"]
            if max_padding is None or need <= max_padding[axis]:
                fixes.insert(0, f"padding >= {need}")
            advice = (f"Use {fixes[0]} (or {', or '.join(fixes[1:])})." if len(fixes) == 3
                      else f"Use {fixes[0]} (padding cannot exceed {max_padding[axis]} here; "  # type: ignore[index]
                      f"or {fixes[1]}).")
            raise ValueError(
                f"{layer}: the window does not fit the input {names[axis]}: input {names[axis]} "
                f"n={n}, kernel k={k_eff}{kernel_note}, stride s={s}, padding p={pad[0]}"
                f"{'' if pad[0] == pad[1] else f'+{pad[1]}'}: output size {formula} = "
                f"{(n + pad[0] + pad[1] - k_eff) // s + 1} < 1. {advice}"
            )
        out.append(size)
    return tuple(out)
