"""Layers that only move values: Flatten, Reshape, Permute, PixelShuffle/Unshuffle, Upsample."""

from __future__ import annotations

import numpy as np

import convlens.layers as L
from convlens.io.onnx.exporter import OnnxWriter, Tensor, exporter


def reshape_to(w: OnnxWriter, x: str, per_example: tuple[int, ...], name: str) -> str:
    """Reshape keeping the (dynamic) batch axis: ONNX's 0 copies the input's size there."""
    return w.node("Reshape", [x, w.ints(f"{name}.shape", [0, *per_example])], name)


@exporter(L.Flatten)
def export_flatten(w: OnnxWriter, layer, xs: list[Tensor], name: str) -> str:
    rank = xs[0].example.ndim
    start, end = layer.start_dim % rank, layer.end_dim % rank
    if start == 1 and end == rank - 1:
        return w.node("Flatten", [xs[0].name], name, axis=1)
    out = layer(xs[0].example)
    return reshape_to(w, xs[0].name, out.shape[1:], name)


@exporter(L.Reshape)
def export_reshape(w, layer, xs, name):
    return reshape_to(w, xs[0].name, layer.shape, name)


@exporter(L.Permute)
def export_permute(w, layer, xs, name):
    return w.node("Transpose", [xs[0].name], name, perm=list(layer.dims))


@exporter(L.PixelShuffle)
def export_pixel_shuffle(w, layer, xs, name):
    # PyTorch's channel order c·r² + i·r + j is DepthToSpace's column-row-depth mode
    return w.node("DepthToSpace", [xs[0].name], name, blocksize=layer.upscale_factor, mode="CRD")


@exporter(L.PixelUnshuffle)
def export_pixel_unshuffle(w, layer, xs, name):
    """SpaceToDepth orders channels (i·r + j)·C + c, PyTorch c·r² + i·r + j: reshape and
    transpose instead (N, C, H/r, r, W/r, r) -> (N, C, r, r, H/r, W/r)."""
    _, c, h, width = xs[0].example.shape
    r = layer.downscale_factor
    split = reshape_to(w, xs[0].name, (c, h // r, r, width // r, r), name)
    moved = w.node("Transpose", [split], name, perm=[0, 1, 3, 5, 2, 4])
    return reshape_to(w, moved, (c * r * r, h // r, width // r), name)


@exporter(L.Upsample)
def export_upsample(w, layer, xs, name):
    """Resize with the coordinate mapping PyTorch uses (see ``converters/resize.py``; for
    linear ``half_pixel``, which, unlike ``pytorch_half_pixel``, is PyTorch's at outputs of
    length 1 too): scales
    when the layer has a factor, else sizes (batch and channels read from the input, so the
    batch axis stays dynamic)."""
    spatial = xs[0].example.ndim - 2
    if layer.scale_factor is not None:
        factors = layer.scale_factor
        factors = factors if isinstance(factors, tuple) else (factors,) * spatial
        sizes_or_scales = ["", w.constant(f"{name}.scales", [1.0, 1.0, *factors], np.float32)]
    else:
        size = layer.size if isinstance(layer.size, tuple) else (layer.size,) * spatial
        shape = w.node("Shape", [xs[0].name], name)
        ends = [w.ints(f"{name}.start", [0]), w.ints(f"{name}.end", [2])]
        batch_channels = w.node("Slice", [shape, *ends], name)
        sizes = w.node("Concat", [batch_channels, w.ints(f"{name}.size", size)], name, axis=0)
        sizes_or_scales = ["", "", sizes]
    if layer.mode == "nearest":
        attrs = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}
    else:
        attrs = {"mode": "linear", "coordinate_transformation_mode":
                 "align_corners" if layer.align_corners else "half_pixel"}
    return w.node("Resize", [xs[0].name, *sizes_or_scales], name, **attrs)


@exporter(L.Rescale)
def export_rescale(w, layer, xs, name):
    """Mul and Add by constants shaped to broadcast over the channel axis (imported back as
    ``Multiply`` and ``Add`` with constants)."""
    from convlens.functional.rescale import channel_view

    rank, dtype = xs[0].example.ndim, xs[0].example.dtype
    scale = w.constant(f"{name}.scale", channel_view(layer.scale, rank), dtype)
    offset = w.constant(f"{name}.offset", channel_view(layer.offset, rank), dtype)
    return w.node("Add", [w.node("Mul", [xs[0].name, scale], name), offset], name)
