"""`Module`: the base class of every layer and container.

A module holds `Parameter`s (learned) and buffers (state that is not learned, such as batch
norm's running statistics), computes ``forward(x)`` and, from the gradient of the loss with
respect to its output, ``backward(dy)``: it accumulates the gradient of every parameter and
returns the gradient with respect to its input. Backpropagation is explicit, as in the seeds:

    y = layer(x)            # forward; the layer keeps what backward needs
    dx = layer.backward(dy) # fills layer.weight.grad, layer.bias.grad; returns dL/dx

Every ``forward`` and ``backward`` of every subclass (convlens's layers and yours) is wrapped
once, when the class is defined, by the checks of :mod:`convlens.validate`: inputs that are
lists, PyTorch CPU tensors or other array-likes become arrays, anything else (None, strings,
complex or object dtypes, empty batches) gets one message naming the expected layout and what
was received, and ``backward(dy)`` refuses a ``dy`` whose shape is not the forward output's.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from convlens.functional import engine
from convlens.parameter import Parameter
from convlens.validate import as_array, check_grad, output_shapes


class StateDictError(KeyError, ValueError):
    """A state (weights) that does not fit a module: every missing and unexpected key and every
    shape mismatch, one per line. A ``KeyError`` and a ``ValueError``, so code that caught
    either before keeps working."""

    def __init__(self, model: str, missing: list[str], unexpected: list[str],
                 mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]],
                 source: str = "state") -> None:
        self.model, self.missing, self.unexpected, self.mismatched = model, missing, unexpected, mismatched
        lines = [f"{source} does not fit {model}:"]
        if missing:
            lines.append(f"  missing keys (in the model, not in the state): {_names(missing)}")
        if unexpected:
            lines.append(f"  unexpected keys (in the state, not in the model): {_names(unexpected)}")
        shown = mismatched[:_SHOWN]
        lines += [f"  shape mismatch for {name!r}: the model expects {expected}, the state holds {held}"
                  for name, expected, held in shown]
        if len(mismatched) > len(shown):
            lines.append(f"  … and {len(mismatched) - len(shown)} more shape mismatches")
        super().__init__("\n".join(lines))

    def __str__(self) -> str:  # KeyError would show the message quoted, as a repr
        return str(self.args[0])


_SHOWN = 10  # names listed per kind of problem; a model of another family has hundreds


def _names(names: list[str]) -> str:
    shown = ", ".join(repr(name) for name in names[:_SHOWN])
    return f"[{shown}" + (f", … and {len(names) - _SHOWN} more]" if len(names) > _SHOWN else "]")


class HookHandle:
    """Returned by ``register_*_hook``; ``remove()`` unregisters the hook."""

    _ids = itertools.count()

    def __init__(self, registry: dict[int, Callable[..., None]], key: int) -> None:
        self._registry, self._key = registry, key

    @classmethod
    def add(cls, registry: dict[int, Callable[..., None]], hook: Callable[..., None]) -> HookHandle:
        key = next(cls._ids)
        registry[key] = hook
        return cls(registry, key)

    def remove(self) -> None:
        self._registry.pop(self._key, None)

    def __enter__(self) -> HookHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


_LAYER_CLASSES: dict[str, type[Module]] = {}


def check_input(module: Module, x: Any) -> np.ndarray:
    """``x`` as an array ``module`` can take (:func:`convlens.validate.as_array`).

    Modules with several inputs (``num_inputs`` other than 1) may receive constants: single
    numbers and empty arrays pass there.
    """
    if type(x) is np.ndarray and x.dtype.kind in "fiu" and x.size and x.ndim:
        return x  # the common case, kept cheap (this runs on every layer call)
    several = getattr(module, "num_inputs", 1) != 1
    x = as_array(x, type(module).__name__, module.expected_input(), allow_scalar=several,
                 allow_empty=several or module.takes_empty)
    if x.dtype == bool and not module.takes_bool:
        return x.astype(np.float32)  # (NumPy has no arithmetic on bools)
    return x


def _sized_init(init: Callable[..., None]) -> Callable[..., None]:
    """``init`` with an allocation that cannot succeed (``Conv2d(1, 10**12, 3)``) reported as a
    ``ValueError`` naming the layer and its arguments, instead of NumPy's bare MemoryError."""
    if getattr(init, "_sized", False):
        return init

    @functools.wraps(init)
    def sized(self: Any, *args: Any, **kwargs: Any) -> None:
        try:
            init(self, *args, **kwargs)
        except MemoryError as err:
            given = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
            raise ValueError(f"{type(self).__name__}({given}): its parameters do not fit in memory "
                             f"({err}); expected sizes this machine can hold") from None

    sized._sized = True  # type: ignore[attr-defined]
    return sized


