"""Operator patterns the importer reads as one layer.

MaxPool's Indices modulo the plane size (how convlens exports PyTorch's per-plane indices):
:func:`fuse_plane_indices`.

GELU before opset 20 has no operator of its own: PyTorch and convlens's exporter write the exact
GELU ``½x(1 + erf(x/√2))`` as Div (or Mul by 1/√2), Erf, Add 1, and two Mul (by x and by ½, in
either order). :func:`fuse_gelu` replaces each such chain by one ``Gelu`` node, so the file
imports as ``cl.GELU`` (export then import gives the identical model at every opset). An Erf
outside the pattern stays unsupported.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import onnx
from onnx import helper, numpy_helper


def _constants_and_uses(graph: onnx.GraphProto) -> tuple[dict[str, np.ndarray], Counter]:
    """The values of initializers and ``Constant`` nodes, and how often each tensor is read
    (a graph output counts as a read)."""
    constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    uses = Counter(name for node in graph.node for name in node.input)
    uses.update(o.name for o in graph.output)
    return constants, uses


def fuse_gelu(graph: onnx.GraphProto) -> onnx.GraphProto:
    """``graph`` with every exact-GELU chain of nodes replaced by a ``Gelu`` node (a copy; the
    same graph when there is none)."""
    if not any(node.op_type == "Erf" for node in graph.node):
        return graph
    constants, uses = _constants_and_uses(graph)
    producer = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def is_value(name: str, value: float) -> bool:
        array = constants.get(name)
        return array is not None and array.size == 1 and bool(np.isclose(float(array.reshape(-1)[0]), value,
                                                                         rtol=1e-6, atol=0))

    def other(node: onnx.NodeProto, name: str) -> str | None:
        """The operand of a binary ``node`` that is not ``name``."""
        if len(node.input) != 2 or name not in node.input:
            return None
        return node.input[1] if node.input[0] == name else node.input[0]

    def only_consumer(name: str, op_type: str) -> onnx.NodeProto | None:
        found = consumers.get(name, [])
        return found[0] if uses[name] == 1 and len(found) == 1 and found[0].op_type == op_type else None

    replaced: dict[int, onnx.NodeProto] = {}   # id of the chain's last node -> the Gelu node
    removed: set[int] = set()
    for erf in graph.node:
        if erf.op_type != "Erf" or uses[erf.input[0]] != 1 or erf.input[0] not in producer:
            continue
        scale = producer[erf.input[0]]
        inverse = [i for i in scale.input if is_value(i, 1 / math.sqrt(2))]
        if scale.op_type == "Div" and is_value(scale.input[1], math.sqrt(2)):
            x = scale.input[0]
        elif scale.op_type == "Mul" and inverse and other(scale, inverse[0]) is not None:
            x = other(scale, inverse[0])
        else:
            continue
        add = only_consumer(erf.output[0], "Add")
        if add is None or not is_value(other(add, erf.output[0]) or "", 1.0):
            continue
        times = only_consumer(add.output[0], "Mul")
        if times is None:
            continue
        factor = other(times, add.output[0])
        if factor == x:  # x·(1 + erf) then ·½ (PyTorch)
            half = only_consumer(times.output[0], "Mul")
            chain = [scale, erf, add, times, half]
            if half is None or not is_value(other(half, times.output[0]) or "", 0.5):
                continue
        else:  # (x·½)·(1 + erf) (convlens)
            half = producer.get(factor or "")
            chain = [half, scale, erf, add, times]
            if (half is None or half.op_type != "Mul" or uses[half.output[0]] != 1
                    or other(half, x) is None or not is_value(other(half, x), 0.5)):
                continue
        last = chain[-1]
        scope = erf.name.rsplit("/", 1)[0] + "/Gelu" if "/" in erf.name else erf.name
        replaced[id(last)] = helper.make_node("Gelu", [x], [last.output[0]], name=scope)
        removed.update(id(n) for n in chain[:-1] if n is not None)
    if not replaced:
        return graph
    kept = [replaced.get(id(n), n) for n in graph.node if id(n) not in removed]
    needed = {name for n in kept for name in n.input} | {o.name for o in graph.output}
    fused = onnx.GraphProto()
    fused.CopyFrom(graph)
    del fused.node[:]  # the chain's Constant nodes (√2, 1, ½) go with it
    fused.node.extend(n for n in kept if n.op_type != "Constant" or any(o in needed for o in n.output))
    return fused


#: the attribute :func:`fuse_plane_indices` gives a MaxPool whose Indices it takes over
PLANE_SIZE = "convlens_plane_size"


def fuse_plane_indices(graph: onnx.GraphProto) -> onnx.GraphProto:
    """``graph`` with each ``Mod(MaxPool.Indices, P)`` (P a constant, the Indices used by that
    Mod alone) folded into the MaxPool: its Indices output becomes the Mod's, marked with
    ``convlens_plane_size = P``. convlens's exporter writes per-plane indices (PyTorch's) that
    way; the MaxPool converter checks that P is the plane size ∏S. Any other Mod stays
    unsupported. A copy; the same graph when there is none."""
    mods = [n for n in graph.node if n.op_type == "Mod"]
    if not mods:
        return graph
    constants, uses = _constants_and_uses(graph)
    pools = {n.output[1]: n for n in graph.node if n.op_type == "MaxPool" and len(n.output) > 1}
    replaced: dict[int, onnx.NodeProto] = {}
    removed: set[int] = set()
    for mod in mods:
        pool = pools.get(mod.input[0])
        size = constants.get(mod.input[1]) if len(mod.input) == 2 else None
        if pool is None or size is None or size.size != 1 or uses[mod.input[0]] != 1:
            continue
        fused = onnx.NodeProto()
        fused.CopyFrom(pool)
        fused.output[1] = mod.output[0]
        fused.attribute.append(helper.make_attribute(PLANE_SIZE, int(size.reshape(-1)[0])))
        replaced[id(pool)] = fused
        removed.add(id(mod))
    if not replaced:
        return graph
    result = onnx.GraphProto()
    result.CopyFrom(graph)
    del result.node[:]
    result.node.extend(replaced.get(id(n), n) for n in graph.node if id(n) not in removed)
    return result
