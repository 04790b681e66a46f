"""Operator patterns the importer reads as one layer.

MaxPool's Indices modulo the plane size (how convlens exports PyTorch's per-plane indices):
:func:`fuse_plane_indices`.

GELU before opset 20 has no operator of its own: PyTorch and convlens's exporter write the exact
GELU ``½x(1 + erf(x/√2))`` as Div (or Mul by 1/√2), Erf, Add 1, and two Mul (by x and by ½, in
either order), and the tanh form ``½x(1 + tanh(√(2/π)(x + 0.044715x³)))`` with x³ as Pow or
two Mul. :func:`fuse_gelu` replaces each such chain by one ``Gelu`` node (``approximate="tanh"``
for the second), so the file imports as ``cl.GELU`` (export then import gives the identical model
at every opset). An Erf outside the pattern stays unsupported; a Tanh outside it stays a Tanh.
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
    """``graph`` with every GELU chain of nodes (exact or tanh form) replaced by a ``Gelu``
    node (a copy; the same graph when there is none)."""
    if not any(node.op_type in ("Erf", "Tanh") for node in graph.node):
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

    def erf_head(erf: onnx.NodeProto) -> tuple[str, list[onnx.NodeProto]] | None:
        """x/√2 (Div, or Mul by 1/√2) -> Erf: x and the nodes before the gate."""
        if uses[erf.input[0]] != 1 or erf.input[0] not in producer:
            return None
        scale = producer[erf.input[0]]
        inverse = [i for i in scale.input if is_value(i, 1 / math.sqrt(2))]
        if scale.op_type == "Div" and is_value(scale.input[1], math.sqrt(2)):
            return scale.input[0], [scale]
        if scale.op_type == "Mul" and inverse and other(scale, inverse[0]) is not None:
            return other(scale, inverse[0]), [scale]
        return None

    def single(name: str, op_type: str) -> onnx.NodeProto | None:
        """The node of ``op_type`` producing ``name``, read by one node only."""
        node = producer.get(name)
        return node if node is not None and node.op_type == op_type and uses[name] == 1 else None

    def cube_of(name: str) -> tuple[str, list[onnx.NodeProto]] | None:
        """x³ as Pow(x, 3), Mul(x, Mul(x, x)) or Mul(Mul(x, x), x)."""
        pow_ = single(name, "Pow")
        if pow_ is not None and is_value(pow_.input[1], 3.0):
            return pow_.input[0], [pow_]
        outer = single(name, "Mul")
        if outer is None:
            return None
        for square_name in outer.input:
            square = single(square_name, "Mul")
            x = other(outer, square_name) if square is not None else None
            if square is not None and list(square.input) == [x, x]:
                return x, [square, outer]
        return None

    def tanh_head(tanh: onnx.NodeProto) -> tuple[str, list[onnx.NodeProto]] | None:
        """√(2/π)·(x + 0.044715·x³) -> Tanh: x and the nodes before the gate."""
        scale = single(tanh.input[0], "Mul")
        k = [i for i in scale.input if is_value(i, math.sqrt(2 / math.pi))] if scale is not None else []
        inner = single(other(scale, k[0]) or "", "Add") if k else None
        if inner is None:
            return None
        for term_name in inner.input:
            term = single(term_name, "Mul")
            kappa = [i for i in term.input if is_value(i, 0.044715)] if term is not None else []
            cube = cube_of(other(term, kappa[0]) or "") if kappa else None
            if cube is not None and other(inner, term_name) == cube[0]:
                return cube[0], [*cube[1], term, inner, scale]
        return None

    def tail(gate: onnx.NodeProto, x: str) -> list[onnx.NodeProto] | None:
        """1 + gate, times x and ½ in either order: the nodes after the gate (the last one
        computes the GELU)."""
        add = only_consumer(gate.output[0], "Add")
        if add is None or not is_value(other(add, gate.output[0]) or "", 1.0):
            return None
        times = only_consumer(add.output[0], "Mul")
        if times is None:
            return None
        factor = other(times, add.output[0])
        if factor == x:  # x·(1 + gate) then ·½ (PyTorch)
            half = only_consumer(times.output[0], "Mul")
            if half is None or not is_value(other(half, times.output[0]) or "", 0.5):
                return None
            return [add, times, half]
        half = producer.get(factor or "")  # (x·½)·(1 + gate) (convlens)
        if (half is None or half.op_type != "Mul" or uses[half.output[0]] != 1
                or other(half, x) is None or not is_value(other(half, x), 0.5)):
            return None
        return [half, add, times]

    replaced: dict[int, onnx.NodeProto] = {}   # id of the chain's last node -> the Gelu node
    removed: set[int] = set()
    for gate in graph.node:
        if gate.op_type not in ("Erf", "Tanh"):
            continue
        head = erf_head(gate) if gate.op_type == "Erf" else tanh_head(gate)
        after = tail(gate, head[0]) if head is not None else None
        if head is None or after is None:
            continue
        x, chain = head[0], [*head[1], gate, *after]
        last = chain[-1]
        scope = gate.name.rsplit("/", 1)[0] + "/Gelu" if "/" in gate.name else gate.name
        attrs = {"approximate": "tanh"} if gate.op_type == "Tanh" else {}
        replaced[id(last)] = helper.make_node("Gelu", [x], [last.output[0]], name=scope, **attrs)
        removed.update(id(n) for n in chain[:-1])
    return _spliced(graph, replaced, removed)


def _spliced(graph: onnx.GraphProto, replaced: dict[int, onnx.NodeProto],
             removed: set[int]) -> onnx.GraphProto:
    """A copy of ``graph`` with the nodes of ``replaced`` (by id) swapped for their values, those
    of ``removed`` left out, and the ``Constant`` nodes nobody reads any longer dropped (a fused
    chain's √2, 1, ½ or a plane size); ``graph`` itself when nothing was replaced."""
    if not replaced:
        return graph
    kept = [replaced.get(id(n), n) for n in graph.node if id(n) not in removed]
    needed = {name for n in kept for name in n.input} | {o.name for o in graph.output}
    fused = onnx.GraphProto()
    fused.CopyFrom(graph)
    del fused.node[:]
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
    return _spliced(graph, replaced, removed)
