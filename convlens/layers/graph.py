"""Graph models: any directed acyclic graph of layers, built with a functional API.

Real architectures are not chains: Inception concatenates branches, DenseNet feeds every
layer to every later one, ResNet adds shortcuts. Call layers on symbolic tensors to draw the
graph, then wrap its ends in a ``Graph``:

    x = cl.Input((3, 32, 32), name="image")          # shape without the batch axis
    a = cl.ReLU()(cl.Conv2d(3, 16, 3, padding=1)(x, name="conv1"))
    b = cl.Conv2d(3, 16, 1)(x)                        # a second branch from the same input
    s = cl.Add()(a, b)                                # the branches meet
    model = cl.Graph(inputs=x, outputs=cl.Flatten()(cl.GlobalAvgPool2d()(s)))
    y = model(images)                                 # arrays in, arrays out
    dx = model.backward(dy)

Names: a node called without ``name=`` gets ``<layer in snake case>_<k>`` (``relu_1``); when a
``Graph`` is built, such default names are renumbered within that graph, in topological order
(skipping the names given explicitly), so the same architecture built twice in one process has
the same node names and ``state_dict`` keys. The tensors take their final names then.

Forward runs the nodes in topological order (the order they were created in, which always is
one). Backward runs them in reverse; a tensor used by several nodes (fan-out) receives the
sum of their gradients, as ``dL/dx = Σ_k ∂L/∂y_k · ∂y_k/∂x`` says. The same layer object may
serve several nodes (weight sharing): each call's cache is kept per node and put back before
that node's backward, so the shared parameters receive the sum over the calls.

Several outputs: a layer whose forward returns a tuple of arrays (``LayerNorm(...,
return_stats=True)``, ``MaxPool2d(..., return_indices=True)``) makes a node with one symbolic
tensor per output, as Keras's functional API does: ``y, mean, inv_std = layer(x)``. Output 0
carries the node's name, output ``i > 0`` the name ``"<node>:<i>"``. Backward hands the layer
one gradient per output: the sum over that output's users, and zeros for a floating output
nothing downstream uses (``None`` for an integer output such as pooling indices, which has no
gradient).
"""

from __future__ import annotations

import itertools
import operator
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from convlens.functional import engine
from convlens.layers.container import backward_with, call_state
from convlens.layers.module import Module

_node_counters: dict[str, itertools.count] = defaultdict(lambda: itertools.count(1))
_creation = itertools.count()


def _snake(name: str) -> str:
    """``Conv2d`` -> ``conv2d``, ``GlobalAvgPool2d`` -> ``global_avg_pool2d``, ``ReLU`` ->
    ``relu``, ``LeakyReLU`` -> ``leaky_relu``: a word starts at a capital followed by a
    lower-case letter, after a lower-case letter or digit."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])", "_", name).lower()


def _default_name(prefix: str) -> str:
    return f"{prefix}_{next(_node_counters[prefix])}"


@dataclass(eq=False)
class GraphNode:
    """One call of a layer: ``output = layer(*inputs)``; tensors are named by strings (an
    ``Input``'s name, or the name of the node that produced it, which is the node's own; a
    node with several outputs names output ``i > 0`` ``"<node>:<i>"``)."""

    name: str
    layer: Module
    inputs: list[str]
    output: str
    input_tensors: list[SymbolicTensor] = field(default_factory=list, repr=False)
    order: int = field(default_factory=lambda: next(_creation), repr=False)
    #: the symbolic tensor of every output (one for most layers)
    output_tensors: list[SymbolicTensor] = field(default_factory=list, repr=False)
    #: whether the layer returns a tuple of arrays (one per output) rather than one array
    returns_tuple: bool = field(default=False, repr=False)

    @property
    def output_tensor(self) -> SymbolicTensor | None:
        """The symbolic tensor of output 0."""
        return self.output_tensors[0] if self.output_tensors else None

    @property
    def output_shape(self) -> tuple[int, ...]:
        """Output 0's shape without the batch axis (the whole shape for a constant's);
        ``output_shapes`` holds every output's."""
        return self.output_tensors[0].shape if self.output_tensors else ()

    @property
    def num_outputs(self) -> int:
        return len(self.output_tensors) if self.returns_tuple else 1

    @property
    def outputs(self) -> list[str]:
        """The names of the node's output tensors, in the order the layer returns them."""
        return [self.output] + [output_name(self.output, i) for i in range(1, self.num_outputs)]

    @property
    def output_shapes(self) -> list[tuple[int, ...]]:
        return [t.shape for t in self.output_tensors] if self.returns_tuple else [self.output_shape]


