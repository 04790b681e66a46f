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
"""

from __future__ import annotations

from typing import Any

from convlens.layers.module import Module, layer_class, layer_class_name


class SpecError(ValueError):
    """A spec that does not describe a layer; the message names where in the tree."""


def to_spec(module: Module) -> dict[str, Any]:
    """``{"class": name, "config": module.get_config()}`` (children nested in the config)."""
    if not isinstance(module, Module):
        raise TypeError(f"to_spec expects a convlens Module, received {type(module).__name__}")
    return {"class": layer_class_name(type(module)), "config": module.get_config()}


def from_spec(spec: Any, where: str = "model") -> Module:
    """Build the layer (tree) a spec describes; errors name ``where`` it is in the tree."""
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
        return cls.from_config(config, where=where)
    except SpecError:
        raise
    except TypeError as error:
        raise SpecError(f"{where} ({name}): {error}") from None
    except ValueError as error:
        raise SpecError(f"{where} ({name}): {error}") from None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
