"""Run a model in eval mode with forward hooks, and leave it as it was.

Feature maps, the explain trace of one forward pass and the explorer's data flow all record a
forward pass the same way: hooks on some modules, every module in eval mode (dropout off,
batch norm on its running statistics) for the pass, then the hooks removed and each module's
own train/eval mode put back, even when the pass fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from convlens.layers.module import Module

Hook = Callable[[Module, Any, Any], None]


@contextmanager
def eval_with_hooks(model: Module, hooks: Iterable[tuple[Module, Hook]]) -> Iterator[Module]:
    """``with eval_with_hooks(model, [(module, hook), …]): model(x)`` — hooks on for the block,
    the model in eval mode; afterwards the hooks are gone and every module's mode is back."""
    modes = [(m, m.training) for m in model.modules()]
    handles = [module.register_forward_hook(hook) for module, hook in hooks]
    try:
        model.eval()
        yield model
    finally:
        for handle in handles:
            handle.remove()
        for m, mode in modes:
            m.training = mode