def output_name(node_name: str, index: int) -> str:
    """The name of output ``index`` of the node ``node_name``: its own name for output 0."""
    return node_name if index == 0 else f"{node_name}:{index}"


class SymbolicTensor:
    """A tensor of a graph being drawn: its ``shape`` without the batch axis, its ``name``
    and the ``node`` that produces it (``None`` for an ``Input``).

    ``batched`` is False for tensors computed from constants only (they have no batch axis;
    ``shape`` is then the whole shape).
    """

    def __init__(self, shape: tuple[int, ...], name: str, node: GraphNode | None,
                 dtype: Any = np.float32, batched: bool = True,
                 default_prefix: str | None = None, index: int = 0) -> None:
        self.shape = tuple(int(n) for n in shape)
        self.name = name
        self.node = node
        #: which output of ``node`` this tensor is (0 for all but multi-output nodes)
        self.index = index
        self.dtype = np.dtype(dtype)
        self.batched = batched
        #: set while the name is a provisional default (``relu`` for ``relu_7``): the first
        #: Graph built over this tensor gives it its final name (see the module docstring)
        self.default_prefix = default_prefix

    def _rename(self, name: str) -> None:
        self.name = name
        self.default_prefix = None
        if self.node is not None:
            self.node.name = self.node.output = name
            for sibling in self.node.output_tensors:   # the other outputs of the same node
                sibling.name = output_name(name, sibling.index)
                sibling.default_prefix = None

    def example(self) -> np.ndarray:
        """Zeros of this tensor's shape, with a batch axis of 1 when it has one."""
        return np.zeros(((1,) if self.batched else ()) + self.shape, dtype=self.dtype)

    def __repr__(self) -> str:
        shape = ("N", *self.shape) if self.batched else self.shape
        return f"SymbolicTensor(name={self.name!r}, shape=({', '.join(map(str, shape))}))"


def Input(shape: Sequence[int] | int, name: str | None = None, dtype: Any = np.float32
          ) -> SymbolicTensor:
    """A graph's entry: a symbolic tensor of ``shape`` (without the batch axis)."""
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    try:
        dims = tuple(operator.index(n) for n in shape)  # 1.5 or "3" is refused, not truncated
    except TypeError:
        raise TypeError(f"Input expects a shape (a tuple of sizes without the batch axis), "
                        f"received {shape!r}") from None
    if any(n < 0 for n in dims):
        raise ValueError(f"Input shape sizes must be non-negative, received {dims}")
    return SymbolicTensor(dims, name or _default_name("input"), None, dtype,
                          default_prefix=None if name else "input")


