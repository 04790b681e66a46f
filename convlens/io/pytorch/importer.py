"""PyTorch -> convlens: trace a module with ``torch.fx`` (or, when fx cannot, ``torch.export``,
whose ATen operators :mod:`convlens.io.pytorch.aten_converters` handles) and rebuild it as a
``cl.Graph``.

The walker knows no operator: each ``call_module`` node goes to the converter registered for
its module's class (:mod:`convlens.io.pytorch.module_converters`), each ``call_function`` /
``call_method`` node to the converter registered for its target
(:mod:`convlens.io.pytorch.function_converters`). The module is run once on the example input
while tracing, so every converter knows the actual shapes and the values of shape
arithmetic (``x.size(0)``), and ``view``/``reshape`` become fixed ``Reshape`` layers.

Nodes of modules are named by the module's path (``layer1.0.conv1``), so the graph's
``state_dict`` has PyTorch's keys. A parameter shared by two modules stays one convlens
``Parameter`` (PyTorch's ``state_dict`` lists it under both names; see
:mod:`convlens.io.pytorch.state`); a module called twice becomes one layer used by two nodes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.fx

from convlens.io.pytorch.export import ConversionError
from convlens.io.registry import registrar
from convlens.layers.constant import Constant
from convlens.layers.graph import Graph, Input, SymbolicTensor
from convlens.layers.module import Module
from convlens.parameter import Parameter

ModuleConverter = Callable[["Importer", torch.nn.Module, list[Any], dict[str, Any], torch.fx.Node], Any]
FunctionConverter = Callable[["Importer", list[Any], dict[str, Any], torch.fx.Node], Any]
MODULE_CONVERTERS: dict[type, ModuleConverter] = {}
FUNCTION_CONVERTERS: dict[Any, FunctionConverter] = {}
converts_module = registrar(MODULE_CONVERTERS)
"""``@converts_module(nn.Conv2d, …)``: a converter for module classes (subclasses find it)."""
converts_function = registrar(FUNCTION_CONVERTERS)
"""``@converts_function(torch.add, operator.add, "add")``: a converter for functions, operators
and method names."""


class _Recorder(torch.fx.Interpreter):
    """Runs the traced module once and keeps every node's value (shapes, sizes)."""

    def __init__(self, module: torch.fx.GraphModule) -> None:
        super().__init__(module)
        self.values: dict[torch.fx.Node, Any] = {}

    def run_node(self, n: torch.fx.Node) -> Any:
        value = super().run_node(n)
        self.values[n] = value
        return value


def _target_name(target: Any) -> str:
    if isinstance(target, str):
        return f"method .{target}()"
    module = getattr(target, "__module__", None) or ""
    return f"{module}.{getattr(target, '__name__', repr(target))}".lstrip(".")


@dataclass(frozen=True)
class Attr:
    """A tensor the module holds (``get_attr``): a weight for the converter that takes it
    (``aten.conv2d(x, weight, bias)`` after ``torch.export``), or, used as an operand, a
    ``cl.Constant`` node (trainable when it is a parameter)."""

    target: str
    tensor: torch.Tensor

    @property
    def owner(self) -> str:
        """The module path the tensor belongs to (``layer1.0.conv1`` for ``….weight``)."""
        return self.target.rpartition(".")[0] or self.target


