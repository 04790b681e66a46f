"""Batch, instance, layer and group normalization (inference)."""

from __future__ import annotations

import numpy as np

import convlens.layers as L
from convlens.io.onnx.converters.registry import Node, converter

_BATCH = {3: L.BatchNorm1d, 2: L.BatchNorm1d, 4: L.BatchNorm2d, 5: L.BatchNorm3d}
_INSTANCE = {3: L.InstanceNorm1d, 4: L.InstanceNorm2d, 5: L.InstanceNorm3d}


def _set(parameter, value: np.ndarray) -> None:
    # a copy: the value may be a read-only view (np.broadcast_to) of the file's array
    parameter.data = np.array(value, dtype=parameter.data.dtype, order="C", copy=True)


@converter("BatchNormalization")
def convert_batch_norm(node: Node):
    x = node.input(0)
    rank = node.rank(x)
    if rank not in _BATCH:
        raise node.fail(f"a rank-{rank} input (batch normalization of (N, C, *S) with 0-3 spatial axes)")
    training = bool(node.attr("training_mode", 0)) or node.num_outputs > 1
    if training and node.opset < 14:
        raise node.fail("training mode before opset 14 (outputs saved_mean and saved_var) is not "
                        "supported")
    scale, bias = node.constant(1, "scale"), node.constant(2, "bias")
    mean, var = node.constant(3, "running mean"), node.constant(4, "running variance")
    if training:
        return _batch_norm_training(node, x, rank, scale, bias, mean, var)
    layer = _BATCH[rank](scale.shape[0], eps=float(node.attr("epsilon", 1e-5)), dtype=scale.dtype)
    layer.eval()
    _set(layer.weight, scale)
    _set(layer.bias, bias)
    layer.running_mean[...] = mean
    layer.running_var[...] = var
    return node.apply(layer, x)


def _batch_norm_training(node: Node, x, rank: int, scale, bias, mean, var):
    """``training_mode=1``: normalize with the batch's μ_B and biased σ²_B (a BatchNorm that
    tracks nothing, returning them), and output ONNX's updated running statistics
    ``running·momentum + batch·(1 − momentum)`` (both biased, unlike PyTorch's running_var)."""
    layer = _BATCH[rank](scale.shape[0], eps=float(node.attr("epsilon", 1e-5)),
                         track_running_stats=False, dtype=scale.dtype,
                         return_stats=node.num_outputs > 1)
    _set(layer.weight, scale)
    _set(layer.bias, bias)
    if node.num_outputs == 1:
        return node.apply(layer, x)
    y, batch_mean, batch_var = node.apply(layer, x)
    momentum = float(node.attr("momentum", 0.9))
    keep = np.asarray(1 - momentum, dtype=scale.dtype)
    running = [node.apply(L.Add(), node.apply(L.Multiply(), stat, keep),
                          np.asarray(old * momentum, dtype=scale.dtype))
               for stat, old in ((batch_mean, mean), (batch_var, var))]
    return [y, *running]


@converter("InstanceNormalization")
def convert_instance_norm(node: Node):
    x = node.input(0)
    rank = node.rank(x)
    if rank not in _INSTANCE:
        raise node.fail(f"a rank-{rank} input (instance normalization of (N, C, *S), 1-3 spatial axes)")
    scale, bias = node.constant(1, "scale"), node.constant(2, "bias")
    layer = _INSTANCE[rank](scale.shape[0], eps=float(node.attr("epsilon", 1e-5)), affine=True,
                            track_running_stats=False)
    _set(layer.weight, scale)
    _set(layer.bias, bias)
    return node.apply(layer, x)


@converter("LayerNormalization", opsets=(17, None))
def convert_layer_norm(node: Node):
    x = node.input(0)
    rank = node.rank(x)
    axis = node.axis(node.attr("axis", -1), rank)
    node.refuse_batch_axis([axis], "normalizing over")
    shape = tuple(int(s) for s in node.shape(x)[axis:])
    scale = np.broadcast_to(node.constant(1, "scale"), shape)
    bias = node.constant(2, "bias")
    # the Mean and InvStdDev outputs (when asked for) are LayerNorm's statistics outputs
    layer = L.LayerNorm(shape, eps=float(node.attr("epsilon", 1e-5)), bias=bias is not None,
                        dtype=scale.dtype, return_stats=node.num_outputs > 1)
    _set(layer.weight, scale)
    if bias is not None:
        _set(layer.bias, np.broadcast_to(bias, shape))
    return node.apply(layer, x)


@converter("GroupNormalization", opsets=(18, None))
def convert_group_norm(node: Node):
    """Opset 18 gives one scale and bias per group, 21 one per channel: both become GroupNorm's
    per-channel γ, β (a group's value repeated over its channels)."""
    x = node.input(0)
    groups = int(node.attr("num_groups"))
    channels = int(node.shape(x)[1])
    scale, bias = node.constant(1, "scale"), node.constant(2, "bias")
    if scale.size == groups and groups != channels:
        scale, bias = np.repeat(scale, channels // groups), np.repeat(bias, channels // groups)
    layer = L.GroupNorm(groups, channels, eps=float(node.attr("epsilon", 1e-5)), dtype=scale.dtype)
    _set(layer.weight, scale)
    _set(layer.bias, bias)
    return node.apply(layer, x)