def call_symbolic(layer: Module, xs: Sequence[Any], name: str | None
                  ) -> SymbolicTensor | tuple[SymbolicTensor, ...]:
    """``layer(*xs)`` on symbolic tensors: add a node and return its output tensor (a tuple
    of them when the layer returns several arrays).

    The output shape comes from running the layer once on zeros with a batch of 1, in eval
    mode and without keeping anything, so no layer needs separate shape code. An output the
    layer lists in ``unbatched_outputs`` (e.g. batch statistics) has no batch axis.
    """
    kind = type(layer).__name__
    for i, x in enumerate(xs):
        if not isinstance(x, SymbolicTensor):
            raise TypeError(
                f"{kind}: input {i} is a {type(x).__name__}, but the other inputs are symbolic "
                "tensors; every input of a graph node must be one (wrap arrays in cl.Constant)")
    expected = getattr(layer, "num_inputs", 1)
    if expected is not None and len(xs) != expected:
        raise ValueError(f"{kind} takes {expected} input{'s' if expected != 1 else ''}, "
                         f"received {len(xs)}")
    if expected is None and not xs:
        raise ValueError(f"{kind} takes at least one input, received none")
    prefix = None if name is not None else _snake(kind)
    name = name if name is not None else _default_name(_snake(kind))
    if not isinstance(name, str) or not name:
        raise TypeError(f"a node name must be a non-empty string, received {name!r}")
    ys = _infer(layer, xs, name)
    batched = any(x.batched for x in xs)
    unbatched = set(getattr(layer, "unbatched_outputs", ()))
    node = GraphNode(name, layer, [x.name for x in xs], name, list(xs))
    for i, y in enumerate(ys if isinstance(ys, tuple) else (ys,)):
        has_batch = batched and i not in unbatched
        node.output_tensors.append(SymbolicTensor(
            y.shape[1:] if has_batch else y.shape, output_name(name, i), node, y.dtype, has_batch,
            default_prefix=prefix if i == 0 else None, index=i))
    node.returns_tuple = isinstance(ys, tuple)
    return tuple(node.output_tensors) if node.returns_tuple else node.output_tensors[0]


def _infer(layer: Module, xs: Sequence[SymbolicTensor], name: str) -> Any:
    """Run ``layer`` on zeros of the inputs' shapes; every mode and cache is put back (a
    model being drawn may be in the middle of a training step)."""
    modes = [(m, m.training) for m in layer.modules()]
    caches = [(m, m._cache, m.__dict__.get("_output_shape")) for m in layer.modules()
              if hasattr(m, "_cache")]
    layer.eval()
    try:
        with engine.no_grad(), np.errstate(all="ignore"):
            # a layer that knows its output shape without computing (a convolution) says so
            quick = getattr(layer, "output_example", None)
            examples = [x.example() for x in xs]
            y = quick(*examples) if quick is not None else layer.forward(*examples)
    except (ValueError, TypeError, IndexError) as error:
        shapes = ", ".join(str(x.shape) for x in xs)
        raise ValueError(f"node {name!r} ({type(layer).__name__}) cannot take input shape "
                         f"{shapes} (batch axis left out): {error}") from None
    finally:
        for module, mode in modes:
            module.training = mode
        for module, cache, output_shape in caches:
            module._cache = cache
            module._output_shape = output_shape
    if isinstance(y, tuple) and y and all(isinstance(v, np.ndarray) for v in y):
        return y   # a node with several outputs
    if not isinstance(y, np.ndarray):
        raise TypeError(f"node {name!r} ({type(layer).__name__}) must return an array or a "
                        f"tuple of arrays, returned {type(y).__name__}")
    return y


def _as_list(value: Any, what: str, allow_none: bool = False) -> list[SymbolicTensor]:
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    for item in items:
        if not isinstance(item, SymbolicTensor):
            raise TypeError(f"Graph {what} must be symbolic tensors (from cl.Input or a layer "
                            f"called on one), received {type(item).__name__}")
    if not items and not allow_none:
        raise ValueError(f"Graph needs at least one of its {what}")
    return items


