"""Record one training step: every layer's input, output, cache and gradients, the loss, the
update of every parameter.

``trace_step`` runs the step the usual way (zero the gradients, forward, loss, backward,
optimizer step) with forward and backward hooks on the layers, so the numbers recorded are the
ones the layers computed, not a re-computation:

* forward hook ``(module, x, y)``: copies of x and y, and the layer's cache (what it keeps
  for backward: ReLU's mask, max pooling's winners, the convolution's im2col matrix); a
  merge layer of a graph model gets a tuple x, and its record names the tensors it reads;
* backward hook ``(module, dy, dx)``: copies of dL/dy and dL/dx, and each of the layer's
  parameter gradients (this call's contribution, should a layer run twice);
* around ``optimizer.step()``: each parameter before and after, and the optimizer's state
  (momentum buffer, Adam moments).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from convlens.layers.container import Sequential
from convlens.layers.graph import Graph, node_calls
from convlens.layers.module import Module
from convlens.losses.base import Loss
from convlens.optim.optimizer import Optimizer
from convlens.parameter import Parameter


@dataclass
class LayerTrace:
    """One call of one layer: forward values, then (after backward) gradients."""

    index: int
    name: str
    module: Module
    x: Any                    # an array; a tuple of arrays for a merge layer of a graph
    y: np.ndarray
    cache: Any
    params: dict[str, np.ndarray] = field(default_factory=dict)  # values used by forward
    dy: np.ndarray | None = None
    dx: Any = None            # like x
    grads: dict[str, np.ndarray] = field(default_factory=dict)
    inputs: list[str] | None = None   # a graph node: the tensors it reads
    #: a layer with several outputs: all of them (``y`` is the first) and, after backward,
    #: the gradient of each (``dy`` is the first's)
    outputs: tuple[np.ndarray, ...] | None = None
    output_grads: tuple[np.ndarray | None, ...] | None = None

    @property
    def type(self) -> str:
        return type(self.module).__name__


@dataclass
class LossTrace:
    loss_fn: Loss
    prediction: np.ndarray
    target: np.ndarray
    value: float
    grad: np.ndarray            # dL/d(prediction), what model.backward receives


@dataclass
class UpdateTrace:
    """One parameter's update by the optimizer."""

    name: str
    before: np.ndarray
    grad: np.ndarray
    after: np.ndarray
    state: dict[str, np.ndarray]        # the optimizer's state for it after the step


@dataclass
class StepTrace:
    model: Module
    x: np.ndarray
    target: np.ndarray
    layers: list[LayerTrace]
    loss: LossTrace
    optimizer: Optimizer
    updates: list[UpdateTrace]

    def layer(self, name: str) -> LayerTrace:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"no layer named {name!r}; layers: {[t.name for t in self.layers]}")


def _traced_modules(model: Module) -> dict[int, Module]:
    """Every module except ``Sequential`` and ``Graph`` containers (they only run their
    children)."""
    return {id(m): m for m in model.modules() if not isinstance(m, (Sequential, Graph))}


def _copy(value: Any) -> Any:
    """A copy of an array, or of each array of a tuple (a merge layer's inputs)."""
    if isinstance(value, tuple):
        return tuple(None if v is None else np.array(v, copy=True) for v in value)
    return None if value is None else np.array(value, copy=True)


def _forward_recorder(model: Module, layers: list[LayerTrace],
                      open_calls: dict[int, list[LayerTrace]]) -> Any:
    """A forward hook that appends one :class:`LayerTrace` per layer call to ``layers`` (and
    to ``open_calls[id(module)]``, for the backward hook to find)."""
    names: dict[int, list[str]] = {}
    for name, module in model.named_modules():
        names.setdefault(id(module), []).append(name or type(module).__name__)
    nodes = node_calls(model)     # graph layers: one record per node, under its name
    names.update((key, [name for name, _ in calls]) for key, calls in nodes.items())
    calls: dict[int, int] = {}

    def on_forward(module: Module, x_in: np.ndarray, y_out: np.ndarray) -> None:
        k = calls.get(id(module), 0)
        calls[id(module)] = k + 1
        own = names[id(module)]
        # parameters are copied now: the optimizer changes them in place after backward
        params = {attr: p.data.copy() for attr, p in vars(module).items()
                  if isinstance(p, Parameter)}
        node = nodes.get(id(module))
        several = _copy(y_out) if isinstance(y_out, tuple) else None
        record = LayerTrace(len(layers), own[k % len(own)], module, _copy(x_in),
                            several[0] if several else np.array(y_out, copy=True),
                            getattr(module, "_cache", None), params,
                            inputs=None if node is None else node[k % len(node)][1],
                            outputs=several)
        layers.append(record)
        open_calls.setdefault(id(module), []).append(record)

    return on_forward


