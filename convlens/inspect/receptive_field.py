"""Receptive fields: which input pixels can one output unit see?

Along each spatial axis three numbers describe every unit of a layer's output (Dang Ha The
Hien, "A guide to receptive field arithmetic for CNNs", 2017; Araujo, Norris & Sim, "Computing
receptive fields of convolutional neural networks", Distill 2019):

    r      receptive field size: how many input pixels one unit sees along this axis
    j      jump (effective stride): the distance, in input pixels, between neighbouring units
    start  the input coordinate of the centre of the first unit's field (pixel i has centre i)

The input itself is (r, j, start) = (1, 1, 0). A convolution or pooling layer with kernel k,
stride s, padding p (before the input; the part after never moves a window) and dilation d,
whose window spans k_eff = d·(k − 1) + 1 positions, gives

    j_out     = j_in · s
    r_out     = r_in + (k_eff − 1) · j_in
    start_out = start_in + ((k_eff − 1)/2 − p) · j_in

and output unit i then sees the input positions ``start + i·j − (r − 1)/2`` to
``start + i·j + (r − 1)/2`` (those below 0 or past the input are padding). Seed 003 draws
this picture; stride and pooling are what make r grow fast (seed 001).

Which layers do what:

* Convolutions and pooling (max, min, average): the recurrences above.
* Element-wise layers (activations, dropout) and normalization pass the field through
  unchanged. (Batch, instance, group and layer norm compute their statistics over many
  positions, so strictly every output depends a little on every input; the receptive field,
  as usually defined, ignores that.)
* ``Flatten``, ``Reshape``, ``Linear``, global pooling: each output sees the whole input, so
  the field becomes the whole input (``whole_input=True``; jump and start no longer apply).
  Adaptive pooling is a regular pooling when the output size divides the input size; when it
  does not, its windows differ in size and the whole input is reported (an upper bound).
* ``Sequential``: one layer after the other.
* ``Graph``: node by node in topological order; a node with several inputs (``Add``,
  ``Concatenate``, …) sees what any of them sees (their union, as for ``Residual``);
  constants see no input and add nothing.
* ``Residual``: y = body(x) + shortcut(x) sees what either branch sees. We report the larger
  of the two fields; exactly, the bounding box of both, which is the larger one whenever the
  branches are centred alike (as in ResNet blocks). If the branches' jumps differ (they should
  not, their outputs are added), the body's jump and start are kept.
* ``Graph``: the field of every tensor, node by node. A merge (``Add``, ``Concatenate`` along
  channels, ``Multiply``, …) sees what any of its inputs sees: the bounding box of their
  fields, as for ``Residual``, so the field through branches is the largest over the paths.
  Constants see no pixel and are left out. Inside a graph, where every shape is known, a
  ``Reshape`` or ``Permute`` that leaves the spatial axes in place (ShuffleNet's channel
  shuffle) passes the field through.
* Any other layer (pixel shuffle, permute, custom modules): unknown (``None``) until a layer
  that sees the whole input.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from convlens.functional.conv_arithmetic import output_size, resolve_padding
from convlens.layers.activation import Identity, Softmax, _Activation
from convlens.layers.container import Residual, Sequential
from convlens.layers.conv import _ConvNd
from convlens.layers.dropout import Dropout
from convlens.layers.global_pool import _AdaptivePoolNd, _GlobalPoolNd
from convlens.layers.graph import Graph
from convlens.layers.linear import Linear
from convlens.layers.merge import Concatenate, MatMul
from convlens.layers.module import Module
from convlens.layers.normalization import GroupNorm, LayerNorm, _ChannelNorm
from convlens.layers.pool import _PoolNd
from convlens.layers.rescale import Rescale
from convlens.layers.shape import Flatten, Reshape
from convlens.layers.shape_extra import Permute


@dataclass(frozen=True)
class ReceptiveField:
    """The receptive field of a layer's output units, per spatial axis.

    Attributes:
        size: r per axis (may exceed the input: the field then reaches into the padding).
        jump: j per axis, or ``None`` when the field is the whole input.
        start: centre of output unit 0's field per axis, or ``None`` for the whole input.
        spatial: the output's spatial shape (``None`` once the spatial layout is gone).
        whole_input: every output unit sees the whole input.
    """

    size: tuple[int, ...]
    jump: tuple[int, ...] | None
    start: tuple[float, ...] | None
    spatial: tuple[int, ...] | None
    whole_input: bool = False

    def region(self, index: Sequence[int]) -> tuple[tuple[int, int], ...]:
        """First and last input position (inclusive) per axis seen by output unit ``index``.

        Not clipped to the input: positions below 0 or past the input are padding.
        """
        if self.whole_input or self.jump is None or self.start is None:
            return tuple((0, n - 1) for n in self.size)
        if len(index) != len(self.size):
            raise ValueError(
                f"index needs one entry per spatial axis ({len(self.size)}), received {index!r}"
            )
        bounds = []
        for i, r, j, start in zip(index, self.size, self.jump, self.start):
            centre = start + i * j
            bounds.append((int(math.floor(centre - (r - 1) / 2 + 1e-9)),
                           int(math.floor(centre + (r - 1) / 2 + 1e-9))))
        return tuple(bounds)

    def clipped_region(self, index: Sequence[int],
                       input_spatial: Sequence[int]) -> tuple[tuple[int, int], ...]:
        """:meth:`region` restricted to the input ``0 … n − 1``: the pixels that can matter."""
        return tuple((max(lo, 0), min(hi, n - 1))
                     for (lo, hi), n in zip(self.region(index), input_spatial))


@dataclass(frozen=True)
class LayerReceptiveField:
    """The field after one call of one module (``occurrence`` counts repeated calls)."""

    name: str
    module: Module
    occurrence: int
    receptive_field: ReceptiveField | None


def _whole(input_spatial: tuple[int, ...]) -> ReceptiveField:
    return ReceptiveField(input_spatial, None, None, None, whole_input=True)


def _window(rf: ReceptiveField, kernel: Sequence[int], stride: Sequence[int],
            dilation: Sequence[int], pads: Sequence[tuple[int, int]],
            out: tuple[int, ...]) -> ReceptiveField:
    """Apply the recurrences for one sliding-window layer."""
    assert rf.jump is not None and rf.start is not None
    sizes, jumps, starts = [], [], []
    for r, j, start, k, s, d, (p_lo, _) in zip(rf.size, rf.jump, rf.start, kernel, stride,
                                              dilation, pads):
        k_eff = d * (k - 1) + 1
        sizes.append(r + (k_eff - 1) * j)
        jumps.append(j * s)
        starts.append(start + ((k_eff - 1) / 2 - p_lo) * j)
    return ReceptiveField(tuple(sizes), tuple(jumps), tuple(starts), out)


def _union(body: ReceptiveField, skip: ReceptiveField) -> ReceptiveField:
    """Residual: the bounding box of both branches' fields (see the module docstring)."""
    if body.whole_input or skip.whole_input:
        return body if body.whole_input else skip
    assert body.jump is not None and body.start is not None
    assert skip.jump is not None and skip.start is not None
    if body.jump != skip.jump:
        size = tuple(max(a, b) for a, b in zip(body.size, skip.size))
        return ReceptiveField(size, body.jump, body.start, body.spatial)
    sizes, starts = [], []
    for rb, sb, rs, ss in zip(body.size, body.start, skip.size, skip.start):
        lo = min(sb - (rb - 1) / 2, ss - (rs - 1) / 2)
        hi = max(sb + (rb - 1) / 2, ss + (rs - 1) / 2)
        sizes.append(int(round(hi - lo + 1)))
        starts.append((lo + hi) / 2)
    return ReceptiveField(tuple(sizes), body.jump, tuple(starts), body.spatial)