class Graph(Module):
    """A model whose layers form a directed acyclic graph (see the module docstring).

    Args:
        inputs: the ``cl.Input`` tensor(s) the model takes, in the order of ``model(a, b)``
            (``[]`` for a model computed from constants alone: ``model()``).
        outputs: the tensor(s) it returns (a tuple when several).

    Attributes:
        nodes: the ``GraphNode`` list in topological order.
        input_names, output_names: tensor names, in call / return order.
        input_shapes: each input's shape without the batch axis.

    ``named_children`` yields ``(node_name, layer)`` (a shared layer once, under its first
    node), so ``state_dict`` keys read ``conv1.weight``.
    """

    takes_bool = True   # inputs pass as they are: each node's layer converts what it must

    def __init__(self, inputs: Any, outputs: Any) -> None:
        super().__init__()
        input_tensors = _as_list(inputs, "inputs", allow_none=True)  # [] : constants only
        output_tensors = _as_list(outputs, "outputs")
        self.nodes = _collect(input_tensors, output_tensors)   # gives default names their final form
        self.input_names = [t.name for t in input_tensors]
        self.input_shapes = [t.shape for t in input_tensors]
        self._input_dtypes = [t.dtype for t in input_tensors]
        self.output_names = [t.name for t in output_tensors]
        self.output_shapes = [t.shape for t in output_tensors]
        #: False for an output without a batch axis (constants, batch statistics)
        self.output_batched = [t.batched for t in output_tensors]
        self.num_inputs = len(self.input_names)
        self.takes_empty = any(0 in shape for shape in self.input_shapes)  # a zero-size Input
        self._plan()
        self._cache: Any = None
        #: the node whose layer runs right now (forward or backward); the profiler reads it
        #: to time a shared layer per node
        self.running_node: GraphNode | None = None

    def _plan(self) -> None:
        """Precompute, per node, when each tensor is last used (to free it in forward)."""
        last_use: dict[str, int] = {}
        for i, node in enumerate(self.nodes):
            for t in node.inputs:
                last_use[t] = i
        for i, node in enumerate(self.nodes):
            for t in node.outputs:
                last_use.setdefault(t, i)   # an output nobody uses: freed right away
        keep = set(self.output_names)
        self._free_after: list[list[str]] = [[] for _ in self.nodes]
        for t, i in last_use.items():
            if t not in keep:
                self._free_after[i].append(t)

    # -- structure -------------------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen: set[int] = set()
        for node in self.nodes:
            if id(node.layer) not in seen:
                seen.add(id(node.layer))
                yield node.name, node.layer

    def node(self, name: str) -> GraphNode:
        """The node called ``name``; the error lists the names there are."""
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(f"no node named {name!r} in this graph; nodes: "
                       f"{', '.join(n.name for n in self.nodes)}")

    def tensor_shapes(self) -> dict[str, tuple[int, ...]]:
        """Tensor name -> its shape without the batch axis (inputs and every node output)."""
        shapes = dict(zip(self.input_names, self.input_shapes))
        for node in self.nodes:
            shapes.update(zip(node.outputs, node.output_shapes))
        return shapes

    def consumers(self) -> dict[str, list[str]]:
        """Tensor name -> the names of the nodes that use it (in order)."""
        users: dict[str, list[str]] = {name: [] for name in self.input_names}
        for node in self.nodes:
            for t in node.outputs:
                users.setdefault(t, [])
            for t in node.inputs:
                users.setdefault(t, []).append(node.name)
        return users

    # -- computation -----------------------------------------------------------------------
    def __call__(self, *xs: Any, name: str | None = None) -> Any:
        if not xs and name is None:   # a graph of constants only: model() computes it
            return self.run_forward()
        return super().__call__(*xs, name=name)

    def forward(self, *xs: np.ndarray) -> Any:
        if len(xs) != len(self.input_names):
            raise ValueError(f"this graph takes {len(self.input_names)} input(s) "
                             f"({', '.join(self.input_names)}), received {len(xs)}")
        values: dict[str, np.ndarray] = {}
        for name, shape, x in zip(self.input_names, self.input_shapes, xs):
            x = np.asarray(x)
            if x.shape[1:] != shape:
                raise ValueError(f"input {name!r} expects shape (N, {', '.join(map(str, shape))})"
                                 f", received {x.shape}")
            values[name] = x
        caches: dict[str, Any] = {}
        for node, free in zip(self.nodes, self._free_after):
            self.running_node = node
            y = node.layer.run_forward(*(values[t] for t in node.inputs))
            caches[node.name] = call_state(node.layer)  # its cache and output shape
            if node.returns_tuple:
                if not isinstance(y, tuple) or len(y) != node.num_outputs:
                    raise ValueError(f"node {node.name!r} ({type(node.layer).__name__}) returned "
                                     f"{len(y) if isinstance(y, tuple) else 1} output(s) "
                                     f"instead of {node.num_outputs}")
                values.update(zip(node.outputs, y))
            else:
                values[node.output] = y
            for t in free:
                del values[t]
        self.running_node = None
        self._cache = (caches, len(xs[0]) if xs else 0)
        outputs = tuple(values[name] for name in self.output_names)
        return outputs[0] if len(outputs) == 1 else outputs

    def backward(self, dy: Any, need_input_grad: bool = True) -> Any:
        """Gradients flow from the outputs back through every node in reverse order.

        ``dy``: one array, or a tuple with one per output (``None`` for an output the loss
        does not use). Returns dL/dx (a tuple when the graph has several inputs; zeros for an
        input no output depends on), or ``None`` when ``need_input_grad`` is False.
        """
        caches, batch = self._cached()
        dys = dy if isinstance(dy, (tuple, list)) else (dy,)
        if len(dys) != len(self.output_names):
            raise ValueError(f"this graph has {len(self.output_names)} output(s), so backward "
                             f"expects that many gradients, received {len(dys)}")
        needed = self._needs_grad(need_input_grad)
        grads: dict[str, np.ndarray] = {}
        for name, g in zip(self.output_names, dys):
            if g is not None:
                _accumulate(grads, name, np.asarray(g))
        for node in reversed(self.nodes):
            if node.returns_tuple:
                g = _output_grads(node, [grads.pop(t, None) for t in node.outputs],
                                  caches[node.name][1])
            else:
                g = grads.pop(node.output, None)
            if g is None:
                continue  # nothing downstream of this node reaches the loss
            layer = node.layer
            wanted = [needed[t] for t in node.inputs]
            self.running_node = node
            result = backward_with(layer, caches[node.name], g, any(wanted))
            self.running_node = None
            parts = (result,) if getattr(layer, "num_inputs", 1) == 1 else tuple(result)
            for t, part, want in zip(node.inputs, parts, wanted):
                if want and part is not None:
                    _accumulate(grads, t, part)
        if not need_input_grad:
            return None
        dxs = tuple(grads[name] if name in grads else np.zeros((batch,) + shape, dtype)
                    for name, shape, dtype in zip(self.input_names, self.input_shapes,
                                                  self._input_dtypes))
        return dxs[0] if len(dxs) == 1 else dxs

    def _needs_grad(self, need_input_grad: bool) -> dict[str, bool]:
        """Tensor name -> whether anything upstream of it wants a gradient (an input when
        ``need_input_grad``, or a trainable parameter)."""
        needed = {name: need_input_grad for name in self.input_names}
        for node in self.nodes:
            trainable = any(p.requires_grad for p in node.layer.parameters())
            wanted = trainable or any(needed[t] for t in node.inputs)
            needed.update((t, wanted) for t in node.outputs)
        return needed

    # -- serialization ---------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        from convlens.layers.spec import to_spec

        first_user: dict[int, str] = {}
        nodes = []
        for node in self.nodes:
            layer = to_spec(node.layer)   # a layer met before: {"shared": its dotted path}
            if id(node.layer) in first_user and "shared" not in layer:
                layer = {"shared": first_user[id(node.layer)]}   # get_config called directly
            first_user.setdefault(id(node.layer), node.name)
            nodes.append({"name": node.name, "layer": layer, "inputs": list(node.inputs)})
        inputs = [{"name": n, "shape": list(s)} for n, s in zip(self.input_names, self.input_shapes)]
        return {"inputs": inputs, "nodes": nodes, "outputs": list(self.output_names)}

    @classmethod
    def from_config(cls, config: dict[str, Any], where: str = "model") -> Graph:
        from convlens.layers.spec import SpecError, from_spec

        for key in ("inputs", "nodes", "outputs"):
            if not isinstance(config.get(key), list):
                raise SpecError(f"{where} (Graph): expected {key!r} to be a list, received "
                                f"{type(config.get(key)).__name__}")
        tensors: dict[str, SymbolicTensor] = {}
        inputs = []
        for i, item in enumerate(config["inputs"]):
            if not isinstance(item, dict) or "name" not in item or "shape" not in item:
                raise SpecError(f"{where}.inputs[{i}]: expected {{'name': ..., 'shape': [...]}},"
                                f" received {item!r}")
            tensors[item["name"]] = Input(item["shape"], name=item["name"])
            inputs.append(tensors[item["name"]])
        layers: dict[str, Module] = {}
        for i, item in enumerate(config["nodes"]):
            if not isinstance(item, dict) or not {"name", "layer"} <= set(item):
                raise SpecError(f"{where}.nodes[{i}]: expected {{'name', 'layer', 'inputs'}}, "
                                f"received {item!r}")
            name, spec = item["name"], item["layer"]
            here = f"{where}.{name}"
            if isinstance(spec, dict) and spec.get("shared") in layers:
                layer = layers[spec["shared"]]       # the layer of an earlier node
            else:
                layer = from_spec(spec, here)        # (a dotted path: found by from_spec)
            layers[name] = layer
            missing = [t for t in item.get("inputs", []) if t not in tensors]
            if missing:
                raise SpecError(f"{here}: input(s) {missing} are not an Input or an earlier node")
            try:
                made = layer(*(tensors[t] for t in item.get("inputs", [])), name=name)
            except (ValueError, TypeError) as error:
                raise SpecError(f"{here}: {error}") from None
            for i, tensor in enumerate(made if isinstance(made, tuple) else (made,)):
                tensors[output_name(name, i)] = tensor
        missing = [t for t in config["outputs"] if t not in tensors]
        if missing:
            raise SpecError(f"{where} (Graph): output(s) {missing} are not tensors of the graph")
        outputs = [tensors[t] for t in config["outputs"]]
        return cls(inputs if len(inputs) != 1 else inputs[0],
                   outputs if len(outputs) > 1 else outputs[0])

    def extra_repr(self) -> str:
        return (f"inputs={self.input_names}, outputs={self.output_names}, "
                f"nodes={len(self.nodes)}")

    def __repr__(self) -> str:
        lines = [f"Graph({self.extra_repr()}"]
        for node in self.nodes:
            layer = repr(node.layer).replace("\n", "\n    ")
            lines.append(f"  ({node.name}) <- {', '.join(node.inputs) or '∅'}: {layer}")
        return "\n".join(lines) + "\n)"


