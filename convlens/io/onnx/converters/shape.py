"""Operators that move values: Flatten, Reshape, Transpose, Squeeze, Unsqueeze, Concat, Pad,
Slice, Gather, DepthToSpace, SpaceToDepth, and Shape (a constant at import).

The batch axis (axis 0) stays where it is: an operator that would move it or change its size is
refused with a message. Shape arithmetic on constants (Shape → Gather → Unsqueeze → Concat →
Reshape, as older PyTorch exports write ``x.view(x.size(0), -1)``) is folded by the importer;
the batch size in it is :data:`BATCH`, so the Reshape it feeds keeps a dynamic batch.
"""

from __future__ import annotations

import numpy as np

import convlens.layers as L
from convlens.io.onnx.converters.registry import BATCH, Node, converter


def _axes(node: Node, index: int, name: str = "axes") -> list[int] | None:
    """Axes from the attribute (older opsets) or from input ``index`` (newer ones)."""
    if name in node.attrs:
        return [int(a) for a in node.attrs[name]]
    return node.constant_ints(index, name)


@converter("Shape")
def convert_shape(node: Node):
    shape = np.array(node.shape(node.input(0)), dtype=np.int64)
    rank = shape.size
    start = node.attr("start", 0)
    end = node.attr("end", rank)
    return shape[start:end]


@converter("Size")
def convert_size(node: Node):
    if node.batched:
        raise node.fail("the Size of a run-time tensor depends on the batch size")
    return np.array(int(np.prod(node.shape(node.input(0)))), dtype=np.int64)


@converter("Flatten")
def convert_flatten(node: Node):
    x = node.input(0)
    rank = node.rank(x)
    axis = node.attr("axis", 1)
    axis = axis % rank if axis < 0 else axis
    shape = node.shape(x)
    if not node.batched:  # one example: (a, b, …) -> (a·…, rest·…)
        return node.apply(L.Reshape(int(np.prod(shape[:axis])), int(np.prod(shape[axis:]))), x)
    if axis == 0:
        raise node.fail("axis=0 folds the batch axis into one row")
    if axis == 1 and rank == 1:  # (N,) -> (N, 1): each example a row of one
        return node.apply(L.Reshape(1), x)
    if axis == 1:
        return node.apply(L.Flatten(1), x)
    # (N, a, b, …) -> (N·a…, rest): the rows grow with the batch; only axis 1 keeps it whole
    raise node.fail(f"axis={axis} on a {shape[1:]} example merges the batch axis with axes 1..{axis - 1}")


@converter("Reshape")
def convert_reshape(node: Node):
    x = node.input(0)
    target = [int(v) for v in node.constant(1, "target shape").reshape(-1)]
    shape = node.shape(x)
    allowzero = node.attr("allowzero", 0)
    if not allowzero:  # 0 copies the input's size on that axis
        target = [shape[i] if v == 0 and i < len(shape) else v for i, v in enumerate(target)]
    if not node.batched:
        return node.apply(L.Reshape(*target), x)
    per_example = int(np.prod(shape[1:]))
    if target and (target[0] == BATCH or (target[0] in node.static_batches and target[0] != -1)):
        rest = target[1:]  # the batch size, or the fixed batch size the file was exported with
    elif target and target[0] == -1 and -1 not in target[1:] and int(np.prod(target[1:])) == per_example:
        rest = target[1:]
    else:
        raise node.fail(f"target shape {target} does not keep the batch axis (expected "
                        f"[N or 0, …] for an input of shape (N, {', '.join(map(str, shape[1:]))}))")
    if BATCH in rest:
        raise node.fail(f"target shape {target} uses the batch size on an axis other than 0")
    return node.apply(L.Reshape(*rest), x)


@converter("Transpose")
def convert_transpose(node: Node):
    x = node.input(0)
    rank = node.rank(x)
    perm = [int(p) for p in node.attr("perm", list(range(rank))[::-1])]
    if not node.batched:
        return node.apply(L.Permute(0, *(p + 1 for p in perm)), x)
    if perm[0] != 0:
        raise node.fail(f"perm={perm} moves the batch axis")
    return node.apply(L.Permute(*perm), x)


@converter("Squeeze")
def convert_squeeze(node: Node):
    x = node.input(0)
    shape = node.shape(x)
    axes = _axes(node, 1)
    if axes is None:
        axes = [i for i, s in enumerate(shape) if s == 1 and i > 0]
    axes = sorted(a % len(shape) for a in axes)
    node.refuse_batch_axis(axes, "squeezing")
    kept = [s for i, s in enumerate(shape) if i not in axes]
    return node.apply(L.Reshape(*node.per_example(kept)), x)


@converter("Unsqueeze")
def convert_unsqueeze(node: Node):
    x = node.input(0)
    shape = list(node.shape(x))
    axes = _axes(node, 1)
    rank = len(shape) + len(axes)
    axes = sorted(a % rank for a in axes)
    node.refuse_batch_axis(axes, "inserting an axis before")
    for a in axes:
        shape.insert(a, 1)
    return node.apply(L.Reshape(*node.per_example(shape)), x)


@converter("Concat")
def convert_concat(node: Node):
    values = [v for v in node.inputs if v is not None]
    rank = node.rank(values[0])
    axis = node.axis(node.attr("axis"), rank)
    node.refuse_batch_axis([axis], "concatenating along")
    if len(values) == 1:
        return node.apply(L.Identity(), values[0])
    return node.apply(L.Concatenate(dim=node.dim(axis)), *values)


