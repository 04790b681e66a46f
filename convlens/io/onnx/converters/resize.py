"""Resize and Upsample -> ``cl.Upsample`` (nearest, or linear over 1 to 3 spatial axes).

What PyTorch's ``nn.Upsample`` / ``F.interpolate`` compute, and what exporters write for them:

- nearest: ``asymmetric`` coordinates with ``floor`` rounding (PyTorch's), or, for integer
  scales, any half-pixel mapping with rounding to nearest (it picks the same pixels);
- linear: ``pytorch_half_pixel`` / ``half_pixel`` (``align_corners=False``) or
  ``align_corners`` (``align_corners=True``).

Only the spatial axes (2 …) may change; cubic, antialiasing, crop-and-resize and
``keep_aspect_ratio_policy`` are refused with the node named.
"""

from __future__ import annotations

import numpy as np

import convlens.layers as L
from convlens.io.onnx.converters.registry import Node, converter

_HALF_PIXEL = ("half_pixel", "pytorch_half_pixel", "tf_half_pixel_for_nn")
_LINEAR = {1: "linear", 2: "bilinear", 3: "trilinear"}


def _check_attributes(node: Node) -> None:
    if node.attr("antialias", 0):
        raise node.fail("antialias=1 is not supported")
    if node.attr("axes") is not None:
        raise node.fail("the axes attribute is not supported; give scales or sizes for every axis")
    if node.attr("keep_aspect_ratio_policy", "stretch") != "stretch":
        raise node.fail("keep_aspect_ratio_policy other than 'stretch' is not supported")


def _align_corners(node: Node, mode: str, coordinates: str, scales: list[float] | None) -> bool | None:
    """PyTorch's ``align_corners`` for this coordinate mapping (None for nearest)."""
    if mode == "nearest":
        rounding = node.attr("nearest_mode", "round_prefer_floor")
        if coordinates == "asymmetric" and rounding == "floor":
            return None
        integral = scales is not None and all(float(s).is_integer() for s in scales)
        if coordinates in _HALF_PIXEL and rounding.startswith("round_") and integral:
            return None
        raise node.fail(f"nearest with coordinate_transformation_mode={coordinates!r} and "
                        f"nearest_mode={rounding!r} is not supported; expected 'asymmetric' with "
                        "'floor' (PyTorch's), or half-pixel rounding with integer scales")
    if coordinates in ("half_pixel", "pytorch_half_pixel"):
        return False
    if coordinates == "align_corners":
        return True
    raise node.fail(f"linear with coordinate_transformation_mode={coordinates!r} is not supported; "
                    "expected 'half_pixel', 'pytorch_half_pixel' or 'align_corners'")


def _check_linear_edges(node: Node, coordinates: str, spatial: tuple[int, ...],
                        factors: list[float] | None, target: tuple[int, ...] | None) -> None:
    """``pytorch_half_pixel`` reads position 0 for an output of length 1, where PyTorch reads
    ½·n_in − ½ (``half_pixel`` does too). (ONNX's reference evaluator divides ``align_corners``
    positions by the unrounded n_in·scale − 1; onnxruntime, like PyTorch and convlens, by the
    whole output length − 1.)"""
    sizes = target or tuple(int(n * f) for n, f in zip(spatial, factors or ()))
    if coordinates == "pytorch_half_pixel" and any(o == 1 < n for o, n in zip(sizes, spatial)):
        raise node.fail(f"pytorch_half_pixel resizing of {tuple(spatial)} to a length of 1 "
                        f"({tuple(sizes)}) is not supported")


def _to_upsample(node: Node, scales: np.ndarray | None, sizes: np.ndarray | None) -> object:
    x = node.input(0)
    shape = node.shape(x)
    spatial = len(shape) - 2
    mode = node.attr("mode", "nearest")
    if mode not in ("nearest", "linear", "bilinear") or not 1 <= spatial <= 3:
        raise node.fail(f"mode {mode!r} on a rank-{len(shape)} tensor is not supported; expected "
                        "'nearest' or 'linear' on (N, C, *spatial) with 1 to 3 spatial axes")
    coordinates = node.attr("coordinate_transformation_mode", "asymmetric" if node.op_type == "Upsample"
                            or node.opset < 11 else "half_pixel")
    if node.op_type == "Upsample" or node.opset < 11:
        # opset ≤ 10: nearest is asymmetric/floor, linear is asymmetric (not PyTorch's)
        if mode != "nearest":
            raise node.fail("linear resizing before opset 11 (asymmetric coordinates) is not supported")
        node.attrs.setdefault("nearest_mode", "floor")
    if sizes is not None and sizes.size:
        if [int(s) for s in sizes[1:2]] != list(shape[1:2]):
            raise node.fail(f"resizing the channel axis (sizes {sizes.tolist()}) is not supported")
        factors, target = None, tuple(int(s) for s in sizes[2:])
    else:
        if scales is None or scales.size != len(shape):
            raise node.fail(f"expected one scale per axis ({len(shape)}), received "
                            f"{None if scales is None else scales.tolist()}")
        if scales[0] != 1 or scales[1] != 1:
            raise node.fail(f"scaling the batch or channel axis (scales {scales.tolist()}) is not supported")
        factors, target = [float(s) for s in scales[2:]], None
    align = _align_corners(node, "nearest" if mode == "nearest" else "linear", coordinates, factors)
    _check_linear_edges(node, coordinates, shape[2:], factors, target)
    layer = L.Upsample(size=_one_or_each(target), scale_factor=_one_or_each(factors),
                       mode="nearest" if mode == "nearest" else _LINEAR[spatial], align_corners=align)
    return node.apply(layer, x)


def _one_or_each(values):
    """One number when every spatial axis has the same (as ``nn.Upsample(scale_factor=2)``)."""
    if values is None:
        return None
    return values[0] if len(set(values)) == 1 else tuple(values)


@converter("Resize", opsets=(10, None))
def convert_resize(node: Node):
    """Opset 10: (X, scales); opset 11 on: (X, roi, scales, sizes)."""
    _check_attributes(node)
    if node.opset < 11:
        return _to_upsample(node, node.constant(1, "scales"), None)
    if node.attr("coordinate_transformation_mode") == "tf_crop_and_resize":
        raise node.fail("tf_crop_and_resize is not supported")
    scales, sizes = node.constant(2, "scales"), node.constant(3, "sizes")
    if sizes is not None and sizes.size and sizes.size != node.rank(node.input(0)):
        raise node.fail(f"expected one size per axis, received {sizes.tolist()}")
    return _to_upsample(node, scales if scales is not None and scales.size else None, sizes)


@converter("Upsample", opsets=(7, 9))
def convert_upsample(node: Node):
    """Opset 7-8: scales as an attribute; opset 9: as an input."""
    scales = node.attr("scales")
    scales = np.asarray(scales, np.float64) if scales is not None else node.constant(1, "scales")
    return _to_upsample(node, scales, None)