def _output_grads(node: GraphNode, grads: list[np.ndarray | None], shapes: Any
                  ) -> tuple[np.ndarray | None, ...] | None:
    """The gradients a multi-output node's backward receives, one per output: zeros (of the
    shape its forward returned) for a floating output no user sent a gradient to, ``None``
    for an integer output (indices carry none); ``None`` when no output has a gradient."""
    if all(g is None for g in grads):
        return None
    return tuple(g if g is not None else
                 np.zeros(shape, t.dtype) if np.issubdtype(t.dtype, np.inexact) else None
                 for g, shape, t in zip(grads, shapes, node.output_tensors))


def _accumulate(grads: dict[str, np.ndarray], name: str, g: np.ndarray) -> None:
    # a new array, never in place: the gradient a layer returned may be its own buffer
    grads[name] = grads[name] + g if name in grads else g


def _final_names(inputs: list[SymbolicTensor], nodes: list[GraphNode]) -> None:
    """Give the tensors that still carry a provisional default name their final one:
    ``<prefix>_<k>``, counted within this graph (inputs in order, then nodes in topological
    order), skipping every name already fixed."""
    tensors = list(inputs) + [n.output_tensor for n in nodes if n.output_tensor is not None]
    taken = {t.name for t in tensors if t.default_prefix is None}
    counters: dict[str, itertools.count] = defaultdict(lambda: itertools.count(1))
    for tensor in tensors:
        if tensor.default_prefix is None:
            continue
        name = f"{tensor.default_prefix}_{next(counters[tensor.default_prefix])}"
        while name in taken:
            name = f"{tensor.default_prefix}_{next(counters[tensor.default_prefix])}"
        taken.add(name)
        tensor._rename(name)