def _checked_forward(forward: Callable[..., Any]) -> Callable[..., Any]:
    """``forward`` with its inputs checked and its output shape recorded for ``backward``."""

    @functools.wraps(forward)
    def checked(self: Module, *inputs: Any, **kwargs: Any) -> Any:
        return _forward_unchecked(self, forward, tuple(check_input(self, x) for x in inputs), kwargs)

    return checked


def _forward_unchecked(module: Module, forward: Callable[..., Any], inputs: tuple[np.ndarray, ...],
                       kwargs: dict[str, Any]) -> Any:
    """``forward(module, *inputs)`` on inputs already checked: an error is tagged with the
    innermost module that raised it, and the output shape is recorded for ``backward``."""
    try:
        y = forward(module, *inputs, **kwargs)
    except Exception as err:
        if not hasattr(err, "failed_module"):  # the innermost module names itself
            with contextlib.suppress(AttributeError, TypeError):
                err.failed_module = module  # type: ignore[attr-defined]
        raise
    module._output_shape = y.shape if type(y) is np.ndarray else output_shapes(y)
    return y


def _checked_backward(backward: Callable[..., Any]) -> Callable[..., Any]:
    """``backward`` with ``dy`` checked against the shape the last forward returned."""

    @functools.wraps(backward)
    def checked(self: Module, dy: Any, *args: Any, **kwargs: Any) -> Any:
        dy = check_grad(type(self).__name__, dy, self.__dict__.get("_output_shape"))
        return backward(self, dy, *args, **kwargs)

    return checked


def layer_class_name(cls: type) -> str:
    """The name a spec gives ``cls``: the class name for convlens's own layers,
    ``"module:QualName"`` for a layer defined elsewhere."""
    if cls.__module__.startswith("convlens."):
        return cls.__name__
    return f"{cls.__module__}:{cls.__qualname__}"


def layer_class(name: str) -> type[Module] | None:
    """The Module subclass registered under ``name`` (see :func:`layer_class_name`)."""
    return _LAYER_CLASSES.get(name)