def trace_forward(model: Module, x: np.ndarray) -> list[LayerTrace]:
    """Run ``model(x)`` in eval mode and record every layer call (input, output, cache and
    parameters), as :func:`trace_step` does for its forward pass. Parameters and gradients
    are untouched; the modules keep the caches of this pass (it runs with gradients enabled,
    so the caches are those a training step keeps) and get their train/eval mode back.
    """
    from convlens.functional.engine import enable_grad
    from convlens.inspect.hooks import eval_with_hooks

    layers: list[LayerTrace] = []
    on_forward = _forward_recorder(model, layers, {})
    with eval_with_hooks(model, [(m, on_forward) for m in _traced_modules(model).values()]), enable_grad():
        model(x)
    return layers


def trace_step(model: Module, x: np.ndarray, target: np.ndarray, optimizer: Optimizer,
               loss_fn: Loss | None = None) -> StepTrace:
    """Run one training step of ``model`` on ``(x, target)`` and record it.

    The step is real: gradients are zeroed first, then the optimizer updates the model.
    ``loss_fn`` defaults to ``CrossEntropyLoss()``.
    """
    if loss_fn is None:
        from convlens.losses import CrossEntropyLoss

        loss_fn = CrossEntropyLoss()
    layers: list[LayerTrace] = []
    open_calls: dict[int, list[LayerTrace]] = {}
    on_forward = _forward_recorder(model, layers, open_calls)
    modules = _traced_modules(model)
    grad_seen: dict[int, np.ndarray] = {}

    def on_backward(module: Module, dy: np.ndarray, dx: np.ndarray | None) -> None:
        stack = open_calls.get(id(module))
        if not stack:
            return
        record = stack.pop()  # backward runs the calls in reverse order
        if isinstance(dy, tuple):   # several outputs: dy is the first's gradient
            record.output_grads = _copy(dy)
            record.dy = record.output_grads[0]
        else:
            record.dy = np.array(dy, copy=True)
        record.dx = _copy(dx)
        for attr, p in vars(module).items():
            if isinstance(p, Parameter) and p.grad is not None:
                previous = grad_seen.get(id(p))
                record.grads[attr] = p.grad.copy() if previous is None else p.grad - previous
                grad_seen[id(p)] = p.grad.copy()

    handles = [m.register_forward_hook(on_forward) for m in modules.values()]
    handles += [m.register_backward_hook(on_backward) for m in modules.values()]
    try:
        optimizer.zero_grad()
        model.zero_grad()
        prediction = model(x)
        value = loss_fn(prediction, target)
        grad = loss_fn.backward()
        model.run_backward(grad, need_input_grad=True)
    finally:
        for handle in handles:
            handle.remove()
    loss = LossTrace(loss_fn, np.array(prediction, copy=True), np.asarray(target),
                     float(value), np.array(grad, copy=True))

    param_names = {id(p): name for name, p in model.named_parameters()}
    before = [(p, p.data.copy(), None if p.grad is None else p.grad.copy())
              for p in optimizer.params]
    optimizer.step()
    updates = []
    for i, (p, data, g) in enumerate(before):
        if g is None or not p.requires_grad:
            continue
        state = {k: np.array(v, copy=True) for k, v in optimizer.state[i].items()}
        updates.append(UpdateTrace(param_names.get(id(p), f"param {i}"), data, g,
                                   p.data.copy(), state))
    return StepTrace(model, np.array(x, copy=True), np.asarray(target), layers, loss,
                     optimizer, updates)
