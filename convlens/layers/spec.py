"""Architectures as data: a layer tree to a JSON-able spec and back.

A spec is ``{"class": NAME, "config": CONFIG}``: ``NAME`` is the layer's class name (for a
class defined outside convlens, ``"module:QualName"``), ``CONFIG`` what its ``get_config()``
returns, which is JSON-able and enough to rebuild it with ``from_config``. Containers put
their children's specs inside their own config (``Sequential``: ``{"layers": [spec, …]}``), so
one spec describes a whole network; weights travel separately, as a ``state_dict``.

Every ``Module`` subclass is registered by name when it is defined, so a user's own layer can
be saved and loaded as long as its module has been imported before loading.

    spec = to_spec(model)            # {"class": "Sequential", "config": {"layers": [...]}}
    twin = from_spec(spec)           # the same architecture, freshly initialized
    twin.load_state_dict(model.state_dict())

Shared layers: a layer object used at several places of the tree (``Sequential(conv, act,
conv)``, tied weights) is written once; each later place holds ``{"shared": PATH}``, the
dotted name (as in ``named_modules``) of its first place, and ``from_spec`` puts the same object
there again, so the rebuilt model shares it too.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from convlens.layers.module import Module, layer_class, layer_class_name


class SpecError(ValueError):
    """A spec that does not describe a layer; the message names where in the tree."""


@dataclass
class _Writing:
    """One ``to_spec`` call on a whole tree: where each layer object is first met."""

    paths: dict[int, str]
    written: set[int] = field(default_factory=set)


@dataclass
class _Building:
    """One ``from_spec`` call on a whole tree: the layers built so far, by dotted path."""

    root: str
    built: dict[str, Module] = field(default_factory=dict)

    def path(self, where: str) -> str:
        return where[len(self.root) + 1:] if where.startswith(self.root + ".") else ""


_WRITING: ContextVar[_Writing | None] = ContextVar("convlens_spec_writing", default=None)
_BUILDING: ContextVar[_Building | None] = ContextVar("convlens_spec_building", default=None)


def to_spec(module: Module) -> dict[str, Any]:
    """``{"class": name, "config": module.get_config()}`` (children nested in the config);
    a layer met a second time is ``{"shared": PATH}`` (see the module docstring)."""
    if not isinstance(module, Module):
        raise TypeError(f"to_spec expects a convlens Module, received {type(module).__name__}")
    state = _WRITING.get()
    if state is None:  # the root of the tree: number the places of every layer first
        paths: dict[int, str] = {}
        for name, child in module.named_modules():
            paths.setdefault(id(child), name)
        token = _WRITING.set(_Writing(paths))
        try:
            return to_spec(module)
        finally:
            _WRITING.reset(token)
    if id(module) in state.written:
        return {"shared": state.paths.get(id(module), "")}
    state.written.add(id(module))
    return {"class": layer_class_name(type(module)), "config": module.get_config()}


def from_spec(spec: Any, where: str = "model") -> Module:
    """Build the layer (tree) a spec describes; errors name ``where`` it is in the tree."""
    state = _BUILDING.get()
    if state is None:
        token = _BUILDING.set(_Building(where))
        try:
            return from_spec(spec, where)
        finally:
            _BUILDING.reset(token)
    if isinstance(spec, dict) and "shared" in spec and "class" not in spec:
        target = spec["shared"]
        if not isinstance(target, str) or target not in state.built:
            known = ", ".join(repr(p) for p in state.built if p) or "none yet"
            raise SpecError(f"{where}: 'shared' must name a layer defined before this place "
                            f"(its dotted path), received {target!r}; layers so far: {known}")
        state.built[state.path(where)] = state.built[target]
        return state.built[target]
    if not isinstance(spec, dict) or "class" not in spec:
        raise SpecError(f"{where}: expected a layer spec {{'class': NAME, 'config': {{...}}}}, "
                        f"received {type(spec).__name__} {_short(spec)}")
    name = spec["class"]
    config = spec.get("config", {})
    if not isinstance(config, dict):
        raise SpecError(f"{where} ({name}): 'config' must be a table of settings, "
                        f"received {type(config).__name__}")
    cls = layer_class(name)
    if cls is None:
        raise SpecError(f"{where}: unknown layer class {name!r}")
    try:
        module = cls.from_config(config, where=where)
    except SpecError:
        raise
    except TypeError as error:
        raise SpecError(f"{where} ({name}): {error}") from None
    except ValueError as error:
        raise SpecError(f"{where} ({name}): {error}") from None
    state.built[state.path(where)] = module
    return module


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
