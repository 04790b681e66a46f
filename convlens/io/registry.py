"""One decorator factory for the converter registries of the importers and exporters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def registrar(table: dict[Any, Any]) -> Callable[..., Callable[[F], F]]:
    """``register = registrar(TABLE)``; then ``@register(key, …)`` puts the decorated
    function in ``TABLE`` under every key (a layer class, an operator, a Keras class name)."""

    def register(*keys: Any) -> Callable[[F], F]:
        def decorate(function: F) -> F:
            for key in keys:
                table[key] = function
            return function

        return decorate

    return register