class Importer:
    """State of one conversion: converted layers by torch module, tied parameters, names."""

    def __init__(self, traced: torch.fx.GraphModule, values: dict[torch.fx.Node, Any]) -> None:
        self.traced = traced
        self.values = values
        self.layers: dict[int, Module] = {}
        self.parameters: dict[int, Parameter] = {}
        self.names: set[str] = set()
        self.attr_nodes: dict[str, SymbolicTensor] = {}

    # -- what converters use -------------------------------------------------------------------
    def value(self, node: torch.fx.Node) -> Any:
        """The concrete value the node had on the example input."""
        return self.values[node]

    def shape(self, node: torch.fx.Node) -> tuple[int, ...]:
        """The node's output shape on the example input (batch axis included)."""
        return tuple(self.values[node].shape)

    def unique(self, name: str) -> str:
        base, k = name, 0
        while name in self.names:
            k += 1
            name = f"{base}_{k}"
        self.names.add(name)
        return name

    def apply(self, layer: Module, inputs: list[SymbolicTensor], name: str) -> SymbolicTensor:
        """Add a node ``layer(*inputs)`` named ``name`` (made unique)."""
        return layer(*inputs, name=self.unique(name))

    def constant(self, value: Any, like: SymbolicTensor | None, name: str) -> SymbolicTensor:
        """A scalar or array operand as a ``cl.Constant`` node (dtype of ``like``)."""
        dtype = like.dtype if isinstance(like, SymbolicTensor) else np.float32
        array = np.asarray(value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else value,
                           dtype=dtype)
        return Constant(array)(name=self.unique(name))

    def layer_for(self, module: torch.nn.Module, build: Callable[[], Module]) -> Module:
        """The convlens layer of ``module`` (built once; a module called twice shares it),
        holding the module's parameters (tied ones shared) and buffers."""
        if id(module) not in self.layers:
            layer = build()
            self.bind(module, layer)
            self.layers[id(module)] = layer
        return self.layers[id(module)]

    def bind(self, module: torch.nn.Module, layer: Module) -> None:
        params = dict(module.named_parameters(recurse=False))
        if params:
            dtype = next(iter(params.values())).detach().numpy().dtype
            layer.to(dtype)
        for name, tensor in params.items():
            own = getattr(layer, name, None)
            if not isinstance(own, Parameter):
                raise ConversionError(f"{type(module).__name__}: convlens's "
                                      f"{type(layer).__name__} has no parameter {name!r}")
            value = tensor.detach().cpu().numpy()
            if value.shape != own.data.shape:
                raise ConversionError(f"{type(module).__name__}.{name}: shape {value.shape}, "
                                      f"convlens's {type(layer).__name__} expects {own.data.shape}")
            if id(tensor) in self.parameters:            # tied: one Parameter for both
                setattr(layer, name, self.parameters[id(tensor)])
                continue
            own.data = value.astype(own.data.dtype, copy=True)
            own.requires_grad = bool(tensor.requires_grad)
            self.parameters[id(tensor)] = own
        for name, tensor in module.named_buffers(recurse=False):
            if tensor is not None and name in layer._buffer_names:
                value = tensor.detach().cpu().numpy()
                current = getattr(layer, name)
                layer.register_buffer(name, value.astype(np.asarray(current).dtype, copy=True))

    # -- the walk ---------------------------------------------------------------------------
    def run(self, module: torch.nn.Module) -> Graph:
        env: dict[torch.fx.Node, Any] = {}
        inputs: list[SymbolicTensor] = []
        outputs: Any = None
        unsupported = self._unsupported()
        if unsupported:
            raise ConversionError("cannot convert these operations to convlens: " + "; ".join(unsupported))
        for node in self.traced.graph.nodes:
            args = torch.fx.node.map_arg(node.args, lambda n: env[n])
            kwargs = torch.fx.node.map_arg(node.kwargs, lambda n: env[n])
            value = self.values.get(node)
            if node.op == "placeholder":
                if not isinstance(value, torch.Tensor):
                    env[node] = value
                    continue
                name = self.unique(node.name)
                env[node] = Input(tuple(value.shape[1:]), name=name,
                                  dtype=value.detach().numpy().dtype)
                inputs.append(env[node])
            elif node.op == "get_attr":
                env[node] = Attr(str(node.target), value) if isinstance(value, torch.Tensor) else value
            elif node.op == "call_module" and str(node.target).startswith("_guards"):
                continue                                   # torch.export's shape guards
            elif node.op == "call_module":
                sub = self.traced.get_submodule(node.target)
                env[node] = MODULE_CONVERTERS[_lookup(type(sub))](self, sub, list(args), kwargs, node)
            elif node.op in ("call_function", "call_method"):
                converter = function_converter(node.target)
                if _is_tensor(value) and converter is not None and _symbolic((args, kwargs)):
                    env[node] = converter(self, list(args), kwargs, node)
                else:
                    env[node] = value   # shape arithmetic, or state only (a buffer update)
            elif node.op == "output":
                outputs = args[0]
        outs = list(outputs) if isinstance(outputs, (tuple, list)) else [outputs]
        for out in outs:
            if not isinstance(out, SymbolicTensor):
                raise ConversionError(f"the module returns a {type(out).__name__}; convlens graphs "
                                      "return tensors")
        graph = Graph(inputs=inputs if len(inputs) > 1 else inputs[0],
                      outputs=outs if len(outs) > 1 else outs[0])
        graph.train(module.training)
        from convlens.io.model_info import ModelInfo

        graph.info = ModelInfo(name=type(module).__name__, input_shape=tuple(inputs[0].shape),
                               input_dtype=str(inputs[0].dtype), notes="imported from PyTorch")
        return graph

    def operand(self, value: Any, like: SymbolicTensor | None, name: str) -> SymbolicTensor:
        """A converter's tensor operand as a graph tensor: a module's tensor becomes a
        ``cl.Constant`` node (one per tensor; a parameter stays trainable and tied), a number
        a constant of ``like``'s dtype."""
        if isinstance(value, SymbolicTensor):
            return value
        if not isinstance(value, Attr):
            return self.constant(value, like, name)
        if value.target not in self.attr_nodes:
            tensor = value.tensor
            if isinstance(tensor, torch.nn.Parameter):
                layer = Constant(tensor.detach().cpu().numpy().copy(), trainable=True)
                if id(tensor) in self.parameters:
                    layer.value = self.parameters[id(tensor)]
                else:
                    layer.value.requires_grad = bool(tensor.requires_grad)
                    self.parameters[id(tensor)] = layer.value
            else:
                layer = Constant(tensor.detach().cpu().numpy().copy())
            self.attr_nodes[value.target] = layer(name=self.unique(value.target))
        return self.attr_nodes[value.target]

    def _unsupported(self) -> list[str]:
        """Every node without a converter, so one error can name them all."""
        problems = []
        derived: set[torch.fx.Node] = set()           # computed from the input
        for node in self.traced.graph.nodes:
            if node.op == "placeholder" or any(a in derived for a in node.all_input_nodes):
                derived.add(node)
        for node in self.traced.graph.nodes:
            if node.op == "call_module" and not str(node.target).startswith("_guards"):
                sub = self.traced.get_submodule(node.target)
                if _lookup(type(sub)) is None:
                    problems.append(f"{node.target} ({type(sub).__name__})")
            elif node.op in ("call_function", "call_method"):
                if node not in derived:
                    continue                               # module state only (buffer updates)
                if _is_tensor(self.values.get(node)) and function_converter(node.target) is None:
                    problems.append(f"{node.name} ({_target_name(node.target)})")
        return problems


