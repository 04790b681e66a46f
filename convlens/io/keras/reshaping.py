"""Keras layers that move values between axes -> convlens, minding the layout.

A Keras tensor (N, d_1, …, d_k, C) lives in convlens as (N, C, d_1, …, d_k): the last axis
first (the walker's rule for every tensor of rank > 2, :mod:`convlens.io.keras.layers`).
Layers that read axes by position (``Reshape``, ``Permute``, ``LayerNormalization`` over
chosen axes) therefore run between two transposes: channels-first -> Keras's channels-last,
the Keras operation, and back to channels-first when the result has more than one axis. Two
transposes in a row are folded into one ``Permute`` (or none when they cancel).

A vector that came from a ``Flatten`` of channels-first maps holds its values in (c, h, w)
order where Keras has (h, w, c) (``Tensor.flattened_from``): it is first put back in Keras's
order before a ``Reshape`` reads it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import convlens.layers as L
from convlens.io.keras.layers import (
    Converted,
    KerasLayerError,
    Tensor,
    _channels_last,
    _expect,
    _set,
    _tuple,
    converts,
)
from convlens.layers.module import Module


def to_channels_last(rank: int) -> tuple[int, ...]:
    """The permutation (batch included) taking (N, C, d_1, …) to (N, d_1, …, C)."""
    return (0, *range(2, rank), 1)


def to_channels_first(rank: int) -> tuple[int, ...]:
    """The permutation taking (N, d_1, …, C) to (N, C, d_1, …)."""
    return (0, rank - 1, *range(1, rank - 1))


def compose(*perms: tuple[int, ...]) -> tuple[int, ...]:
    """``x.transpose(p_1).transpose(p_2)…`` as one permutation."""
    total = tuple(range(len(perms[0])))
    for p in perms:
        total = tuple(total[i] for i in p)
    return total


def permute_layers(perm: tuple[int, ...]) -> list[Module]:
    return [] if perm == tuple(range(len(perm))) else [L.Permute(*perm)]


def keras_order(source: Tensor) -> tuple[list[Module], tuple[int, ...]]:
    """Layers putting ``source`` in Keras's channels-last order, and that shape (no batch)."""
    shape = source.shape
    if len(shape) == 1 and source.flattened_from is not None:   # (c, h, w) values -> (h, w, c)
        cl = source.flattened_from
        cf = (cl[-1], *cl[:-1])
        layers: list[Module] = [L.Reshape(*cf), *permute_layers(to_channels_last(len(cf) + 1)),
                                L.Reshape(*shape)]
        return layers, shape
    if len(shape) == 1:
        return [], shape
    return permute_layers(to_channels_last(len(shape) + 1)), (*shape[1:], shape[0])


