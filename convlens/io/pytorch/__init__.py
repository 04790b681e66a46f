"""PyTorch both ways: ``to_torch(model)`` and ``from_torch(module, example_input)``.

Nothing here imports torch until a function is called, so ``import convlens`` stays free of
it; without torch installed the call raises :class:`convlens.io.formats.MissingExtraError`
with the install command.
"""

from __future__ import annotations

import os
from typing import Any

from convlens.io.extras import require


def to_torch(model: Any) -> Any:
    """An equivalent ``torch.nn.Module`` with copies of ``model``'s weights (an
    ``nn.Sequential`` for a ``Sequential``, a ``torch.fx.GraphModule`` for a ``Graph``)."""
    require("torch", "torch", "converting a model to PyTorch")
    from convlens.io.pytorch.export import to_torch as convert

    return convert(model)


def from_torch(module: Any, example_input: Any) -> Any:
    """A convlens model computing what ``module`` computes, with copies of its weights.

    ``module`` is traced with ``torch.fx`` (``torch.export`` when fx cannot); ``example_input``
    (an array or tensor with a batch axis, or a tuple of them for several inputs) gives the
    input shapes.
    """
    require("torch", "torch", "converting a PyTorch module")
    from convlens.io.pytorch.importer import from_torch as convert

    return convert(module, example_input)


def state_dict_to_torch(state: Any, module: Any | None = None) -> Any:
    """A convlens state dict as tensors (see :mod:`convlens.io.pytorch.state`)."""
    require("torch", "torch", "converting weights to PyTorch")
    from convlens.io.pytorch.state import state_dict_to_torch as convert

    return convert(state, module)


def state_dict_from_torch(state: Any, model: Any | None = None) -> Any:
    """A torch state dict as NumPy arrays fitting ``model`` (see :mod:`convlens.io.pytorch.state`)."""
    require("torch", "torch", "reading PyTorch weights")
    from convlens.io.pytorch.state import state_dict_from_torch as convert

    return convert(state, model)


def load_torch_state(path: str | os.PathLike[str], model: Any | None = None) -> Any:
    """Read a ``torch.save``-d state dict with ``weights_only=True`` as NumPy arrays."""
    require("torch", "torch", "reading a PyTorch state dict")
    from convlens.io.pytorch.state import load_torch_state as load

    return load(path, model)


__all__ = ["to_torch", "from_torch", "state_dict_to_torch", "state_dict_from_torch", "load_torch_state"]