def _collect(inputs: list[SymbolicTensor], outputs: list[SymbolicTensor]) -> list[GraphNode]:
    """The nodes the outputs depend on, in creation order (a topological order); checks
    that every path starts at one of ``inputs`` and that names are unique."""
    input_ids = {id(t) for t in inputs}
    names = [t.name for t in inputs]
    if len(set(names)) != len(names):
        raise ValueError(f"Graph inputs must have different names, received {names}")
    found: dict[int, GraphNode] = {}
    stack = list(outputs)
    while stack:
        tensor = stack.pop()
        if id(tensor) in input_ids:
            continue
        if tensor.node is None:
            raise ValueError(f"the outputs depend on Input {tensor.name!r}, which is not among "
                             f"the Graph's inputs ({', '.join(names)}); pass it in inputs=")
        if id(tensor.node) not in found:
            found[id(tensor.node)] = tensor.node
            stack.extend(tensor.node.input_tensors)
    nodes = sorted(found.values(), key=lambda n: n.order)
    _final_names(inputs, nodes)
    names = [t.name for t in inputs]
    for node in nodes:
        node.inputs = [t.name for t in node.input_tensors]
    seen: dict[str, str] = {n: "an input" for n in names}
    for node in nodes:
        if node.name in seen:
            raise ValueError(f"two tensors of the graph are named {node.name!r} (a node and "
                             f"{seen[node.name]}); give each node its own name=")
        seen[node.name] = "another node"
    return nodes


