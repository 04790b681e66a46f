"""Normalization layers to ONNX (inference: batch norm uses its running statistics)."""

from __future__ import annotations

import numpy as np

import convlens.layers as L
from convlens.io.onnx.exporter import OnnxWriter, Tensor, exporter
from convlens.layers.normalization import _ChannelNorm


def _affine(layer, channels: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    weight = layer.weight.data if getattr(layer, "weight", None) is not None else np.ones(channels, dtype)
    bias = layer.bias.data if getattr(layer, "bias", None) is not None else np.zeros(channels, dtype)
    return weight, bias


@exporter(_ChannelNorm)
def export_channel_norm(w: OnnxWriter, layer, xs: list[Tensor], name: str) -> str:
    """Batch norm (and instance norm with running statistics, which eval uses) is
    BatchNormalization; instance norm without running statistics is InstanceNormalization."""
    x = xs[0]
    dtype = x.example.dtype
    weight, bias = _affine(layer, layer.num_features, dtype)
    scale, shift = w.constant(f"{name}.weight", weight), w.constant(f"{name}.bias", bias)
    if layer.running_mean is not None:
        stats = [w.constant(f"{name}.running_mean", layer.running_mean),
                 w.constant(f"{name}.running_var", layer.running_var)]
        y = w.node("BatchNormalization", [x.name, scale, shift, *stats], name, epsilon=layer.eps)
        # return_stats in eval: the statistics are the running ones
        return [y, *(w.node("Identity", [s], name) for s in stats)] if layer.return_stats else y
    batch_norm = isinstance(layer, L.BatchNorm1d | L.BatchNorm2d | L.BatchNorm3d)
    if batch_norm and layer.return_stats:
        # batch statistics at inference: training_mode=1 with momentum 0 makes ONNX's updated
        # running statistics exactly the batch's μ and biased σ²
        c = layer.num_features
        stats = [w.constant(f"{name}.mean_in", np.zeros(c, dtype)),
                 w.constant(f"{name}.var_in", np.ones(c, dtype))]
        return w.node("BatchNormalization", [x.name, scale, shift, *stats], name, epsilon=layer.eps,
                      momentum=0.0, training_mode=1, num_outputs=3)
    if batch_norm:
        w.unsupported.append(f"{name} ({type(layer).__name__} without running statistics)")
        return w.fresh(name)
    return w.node("InstanceNormalization", [x.name, scale, shift], name, epsilon=layer.eps)


@exporter(L.GroupNorm)
def export_group_norm(w, layer, xs, name):
    """InstanceNormalization over (N, G, rest), then the per-channel affine (GroupNormalization's
    scale was per group before opset 21, so this composition is the portable one)."""
    x = xs[0]
    dtype = x.example.dtype
    groups = layer.num_groups
    grouped = w.node("Reshape", [x.name, w.ints(f"{name}.group_shape", [0, groups, -1])], name)
    normalized = w.node("InstanceNormalization", [grouped, w.constant(f"{name}.ones", np.ones(groups, dtype)),
                                                  w.constant(f"{name}.zeros", np.zeros(groups, dtype))],
                        name, epsilon=layer.eps)
    back = w.node("Reshape", [normalized, w.node("Shape", [x.name], name)], name)
    if not layer.affine:
        return back
    per_channel = (-1,) + (1,) * (x.example.ndim - 2)
    scaled = w.node("Mul", [back, w.constant(f"{name}.weight", layer.weight.data.reshape(per_channel))], name)
    return w.node("Add", [scaled, w.constant(f"{name}.bias", layer.bias.data.reshape(per_channel))], name)


@exporter(L.LayerNorm)
def export_layer_norm(w, layer, xs, name):
    dtype = xs[0].example.dtype
    shape = layer.normalized_shape
    weight = layer.weight.data if layer.weight is not None else np.ones(shape, dtype)
    inputs = [xs[0].name, w.constant(f"{name}.weight", weight)]
    if layer.bias is not None:
        inputs.append(w.constant(f"{name}.bias", layer.bias.data))
    # with return_stats, ONNX's Mean and InvStdDev outputs are convlens's mean and inv_std
    return w.node("LayerNormalization", inputs, name, axis=-len(shape), epsilon=layer.eps,
                  num_outputs=3 if layer.return_stats else 1)


@exporter(L.LocalResponseNorm)
def export_lrn(w, layer, xs, name):
    if layer.size % 2 == 0:  # PyTorch and ONNX put an even window's extra channel on opposite sides
        w.unsupported.append(f"{name} (LocalResponseNorm with an even size, {layer.size})")
    return w.node("LRN", [xs[0].name], name, size=layer.size, alpha=layer.alpha, beta=layer.beta,
                  bias=layer.k)