class Module:
    """Base class: subclasses implement ``forward`` and ``backward``.

    Parameters and sub-modules are found by looking at the instance's attributes, in the order
    they were assigned, so ``state_dict`` keys follow PyTorch's naming (``conv.weight``,
    ``0.bias`` inside a ``Sequential``) and weights move between the two libraries unchanged.
    """

    training: bool = True
    #: the layout ``forward`` takes, shown in error messages (layers override it)
    input_layout: str = "(N, …)"
    #: how many tensors ``forward`` takes: 1 for ordinary layers, 0 for ``Constant``, n for
    #: merge layers, ``None`` for any number (``Add``, ``Concatenate``). A layer with
    #: ``num_inputs != 1`` returns a tuple from ``backward``, one gradient per input.
    num_inputs: int | None = 1
    #: every layer refuses an array with no values (an empty batch, a zero-size axis), unless
    #: this is set: a Graph with a zero-size Input, and the nodes the ONNX importer builds on
    #: zero-size tensors (ONNX allows them); not part of the config
    takes_empty: bool = False
    #: True for a layer that computes on booleans as they are (a maximum is a logical or)
    takes_bool: bool = False
    # Declared for the type checker only (no class value: an instance has them once set).
    #: what the last forward kept for backward (each layer its own kind; None under no_grad)
    _cache: Any
    #: the output shape(s) of the last forward, which backward checks ``dy`` against
    _output_shape: Any
    #: a trained model's metadata (:class:`convlens.io.model_info.ModelInfo`), set by cl.load
    info: Any

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _LAYER_CLASSES[layer_class_name(cls)] = cls  # so specs can name it (layers/spec.py)
        # input and gradient checks (module docstring); each class wraps only what it defines
        if "forward" in cls.__dict__:
            cls._unchecked_forward = cls.__dict__["forward"]
            cls.forward = _checked_forward(cls.__dict__["forward"])  # type: ignore[method-assign]
        if "backward" in cls.__dict__:
            cls.backward = _checked_backward(cls.__dict__["backward"])  # type: ignore[method-assign]
        if "__init__" in cls.__dict__:
            cls.__init__ = _sized_init(cls.__dict__["__init__"])  # type: ignore[method-assign]

    def __init__(self) -> None:
        self.training = True
        self._buffer_names: list[str] = []
        self._forward_hooks: dict[int, Callable[..., None]] = {}
        self._backward_hooks: dict[int, Callable[..., None]] = {}

    # -- computation ---------------------------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    _unchecked_forward = forward  # each subclass's own forward, before its check wrapper

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """Accumulate parameter gradients from ``dy = dL/dy`` and return ``dL/dx``.

        ``need_input_grad=False`` lets the first layer of a network skip the input gradient
        (nobody uses it); the method then returns ``None``.
        """
        raise NotImplementedError

    def expected_input(self) -> str:
        """What ``forward`` takes, for error messages: layout and dtype. A container without a
        layout of its own takes what its first child takes."""
        first = next(self.children(), None)
        if first is not None and type(self).input_layout == Module.input_layout:
            return first.expected_input()
        return f"an array of real numbers {self.input_layout}"

    def __call__(self, *xs: Any, name: str | None = None) -> Any:
        """Run the layer on arrays (``layer(x)``, ``merge(a, b)``), or, called on symbolic
        tensors (``cl.Input``), add a node to a graph model and return its output tensor;
        ``name`` names that node (see ``convlens.layers.graph``)."""
        if name is None and (len(xs) == 1 and type(xs[0]) is np.ndarray
                             or xs and all(type(x) is np.ndarray for x in xs)):
            return self.run_forward(*xs)  # the common case, without the symbolic check
        from convlens.layers.graph import SymbolicTensor, call_symbolic

        if any(isinstance(x, SymbolicTensor) for x in xs) or (not xs and self.num_inputs == 0):
            return call_symbolic(self, xs, name)
        if name is not None:
            raise TypeError(f"{type(self).__name__}: name= names a graph node; it is only "
                            "accepted when the layer is called on symbolic tensors (cl.Input)")
        return self.run_forward(*xs)

    def run_forward(self, *xs: np.ndarray) -> np.ndarray:
        """``forward`` on arrays followed by the forward hooks (what ``__call__`` runs).

        The inputs are checked here, once (so forward hooks see the arrays too), and the
        class's own ``forward`` runs without its wrapper's second check: this path runs for
        every layer of every pass, and a LeNet-5 pass at batch 1 is a dozen such calls.
        """
        xs = tuple(map(check_input, itertools.repeat(self, len(xs)), xs))
        if "forward" in self.__dict__:  # replaced on the instance (the profiler's timers)
            y = self.forward(*xs)
        else:
            y = _forward_unchecked(self, type(self)._unchecked_forward, xs, {})
        if not engine.grad_enabled() and getattr(self, "_cache", None) is not None:
            self._cache = None  # inside cl.no_grad(): keep nothing for a backward pass
        if self._forward_hooks:
            inputs = xs[0] if len(xs) == 1 else xs
            for hook in tuple(self._forward_hooks.values()):
                hook(self, inputs, y)
        return y

    def run_backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """``backward`` followed by this module's backward hooks; containers call this."""
        dx = self.backward(dy, need_input_grad)
        if self._backward_hooks:
            for hook in tuple(self._backward_hooks.values()):
                hook(self, dy, dx)
        return dx

    # -- hooks: look at every layer's values without changing the layers ------------------
    def register_forward_hook(self, hook: Callable[[Module, np.ndarray, np.ndarray], None]) -> HookHandle:
        """Call ``hook(module, x, y)`` after each forward pass (as PyTorch's hook).

        Returns a handle; ``handle.remove()`` unregisters it. Used by visualizations and the
        explain trace to record feature maps.
        """
        return HookHandle.add(self._forward_hooks, hook)

    def register_backward_hook(
        self, hook: Callable[[Module, np.ndarray, np.ndarray | None], None]
    ) -> HookHandle:
        """Call ``hook(module, dy, dx)`` after each backward pass run by a container
        (``Sequential``, ``Residual``) or by ``run_backward``."""
        return HookHandle.add(self._backward_hooks, hook)

    # -- structure -----------------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every module below it, depth first, with dotted names."""
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Every parameter once (a parameter shared by two layers is listed once)."""
        seen: set[int] = set()
        for module_name, module in self.named_modules(prefix):
            for name, value in vars(module).items():
                if isinstance(value, Parameter) and id(value) not in seen:
                    seen.add(id(value))
                    yield (f"{module_name}.{name}" if module_name else name), value

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def num_parameters(self, trainable_only: bool = False) -> int:
        return sum(p.size for p in self.parameters() if p.requires_grad or not trainable_only)

    def register_buffer(self, name: str, value: np.ndarray) -> None:
        """Keep ``value`` as state that is saved with the model but not learned."""
        if name not in self._buffer_names:
            self._buffer_names.append(name)
        setattr(self, name, value)

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        for module_name, module in self.named_modules(prefix):
            for name in module._buffer_names:
                yield (f"{module_name}.{name}" if module_name else name), getattr(module, name)

    # -- modes and dtype -------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            p.zero_grad(set_to_none)

    def to(self, dtype: Any) -> Module:
        """Convert every parameter and floating-point buffer to ``dtype`` in place."""
        dtype = np.dtype(dtype)
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            if p.grad is not None:
                p.grad = p.grad.astype(dtype)
        for module in self.modules():
            for name in module._buffer_names:
                value = getattr(module, name)
                if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating):
                    setattr(module, name, value.astype(dtype))
        return self

    def double(self) -> Module:
        return self.to(np.float64)

    def float(self) -> Module:
        return self.to(np.float32)

    # -- state -----------------------------------------------------------------------------
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Copies of every parameter and buffer, keyed by dotted name (PyTorch's names)."""
        state: OrderedDict[str, np.ndarray] = OrderedDict()
        for name, p in self.named_parameters():
            state[name] = p.data.copy()
        for name, value in self.named_buffers():
            state[name] = np.array(value, copy=True)
        return state

    def load_state_dict(self, state: dict[str, np.ndarray], strict: bool = True) -> None:
        """Copy arrays from ``state`` into this module's parameters and buffers.

        Everything is checked before anything is copied, so a state that does not fit leaves
        the module as it was. Raises :class:`StateDictError` (a ``KeyError`` and a
        ``ValueError``) naming, as PyTorch's ``load_state_dict`` does, every missing and
        unexpected key (when ``strict``) and every shape that does not match.
        """
        params = dict(self.named_parameters())
        buffers = dict(self.named_buffers())
        own = {**{name: p.data for name, p in params.items()}, **buffers}
        missing = [name for name in own if name not in state]
        unexpected = [name for name in state if name not in own]
        mismatched = [(name, np.shape(own[name]), np.shape(state[name])) for name in own
                      if name in state and np.shape(state[name]) != np.shape(own[name])]
        if mismatched or strict and (missing or unexpected):
            raise StateDictError(type(self).__name__, missing if strict else [],
                                 unexpected if strict else [], mismatched)
        for name, p in params.items():
            if name in state:
                # copy into the parameter's own (C-contiguous) array, as PyTorch's copy_:
                # references to p.data stay valid and the layout never changes
                np.copyto(p.data, np.asarray(state[name]), casting="unsafe")
        modules = dict(self.named_modules())
        for name in buffers:
            if name in state:
                owner, _, attr = name.rpartition(".")
                module = modules[owner]
                current = getattr(module, attr)
                value = np.asarray(state[name])
                if isinstance(current, np.ndarray):
                    np.copyto(current, value, casting="unsafe")
                else:
                    setattr(module, attr, np.array(value, copy=True))

    def _cached(self, attr: str = "_cache") -> Any:
        """The forward cache, or an error explaining that backward needs a forward first."""
        cache = getattr(self, attr, None)
        if cache is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward() was called before forward(): run a forward "
                "pass first, it keeps what the backward pass needs"
            )
        return cache

    # -- display ---------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """Constructor arguments (hyperparameters), JSON-able, enough to rebuild the layer
        with :meth:`from_config`; containers include their children's specs."""
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any], where: str = "model") -> Module:
        """Build the layer from :meth:`get_config`'s output; ``where`` names the place in the
        tree for error messages (containers pass it on to their children)."""
        return cls(**config)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())

    def __repr__(self) -> str:
        children = list(self.named_children())
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not children:
            return head + ")"
        lines = [head]
        for name, child in children:
            child_repr = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_repr}")
        return "\n".join(lines) + "\n)"