def _target(shape: tuple[int, ...], target: list[Any], name: str) -> tuple[int, ...]:
    size = int(np.prod(shape))
    dims = [int(-1 if d is None else d) for d in target]
    known = int(np.prod([d for d in dims if d != -1]))
    if dims.count(-1) > 1 or (dims.count(-1) and size % known) or (not dims.count(-1) and known != size):
        raise KerasLayerError(f"layer {name!r}: cannot reshape {size} values {tuple(shape)} to "
                              f"{tuple(target)}")
    return tuple(size // known if d == -1 else d for d in dims)


@converts("Reshape")
def _reshape(config: dict[str, Any], weights: list[np.ndarray], inputs: list[Tensor]) -> Converted:
    name = config.get("name", "reshape")
    before, keras_shape = keras_order(inputs[0])
    target = _target(keras_shape, list(config["target_shape"]), name)
    layers = list(before)
    if target != keras_shape:
        if layers and isinstance(layers[-1], L.Reshape):
            layers.pop()
        layers.append(L.Reshape(*target))
    if len(target) > 1:
        layers.append(L.Permute(*to_channels_first(len(target) + 1)))
    if len(layers) >= 2 and all(isinstance(x, L.Permute) for x in layers[-2:]):   # fold
        layers[-2:] = permute_layers(compose(layers[-2].dims, layers[-1].dims))
    return Converted(layers)


@converts("Permute")
def _permute(config: dict[str, Any], weights: list[np.ndarray], inputs: list[Tensor]) -> Converted:
    name = config.get("name", "permute")
    rank = len(inputs[0].shape) + 1
    dims = tuple(int(d) for d in config["dims"])
    if sorted(dims) != list(range(1, rank)):
        raise KerasLayerError(f"layer {name!r}: dims {dims} is not a permutation of the axes "
                              f"1 … {rank - 1} of its input")
    if rank == 2:
        return Converted([], keeps_flatten_order=True)
    total = compose(to_channels_last(rank), (0, *dims), to_channels_first(rank))
    return Converted(permute_layers(total))


@converts("UpSampling1D", "UpSampling2D", "UpSampling3D")
def _upsampling(config: dict[str, Any], weights: list[np.ndarray], inputs: list[Tensor]) -> Converted:
    name = config.get("name", "up_sampling")
    _channels_last(config, name)
    nd = int(config["_class"][-2])
    size = _tuple(config.get("size", 2), nd)
    interpolation = config.get("interpolation", "nearest")
    if interpolation not in ("nearest", "bilinear"):
        raise KerasLayerError(f"layer {name!r}: interpolation {interpolation!r} is not supported; "
                              "expected 'nearest' or 'bilinear'")
    factor = size[0] if len(set(size)) == 1 else size
    return Converted([L.Upsample(scale_factor=factor, mode=interpolation)])


@converts("Cropping1D", "Cropping2D", "Cropping3D")
def _cropping(config: dict[str, Any], weights: list[np.ndarray], inputs: list[Tensor]) -> Converted:
    """Keras gives an int, one int per axis, or (before, after) pairs (one pair for 1-D)."""
    name = config.get("name", "cropping")
    _channels_last(config, name)
    nd = int(config["_class"][-2])
    value = config.get("cropping", 1)
    if isinstance(value, int):
        pairs = [(value, value)] * nd
    elif nd == 1:
        pairs = [(int(value[0]), int(value[1]))]
    else:
        pairs = [(int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1])) for v in value]
    spatial = inputs[0].shape[1:]
    if len(pairs) != nd or any(a + b >= n for (a, b), n in zip(pairs, spatial)):
        raise KerasLayerError(f"layer {name!r}: cropping {value!r} does not fit the input's "
                              f"spatial shape {tuple(spatial)}")
    index = (slice(None), *(slice(a, n - b) for (a, b), n in zip(pairs, spatial)))
    return Converted([L.Slice(index)])


@converts("LayerNormalization")
def _layer_norm(config: dict[str, Any], weights: list[np.ndarray], inputs: list[Tensor]) -> Converted:
    """Over the last axis, or over trailing axes of the channels-last tensor (between two
    transposes)."""
    name = config.get("name", "layer_normalization")
    if config.get("rms_scaling"):
        raise KerasLayerError(f"layer {name!r}: rms_scaling=True is not supported")
    source = inputs[0]
    rank = len(source.shape) + 1
    axes = config.get("axis", -1)
    axes = sorted({(int(a) + rank) % rank for a in (axes if isinstance(axes, (list, tuple)) else [axes])})
    if 0 in axes or axes != list(range(rank - len(axes), rank)):
        raise KerasLayerError(f"layer {name!r}: normalizing over axes {config.get('axis')} is not "
                              "supported; expected the last axis or a run of trailing axes")
    keras_shape = source.shape if rank == 2 else (*source.shape[1:], source.shape[0])
    normalized = tuple(keras_shape[a - 1] for a in axes)
    scale, center = bool(config.get("scale", True)), bool(config.get("center", True))
    _expect(weights, int(scale) + int(center), f"layer {name!r}")
    norm = L.LayerNorm(normalized, eps=float(config.get("epsilon", 1e-3)), elementwise_affine=scale or center,
                       bias=center)
    arrays = list(weights)
    flat = source.flattened_from if rank == 2 else None
    for attr, used in (("weight", scale), ("bias", center)):
        param = getattr(norm, attr)
        if used:
            value = arrays.pop(0).reshape(normalized)
            if flat is not None:            # per-feature values in (h, w, c) order -> (c, h, w)
                value = value.reshape(*flat).transpose(len(flat) - 1, *range(len(flat) - 1)).reshape(-1)
            _set(param, value, f"layer {name!r} {'gamma' if attr == 'weight' else 'beta'}")
        elif param is not None:
            param.requires_grad = False      # Keras learns no scale here: keep it at 1
    if rank == 2:
        return Converted([norm], keeps_flatten_order=True)
    return Converted([L.Permute(*to_channels_last(rank)), norm, L.Permute(*to_channels_first(rank))])