def _is_pointwise(module: Module) -> bool:
    return isinstance(module, (_Activation, Identity, Dropout, _ChannelNorm, GroupNorm, LayerNorm, Rescale))


class _Walker:
    """Follows the model's structure, recording the field after every module call."""

    def __init__(self, input_spatial: tuple[int, ...]) -> None:
        self.input_spatial = input_spatial
        self.records: list[LayerReceptiveField] = []
        self._calls: dict[int, int] = {}

    def record(self, name: str, module: Module, rf: ReceptiveField | None) -> None:
        occurrence = self._calls.get(id(module), 0)
        self._calls[id(module)] = occurrence + 1
        self.records.append(LayerReceptiveField(name, module, occurrence, rf))

    def walk(self, module: Module, name: str, rf: ReceptiveField | None) -> ReceptiveField | None:
        if isinstance(module, Sequential):
            for child_name, child in module.named_children():
                rf = self.walk(child, f"{name}.{child_name}" if name else child_name, rf)
        elif isinstance(module, Residual):
            body = self.walk(module.body, f"{name}.body" if name else "body", rf)
            skip = rf if module.shortcut is None else self.walk(
                module.shortcut, f"{name}.shortcut" if name else "shortcut", rf)
            rf = None if body is None or skip is None else _union(body, skip)
        elif isinstance(module, Graph):
            rf = self.graph(module, name, rf)
        else:
            rf = self.layer(module, rf)
        self.record(name, module, rf)
        return rf

    def graph(self, graph: Graph, name: str, rf: ReceptiveField | None) -> ReceptiveField | None:
        """Every node of ``graph`` in order; each input starts from ``rf``. Returns the field
        of the first output."""
        fields: dict[str, ReceptiveField | None] = {t: rf for t in graph.input_names}
        constant: set[str] = set()
        shapes = graph.tensor_shapes()
        for node in graph.nodes:
            here = f"{name}.{node.name}" if name else node.name
            seen = [fields[t] for t in node.inputs if t not in constant]
            if not seen:                        # a constant, or computed from constants only
                constant.add(node.output)
                out = None
                self.record(here, node.layer, out)
            elif node.layer.num_inputs != 1:
                out = _merge(node.layer, seen, node.output_shape)
                self.record(here, node.layer, out)
            elif _keeps_spatial_axes(node.layer, shapes[node.inputs[0]], node.output_shape,
                                     seen[0]):
                out = seen[0]
                self.record(here, node.layer, out)
            else:
                out = self.walk(node.layer, here, seen[0])
            fields[node.output] = out
            for t, shape in zip(node.outputs[1:], node.output_shapes[1:]):
                # another output (pool indices, statistics): the same field when it has the
                # same shape as output 0, none we can tell otherwise
                fields[t] = out if shape == node.output_shape else None
                if not seen:
                    constant.add(t)
        return fields[graph.output_names[0]]

    def layer(self, module: Module, rf: ReceptiveField | None) -> ReceptiveField | None:
        """The field after a single (non-container) layer."""
        if isinstance(module, (Flatten, Reshape, Linear, _GlobalPoolNd)):
            return _whole(self.input_spatial)
        if isinstance(module, Softmax):
            return rf if module.dim == 1 else _whole(self.input_spatial)
        if _is_pointwise(module):
            return rf
        if rf is None or rf.whole_input:
            return rf
        spatial = rf.spatial
        assert spatial is not None
        if isinstance(module, (_ConvNd, _PoolNd, _AdaptivePoolNd)) and module.ndim != len(spatial):
            return None
        if isinstance(module, _ConvNd):
            pads = resolve_padding(module.padding, spatial, module.kernel_size, module.stride,
                                   module.dilation)
            out = tuple(output_size(n, k, s, p, d) for n, k, s, p, d in zip(
                spatial, module.kernel_size, module.stride, pads, module.dilation))
            return _window(rf, module.kernel_size, module.stride, module.dilation, pads, out)
        if isinstance(module, _PoolNd):
            pads = tuple((p, p) for p in module.padding)
            out = tuple(output_size(n, k, s, p, d, module.ceil_mode) for n, k, s, p, d in zip(
                spatial, module.kernel_size, module.stride, pads, module.dilation))
            return _window(rf, module.kernel_size, module.stride, module.dilation, pads, out)
        if isinstance(module, _AdaptivePoolNd):
            from convlens.functional.global_pool import resolve_output_size

            out = resolve_output_size(type(module).__name__, module.output_size, spatial)
            if any(n % o for n, o in zip(spatial, out)):
                return _whole(self.input_spatial)
            kernel = tuple(n // o for n, o in zip(spatial, out))
            return _window(rf, kernel, kernel, (1,) * len(kernel), ((0, 0),) * len(kernel), out)
        return None


def _merge(layer: Module, fields: list[ReceptiveField | None],
           out_shape: tuple[int, ...]) -> ReceptiveField | None:
    """A merge node: the bounding box of its inputs' fields (any unknown: unknown). Only
    elementwise merges and concatenation along channels keep the spatial layout."""
    if isinstance(layer, MatMul) or any(f is None for f in fields):
        return None
    if isinstance(layer, Concatenate) and layer.dim % (len(out_shape) + 1) != 1:
        return None
    known = [f for f in fields if f is not None]
    if any(f.whole_input for f in known):
        return next(f for f in known if f.whole_input)
    spatial = tuple(out_shape[1:])
    if any(f.spatial != spatial for f in known):
        return None    # broadcast along a spatial axis: no common grid
    result = known[0]
    for other in known[1:]:
        result = _union(result, other)
    return result


def _keeps_spatial_axes(layer: Module, in_shape: tuple[int, ...], out_shape: tuple[int, ...],
                        rf: ReceptiveField | None) -> bool:
    """A ``Reshape`` or ``Permute`` that regroups only the axes before the spatial ones (the
    trailing ``len(rf.spatial)`` axes stay where they are, with their sizes)."""
    if rf is None or rf.spatial is None or not isinstance(layer, (Reshape, Permute)):
        return False
    s = len(rf.spatial)
    if tuple(in_shape[-s:]) != rf.spatial or tuple(out_shape[-s:]) != rf.spatial:
        return False
    if isinstance(layer, Permute):
        n = len(layer.dims)
        return tuple(layer.dims[n - s:]) == tuple(range(n - s, n))
    return len(out_shape) > s


def _spatial(input_shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(int(n) for n in input_shape)
    if len(shape) < 2:
        raise ValueError(
            f"input_shape must be (C, *spatial) without the batch axis, e.g. (1, 28, 28); "
            f"received {tuple(input_shape)!r}"
        )
    return shape[1:]


def receptive_fields(model: Module, input_shape: Sequence[int]) -> list[LayerReceptiveField]:
    """The receptive field after every module call, in the order the model runs them.

    Args:
        model: a layer or a network (``Sequential`` and ``Residual`` are followed inside).
        input_shape: ``(C, *spatial)`` without the batch axis, e.g. ``(1, 28, 28)``.

    Containers are listed after their children; a module used twice appears twice
    (``occurrence`` 0 and 1). Fields are computed from the layers' hyperparameters alone
    (no forward pass); ``'same'`` padding is resolved for the sizes met along the way.
    """
    spatial = _spatial(input_shape)
    walker = _Walker(spatial)
    start = ReceptiveField((1,) * len(spatial), (1,) * len(spatial), (0.0,) * len(spatial), spatial)
    walker.walk(model, "", start)
    return walker.records


def receptive_field(model: Module, input_shape: Sequence[int]) -> ReceptiveField | None:
    """The receptive field of the model's output units (``None`` if unknown).

    >>> import convlens as cl
    >>> net = cl.Sequential(cl.Conv2d(1, 1, 3), cl.MaxPool2d(2), cl.Conv2d(1, 1, 3))
    >>> rf = receptive_field(net, (1, 28, 28))
    >>> rf.size, rf.jump, rf.start
    ((8, 8), (2, 2), (3.5, 3.5))
    """
    return receptive_fields(model, input_shape)[-1].receptive_field