def node_calls(model: Module) -> dict[int, list[tuple[str, list[str]]]]:
    """For the layers of every graph inside ``model`` (``model`` included): ``id(layer) ->
    [(node name, input tensor names), …]``, one entry per call in the order forward makes
    them. Names are dotted with the graph's own place in ``model`` (``"2.conv1"`` for a graph
    that is child ``2`` of a Sequential). Summary, explain and the profiler name rows by it: a
    shared layer gets a row per node, each under its node's name."""
    calls: dict[int, list[tuple[str, list[str]]]] = {}
    for prefix, module in model.named_modules():
        if isinstance(module, Graph):
            def qualified(name: str, prefix: str = prefix) -> str:
                return f"{prefix}.{name}" if prefix else name

            for node in module.nodes:
                calls.setdefault(id(node.layer), []).append(
                    (qualified(node.name), [qualified(t) for t in node.inputs]))
    return calls


def find_node(model: Module, name: str) -> tuple[Graph, GraphNode] | None:
    """The graph (inside ``model``, or ``model`` itself) and its node called ``name`` (dotted
    with the graph's place in ``model``, as :func:`node_calls` names it), or ``None``."""
    for prefix, module in model.named_modules():
        if isinstance(module, Graph):
            for node in module.nodes:
                if (f"{prefix}.{node.name}" if prefix else node.name) == name:
                    return module, node
    return None


def call_order(model: Module, prefix: str = "") -> list[str]:
    """Module and graph-node names in the order the forward pass starts their calls: each
    container before its children, a ``Graph``'s nodes in topological order (its
    ``named_children`` list a shared layer once, at its first node: not the forward order)."""
    def qualified(name: str) -> str:
        return f"{prefix}.{name}" if prefix else name

    order: list[str] = [] if prefix else [""]
    if isinstance(model, Graph):
        walked: set[int] = set()
        for node in model.nodes:
            order.append(qualified(node.name))
            if id(node.layer) not in walked:  # a shared layer's inner modules: at its first node
                walked.add(id(node.layer))
                order += call_order(node.layer, qualified(node.name))
        return order
    for name, child in model.named_children():
        order += [qualified(name), *call_order(child, qualified(name))]
    return order


def call_filter(model: Module, name: str) -> Callable[[], bool]:
    """For hooks on the layer named ``name``: a test that is True while the call being made
    is that node's (a layer shared by several nodes runs once per node); always True for a
    name that is not a graph node."""
    found = find_node(model, name)
    if found is None:
        return lambda: True
    graph, node = found
    return lambda: graph.running_node is node