def _symbolic(value: Any) -> bool:
    """Whether ``value`` (args, kwargs) holds a tensor computed from the input."""
    if isinstance(value, SymbolicTensor):
        return True
    if isinstance(value, (list, tuple)):
        return any(_symbolic(v) for v in value)
    if isinstance(value, dict):
        return any(_symbolic(v) for v in value.values())
    return False


def _is_tensor(value: Any) -> bool:
    """A tensor or a collection holding one (``chunk``'s tuple): computed data, as opposed to
    shape arithmetic (``x.size(0)``, ``x.shape[1] // 2``), which stays a plain value."""
    if isinstance(value, torch.Tensor):
        return True
    if isinstance(value, (list, tuple)):
        return any(_is_tensor(v) for v in value)
    return False


def function_converter(target: Any) -> Any:
    """The converter of a function, operator or method name; functions of libraries convlens
    does not import (torchvision's ``stochastic_depth``) are registered by qualified name."""
    try:
        found = FUNCTION_CONVERTERS.get(target)
    except TypeError:                                  # an unhashable target
        return None
    return found if found is not None else FUNCTION_CONVERTERS.get(_target_name(target))


def _lookup(cls: type) -> type | None:
    for base in cls.__mro__:
        if base in MODULE_CONVERTERS:
            return base
    return None


def trace(module: torch.nn.Module, examples: tuple[torch.Tensor, ...]) -> tuple[torch.fx.GraphModule, bool]:
    """``torch.fx.symbolic_trace``; when fx cannot trace the module (Python control flow on
    shapes, say), ``torch.export`` with the example input. Returns the graph module and
    whether it came from ``torch.export`` (ATen operators)."""
    try:
        return torch.fx.symbolic_trace(module), False
    except Exception as fx_error:  # fx raises TraceError, TypeError, … for such code
        reason = str(fx_error).splitlines()[0] if str(fx_error) else type(fx_error).__name__
    try:
        exported = torch.export.export(module, examples, strict=False)
    except Exception as export_error:
        raise ConversionError(
            f"neither torch.fx nor torch.export can trace {type(module).__name__}: {reason}; "
            f"{str(export_error).splitlines()[0] if str(export_error) else type(export_error).__name__}. "
            "from_torch needs a module whose graph does not depend on the input's values "
            "(no Python if/for on tensor values)") from None
    return exported.module(), True


def from_torch(module: torch.nn.Module, example_input: Any) -> Graph:
    """Convert ``module`` to a convlens ``Graph`` (see the module docstring)."""
    # (aten_converters also registers F.layer_norm, whose weights bind as the ATen ones do)
    from convlens.io.pytorch import aten_converters, function_converters, module_converters  # noqa: F401

    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"from_torch expects a torch.nn.Module, received {type(module).__name__}")
    examples = example_input if isinstance(example_input, (tuple, list)) else (example_input,)
    tensors = tuple(torch.as_tensor(np.asarray(x)) if not isinstance(x, torch.Tensor) else x
                    for x in examples)
    traced, exported = trace(module, tensors)
    recorder = _Recorder(traced)
    modes = [(m, m.training) for m in module.modules()]
    # the example run must not move running statistics: eval mode for a traced module; an
    # exported graph has the mode baked in, so its buffers are put back after the run
    saved = [(t, t.clone()) for t in traced.buffers()] if exported else []
    if not exported:
        module.eval()
    try:
        with torch.no_grad():
            recorder.run(*tensors)
            for tensor, value in saved:
                tensor.copy_(value)
    finally:
        for m, mode in modes:
            m.training = mode
    return Importer(traced, recorder.values).run(module)