@converter("Pad")
def convert_pad(node: Node):
    x = node.input(0)
    rank = node.rank(x)
    if node.opset < 11:
        pads = [int(p) for p in node.attr("pads")]
        value = float(node.attr("value", 0.0))
    else:
        pads = node.constant_ints(1, "pads")
        constant = node.constant(2, "constant value")
        value = 0.0 if constant is None else float(np.asarray(constant).reshape(-1)[0])
    axes = _axes(node, 3) if node.opset >= 18 else None
    if axes is None:
        axes = list(range(rank))
    axes = [a % rank for a in axes]
    pairs = [(0, 0)] * rank
    for i, a in enumerate(axes):
        pairs[a] = (pads[i], pads[i + len(axes)])
    if pairs[0] != (0, 0) and node.batched:
        raise node.fail("padding the batch axis")
    while pairs and pairs[0] == (0, 0):
        pairs = pairs[1:]  # Pad counts its pairs from the last axis
    mode = node.attr("mode", "constant")
    return node.apply(L.Pad(pairs, mode, value), x)


@converter("Slice")
def convert_slice(node: Node):
    x = node.input(0)
    shape = node.shape(x)
    rank = len(shape)
    if node.opset < 10:
        starts, ends = node.attr("starts"), node.attr("ends")
        axes = node.attr("axes", list(range(len(starts))))
        steps = [1] * len(starts)
    else:
        starts, ends = node.constant_ints(1, "starts"), node.constant_ints(2, "ends")
        axes = node.constant_ints(3, "axes") or list(range(len(starts)))
        steps = node.constant_ints(4, "steps") or [1] * len(starts)
    index = [slice(None)] * rank
    for start, end, axis, step in zip(starts, ends, axes, steps):
        axis %= rank
        if axis == 0 and node.batched:
            if (start, step) == (0, 1) and end >= 2**31 - 1:
                continue  # the whole batch
            raise node.fail("slicing the batch axis")
        index[axis] = _canonical_slice(int(start), int(end), int(step), shape[axis])
    index = index[1:] if node.batched else index
    while index and index[-1] == slice(None):
        index.pop()
    return node.apply(L.Slice(tuple(index)), x)


def _canonical_slice(start: int, end: int, step: int, size: int) -> slice:
    """The slice in its plainest form: None where a bound is the default for its direction."""
    first, stop, step = slice(start, end, step).indices(size)
    if step > 0:
        return slice(None if first == 0 else first, None if stop >= size else stop,
                     None if step == 1 else step)
    # stepping backwards, indices() gives −1 for "past the front" (as a stop, -1 means the end)
    return slice(None if first == size - 1 else first, None if stop < 0 else stop, step)


@converter("Gather")
def convert_gather(node: Node):
    """Rows of a constant table picked by run-time indices: an Embedding layer (the table a
    Parameter); entries of a run-time tensor picked by constant indices: a Gather layer."""
    x = node.input(0)
    if isinstance(x, np.ndarray) and x.ndim == 2 and node.attr("axis", 0) == 0:
        layer = L.Embedding(x.shape[0], x.shape[1], dtype=x.dtype, _weight=x)
        return node.apply(layer, node.input(1))
    rank = node.rank(x)
    axis = node.axis(node.attr("axis", 0), rank)
    indices = node.constant(1, "indices")
    node.refuse_batch_axis([axis], "gathering along")
    size = node.shape(x)[axis]
    indices = np.where(indices < 0, indices + size, indices)
    return node.apply(L.Gather(indices, node.dim(axis)), x)


@converter("DepthToSpace")
def convert_depth_to_space(node: Node):
    block = int(node.attr("blocksize"))
    x = node.input(0)
    if node.attr("mode", "DCR") == "CRD":
        return node.apply(L.PixelShuffle(block), x)
    _, c, h, w = node.shape(x)
    split = node.apply(L.Reshape(block, block, c // block**2, h, w), x)
    moved = node.apply(L.Permute(0, 3, 4, 1, 5, 2), split)
    return node.apply(L.Reshape(c // block**2, h * block, w * block), moved)


@converter("SpaceToDepth")
def convert_space_to_depth(node: Node):
    block = int(node.attr("blocksize"))
    x = node.input(0)
    if node.attr("mode", "DCR") == "CRD":  # channel order c·r² + i·r + j: PyTorch's
        return node.apply(L.PixelUnshuffle(block), x)
    _, c, h, w = node.shape(x)
    split = node.apply(L.Reshape(c, h // block, block, w // block, block), x)
    moved = node.apply(L.Permute(0, 3, 5, 1, 2, 4), split)
    return node.apply(L.Reshape(c * block * block, h // block, w // block), moved)


@converter("Constant")
def convert_constant(node: Node):  # pragma: no cover - constants are folded by the importer
    raise node.fail("a Constant node is folded at import")


@converter("Split")
def convert_split(node: Node):
    """Equal parts, or the sizes of ``split`` (an attribute before opset 13, an input after),
    each a Slice along ``axis``."""
    x = node.input(0)
    shape = node.shape(x)
    axis = node.axis(node.attr("axis", 0), len(shape))
    node.refuse_batch_axis([axis], "splitting")
    sizes = node.attr("split") if node.opset < 13 else node.constant_ints(1, "split sizes")
    if not sizes:
        parts = node.attr("num_outputs", node.num_outputs)
        step = -(-shape[axis] // parts)
        sizes = [min(step, shape[axis] - i * step) for i in range(parts)]
    outputs, start = [], 0
    for size in sizes:
        index = [slice(None)] * len(node.per_example(shape))
        index[node.dim(axis) - 1] = slice(start, start + int(size), 1)
        outputs.append(node.apply(L.Slice(tuple(index)), x))
        start += int(size)
    return outputs
