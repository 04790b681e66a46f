"""Containers: ``Sequential`` (a chain of layers), ``Residual`` (x + body(x)), ``Concat``.

Weight sharing: the same layer object may appear more than once (``Sequential(conv, act,
conv)``). Each layer keeps what its backward pass needs in ``_cache``, which its *last*
forward call overwrote; so every container records, per child call, the cache that call left
and puts it back before running that child's backward. Each use then gets its own gradient,
and the shared parameter receives their sum.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from convlens.layers.module import Module


def call_state(layer: Module) -> tuple[object, object]:
    """What one forward call of ``layer`` left for its backward: its cache and the shape of its
    output (which ``backward`` checks ``dy`` against). Record it right after the call."""
    return getattr(layer, "_cache", None), layer.__dict__.get("_output_shape")


def backward_with(layer: Module, state: tuple[object, object], dy: np.ndarray,
                   need_input_grad: bool) -> np.ndarray | None:
    """Run ``layer``'s backward with the state (:func:`call_state`) of the forward call being undone."""
    cache, output_shape = state
    if hasattr(layer, "_cache"):
        layer._cache = cache
    layer._output_shape = output_shape
    return layer.run_backward(dy, need_input_grad)


class Sequential(Module):
    """Layers applied one after another; backward runs them in reverse.

    Children are named ``0``, ``1``, … as in PyTorch, so ``state_dict`` keys match
    ``torch.nn.Sequential``'s (``0.weight``, ``0.bias``, …).
    """

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(
                    f"Sequential expects layers (convlens Modules), received "
                    f"{type(layer).__name__} at position {i}"
                )
        self.layers: list[Module] = list(layers)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for i, layer in enumerate(self.layers):
            yield str(i), layer

    def append(self, layer: Module) -> Sequential:
        self.layers.append(layer)
        return self

    def __getitem__(self, index: int | slice) -> Module:
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def get_config(self) -> dict[str, Any]:
        from convlens.layers.spec import to_spec

        return {"layers": [to_spec(layer) for layer in self.layers]}

    @classmethod
    def from_config(cls, config: dict[str, Any], where: str = "model") -> Sequential:
        from convlens.layers.spec import from_spec

        layers = _config_list(config, "layers", where)
        return cls(*(from_spec(spec, f"{where}.{i}") for i, spec in enumerate(layers)))

    def extra_repr(self) -> str:
        return ""

    def forward(self, x: np.ndarray) -> np.ndarray:
        caches = []
        for layer in self.layers:
            x = layer(x)
            caches.append(call_state(layer))
        self._cache = caches
        return x

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        caches = self._cached()
        grad: np.ndarray | None = dy
        for i in range(len(self.layers) - 1, -1, -1):
            grad = backward_with(self.layers[i], caches[i], grad, need_input_grad or i > 0)
        return grad


class Residual(Module):
    """``y = body(x) + shortcut(x)`` (identity shortcut when ``shortcut`` is None).

    The skip connection of ResNet: the gradient reaches ``x`` through both paths and adds up,
    ``dL/dx = body.backward(dy) + shortcut.backward(dy)``. Put the activation after it:
    ``Sequential(Residual(block, projection), ReLU())``.
    """

    def __init__(self, body: Module, shortcut: Module | None = None) -> None:
        super().__init__()
        self.body = body
        self.shortcut = shortcut

    def forward(self, x: np.ndarray) -> np.ndarray:
        main = self.body(x)
        body_state = call_state(self.body)
        skip = x if self.shortcut is None else self.shortcut(x)
        self._cache = (body_state, None if self.shortcut is None else call_state(self.shortcut))
        if main.shape != skip.shape:
            raise ValueError(
                f"Residual: body output {main.shape} and shortcut output {skip.shape} must "
                "have the same shape to be added; give a shortcut that matches (e.g. a 1x1 "
                "Conv with the same stride)"
            )
        return main + skip

    def get_config(self) -> dict[str, Any]:
        from convlens.layers.spec import to_spec

        return {"body": to_spec(self.body),
                "shortcut": None if self.shortcut is None else to_spec(self.shortcut)}

    @classmethod
    def from_config(cls, config: dict[str, Any], where: str = "model") -> Residual:
        from convlens.layers.spec import SpecError, from_spec

        if "body" not in config:
            raise SpecError(f"{where} (Residual): missing key 'body' (the layer spec of the main path)")
        shortcut = config.get("shortcut")
        return cls(from_spec(config["body"], f"{where}.body"),
                   None if shortcut is None else from_spec(shortcut, f"{where}.shortcut"))

    def extra_repr(self) -> str:
        return ""

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        body_state, shortcut_state = self._cached()
        d_main = backward_with(self.body, body_state, dy, need_input_grad)
        if self.shortcut is None:
            d_skip = dy if need_input_grad else None
        else:
            d_skip = backward_with(self.shortcut, shortcut_state, dy, need_input_grad)
        if not need_input_grad:
            return None
        return d_main + d_skip  # type: ignore[operator]


class Concat(Module):
    """Run branches on the same input and concatenate their outputs along ``dim`` (channels).

    ``y = concat([branch(x) for branch in branches], axis=dim)``; backward splits ``dy`` into
    each branch's part and adds their input gradients (like ``torch.cat`` of parallel
    modules; the multi-width text CNN of Kim (2014) uses it).
    """

    def __init__(self, *branches: Module, dim: int = 1) -> None:
        super().__init__()
        if not branches:
            raise ValueError("Concat needs at least one branch")
        self.branches: list[Module] = list(branches)
        self.dim = int(dim)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for i, branch in enumerate(self.branches):
            yield f"branches.{i}", branch

    def forward(self, x: np.ndarray) -> np.ndarray:
        outputs, caches = [], []
        for branch in self.branches:
            outputs.append(branch(x))
            caches.append(call_state(branch))
        self._cache = ([y.shape[self.dim] for y in outputs], caches)
        try:
            return np.concatenate(outputs, axis=self.dim)
        except ValueError:
            shapes = ", ".join(str(y.shape) for y in outputs)
            raise ValueError(
                f"Concat: branch outputs {shapes} must agree on every axis but {self.dim}"
            ) from None

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        sizes, caches = self._cached()
        parts = np.split(dy, np.cumsum(sizes)[:-1], axis=self.dim)
        grads = [backward_with(branch, cache, part, need_input_grad)
                 for branch, part, cache in zip(self.branches, parts, caches)]
        if not need_input_grad:
            return None
        total = grads[0]
        for g in grads[1:]:
            total = total + g
        return total

    def get_config(self) -> dict[str, Any]:
        from convlens.layers.spec import to_spec

        return {"branches": [to_spec(b) for b in self.branches], "dim": self.dim}

    @classmethod
    def from_config(cls, config: dict[str, Any], where: str = "model") -> Concat:
        from convlens.layers.spec import from_spec

        branches = _config_list(config, "branches", where)
        return cls(*(from_spec(spec, f"{where}.branches.{i}") for i, spec in enumerate(branches)),
                   dim=config.get("dim", 1))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


def _config_list(config: dict[str, Any], key: str, where: str) -> list[Any]:
    from convlens.layers.spec import SpecError

    value = config.get(key)
    if not isinstance(value, list):
        raise SpecError(f"{where}: expected {key!r} to be a list of layer specs, "
                        f"received {type(value).__name__}")
    return value
