"""Containers: ``Sequential`` (a chain of layers) and ``Residual`` (x + body(x))."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from convlens.layers.module import Module


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

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer(x)
        return x

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        grad: np.ndarray | None = dy
        last = len(self.layers) - 1
        for i in range(last, -1, -1):
            grad = self.layers[i].run_backward(grad, need_input_grad or i > 0)  # type: ignore[arg-type]
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
        skip = x if self.shortcut is None else self.shortcut(x)
        if main.shape != skip.shape:
            raise ValueError(
                f"Residual: body output {main.shape} and shortcut output {skip.shape} must "
                "have the same shape to be added; give a shortcut that matches (e.g. a 1x1 "
                "Conv with the same stride)"
            )
        return main + skip

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        d_main = self.body.run_backward(dy, need_input_grad)
        if self.shortcut is None:
            d_skip = dy if need_input_grad else None
        else:
            d_skip = self.shortcut.run_backward(dy, need_input_grad)
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
        self._sizes: list[int] | None = None

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for i, branch in enumerate(self.branches):
            yield f"branches.{i}", branch

    def forward(self, x: np.ndarray) -> np.ndarray:
        outputs = [branch(x) for branch in self.branches]
        self._sizes = [y.shape[self.dim] for y in outputs]
        try:
            return np.concatenate(outputs, axis=self.dim)
        except ValueError:
            shapes = ", ".join(str(y.shape) for y in outputs)
            raise ValueError(
                f"Concat: branch outputs {shapes} must agree on every axis but {self.dim}"
            ) from None

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        sizes = self._cached("_sizes")
        parts = np.split(dy, np.cumsum(sizes)[:-1], axis=self.dim)
        grads = [branch.run_backward(part, need_input_grad)
                 for branch, part in zip(self.branches, parts)]
        if not need_input_grad:
            return None
        total = grads[0]
        for g in grads[1:]:
            total = total + g
        return total

    def get_config(self) -> dict:
        return {"dim": self.dim}
