"""The model zoo's registry: build a network by name, with its documentation."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from convlens.layers.module import Module


@dataclass(frozen=True)
class ModelEntry:
    """A zoo entry: what it is, where it comes from, and what it reaches.

    ``expected``: the measured test accuracy with the dataset and the command that gives it
    (each figure is a run recorded in RESULTS.md).
    """

    name: str
    builder: Callable[..., Module]
    summary: str
    source: str
    expected: str = ""

    def num_params(self) -> int:
        """Parameters of the model built with its defaults."""
        return sum(p.size for p in self.builder().parameters())


_REGISTRY: dict[str, ModelEntry] = {}


Builder = Callable[..., Module]


def register(name: str, summary: str, source: str, expected: str = "") -> Callable[[Builder], Builder]:
    """Decorator that adds a builder function to the zoo under ``name``."""

    def decorate(builder: Callable[..., Module]) -> Callable[..., Module]:
        _REGISTRY[name] = ModelEntry(name, builder, summary, source, expected)
        return builder

    return decorate


def available_models() -> list[str]:
    return sorted(_REGISTRY)


def model_info(name: str) -> ModelEntry:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"unknown model {name!r}; available models: {', '.join(available_models())}"
        ) from None


def takes_argument(name: str, argument: str) -> bool:
    """Whether the builder of zoo model ``name`` takes ``argument`` (e.g. ``input_size``)."""
    return argument in inspect.signature(model_info(name).builder).parameters


def takes_tokens(name: str) -> bool:
    """Whether zoo model ``name`` reads token ids (its builder takes ``vocab_size``, for the
    ``Embedding`` it starts with) rather than channel-first arrays (``in_channels``)."""
    return takes_argument(name, "vocab_size")


def model_arguments(name: str) -> dict[str, Any]:
    """The keyword arguments zoo model ``name`` takes, with their defaults."""
    return {arg: p.default for arg, p in inspect.signature(model_info(name).builder).parameters.items()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def get_model(name: str, **kwargs: Any) -> Module:
    """Build the zoo model ``name`` (keyword arguments go to its builder).

    Raises:
        ValueError: an unknown model name (the message lists the zoo).
        TypeError: a keyword the model does not take (the message lists those it takes).
    """
    accepted = model_arguments(name)
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        takes = ", ".join(f"{arg}={default!r}" for arg, default in accepted.items()) or "none"
        raise TypeError(f"get_model({name!r}) received unknown keyword argument"
                        f"{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                        f"{name} takes: {takes}")
    return model_info(name).builder(**kwargs)
