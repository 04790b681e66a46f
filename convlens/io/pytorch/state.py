"""State dicts between convlens (NumPy arrays) and PyTorch (tensors), tied weights included.

PyTorch's ``state_dict()`` lists a parameter shared by two modules under both names; convlens
lists it once. Going to convlens, a key the convlens model does not know is dropped when its
tensor is the same storage as a key it does know (an alias); going to PyTorch, each name the
torch module expects but convlens left out is filled from the name it aliases in that module.
Files are read with ``torch.load(weights_only=True)``: loading never runs code.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from convlens.io.formats import FormatError


def _storage_key(t: torch.Tensor) -> tuple[int, int, tuple[int, ...], tuple[int, ...]]:
    return (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape), tuple(t.stride()))


def _strip_prefix(state: Mapping[str, Any], expected: set[str]) -> Mapping[str, Any]:
    """Drop the ``module.`` prefix DistributedDataParallel and DataParallel add, when that
    makes the keys fit."""
    if state and all(k.startswith("module.") for k in state) and not (set(state) & expected):
        return OrderedDict((k[len("module."):], v) for k, v in state.items())
    return state


def state_dict_from_torch(state: Mapping[str, Any], model: Any | None = None) -> OrderedDict[str, np.ndarray]:
    """A torch ``state_dict`` as NumPy arrays, ready for ``model.load_state_dict``.

    With ``model``: the ``module.`` prefix of DDP is removed, and keys the model does not have
    that alias one it has (tied weights) are dropped; anything else stays, so
    ``load_state_dict`` still reports real mismatches.
    """
    expected = set(model.state_dict()) if model is not None else set()
    if model is not None:
        state = _strip_prefix(state, expected)
    groups: dict[tuple, list[str]] = {}
    for name, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise FormatError(f"state entry {name!r} is a {type(value).__name__}, expected a tensor")
        groups.setdefault(_storage_key(value) if value.numel() else (name,), []).append(name)
    keep: set[str] = set()
    for names in groups.values():
        known = [n for n in names if n in expected]
        keep.update(known if known else names)       # drop the aliases the model does not list
    out = OrderedDict((name, value.detach().cpu().numpy().copy())
                      for name, value in state.items() if name in keep)
    return _constants(out, model) if model is not None else out


def _constants(state: OrderedDict[str, np.ndarray], model: Any) -> OrderedDict[str, np.ndarray]:
    """Fit a torch state to a graph's ``cl.Constant`` nodes: a tensor the module held
    directly (``scale``) is the constant node's ``scale.value``; a constant that was a number
    in the PyTorch code (``x * 0.5``) is part of the architecture, not of torch's state, so
    the model's own value fills it."""
    own = model.state_dict()
    owners = dict(model.named_modules())
    for name in [n for n in state if n not in own and f"{n}.value" in own]:
        state[f"{name}.value"] = state.pop(name)
    for name in own:
        owner = owners.get(name.rpartition(".")[0])
        if name not in state and type(owner).__name__ == "Constant" and not owner.trainable:
            state[name] = own[name]
    return state


def state_dict_to_torch(state: Mapping[str, np.ndarray], module: torch.nn.Module | None = None
                        ) -> OrderedDict[str, torch.Tensor]:
    """A convlens ``state_dict`` as tensors; with ``module``, also under every alias name
    ``module.state_dict()`` lists for a tied parameter, and with a graph's constants fitted to
    the module (``scale.value`` -> ``scale``; constants that are numbers in torch code left out)."""
    out: OrderedDict[str, torch.Tensor] = OrderedDict(
        (name, torch.from_numpy(np.array(value, copy=True))) for name, value in state.items())
    if module is not None:
        expected = set(module.state_dict())
        for name in [n for n in out if n not in expected and n.endswith(".value")]:
            value = out.pop(name)           # a graph's Constant node: a tensor the module holds
            if name.removesuffix(".value") in expected:   # directly, or a number in its code
                out[name.removesuffix(".value")] = value
        names_by_storage: dict[tuple, list[str]] = {}
        for name, tensor in module.state_dict(keep_vars=True).items():
            names_by_storage.setdefault(_storage_key(tensor), []).append(name)
        for names in names_by_storage.values():
            known = next((n for n in names if n in out), None)
            for name in names:
                if known is not None and name not in out:
                    out[name] = out[known]
    return out


def load_torch_state(path: str | os.PathLike[str], model: Any | None = None) -> OrderedDict[str, np.ndarray]:
    """Read a ``torch.save``-d state dict safely (``weights_only=True``) as NumPy arrays
    (see :func:`state_dict_from_torch` for ``model``)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as error:  # torch raises several types for damaged or unsafe files
        raise FormatError(f"{str(path)!r} is not a PyTorch state dict convlens can read safely: "
                          f"{str(error).splitlines()[0] if str(error) else type(error).__name__}") from None
    if isinstance(state, Mapping) and "state_dict" in state and isinstance(state["state_dict"], Mapping):
        state = state["state_dict"]
    if not isinstance(state, Mapping):
        raise FormatError(f"{str(path)!r} holds a {type(state).__name__}, expected a state dict "
                          "(a mapping of names to tensors, as module.state_dict() gives)")
    return state_dict_from_torch(state, model)
