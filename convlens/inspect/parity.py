"""Compare a convlens model with PyTorch: same weights, same input, same upstream gradient.

    report = parity(cl.models.get_model("lenet5"), x)
    print(report)            # max difference of the output, dL/dx and every parameter gradient

``torch_twin(model)`` is ``cl.to_torch(model)``: the ``torch.nn`` module that computes what
``model`` computes, layer by layer, with the same attribute names (``Sequential`` children
``0``, ``1``, …, ``Residual``'s ``body`` and ``shortcut``, graph nodes), so the convlens
``state_dict`` loads into it unchanged. ``parity`` then runs forward and backward in both with
the same random upstream gradient and reports, for the output, dL/dx and each parameter's
gradient, the largest absolute difference and that difference relative to the size of
PyTorch's values.

PyTorch is imported only when these functions run; without it they raise an ``ImportError``
that says how to install it. It is a reference for checking, never needed for training.
Dropout layers are compared in eval mode (no random masks); every other layer runs in its
own mode (batch norm in training mode uses the batch statistics on both sides). Layers with
several outputs may sit inside the model; the model itself must return one array.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from convlens.layers.dropout import Dropout
from convlens.layers.module import Module

TORCH_MISSING = (
    "PyTorch is not installed; the parity check compares convlens with it. Install the CPU "
    "build with: pip install torch --index-url https://download.pytorch.org/whl/cpu"
)


def import_torch() -> Any:
    """``torch``, or an ``ImportError`` that says how to install it."""
    try:
        import torch
    except ImportError as err:  # pragma: no cover - torch is installed where tests run
        raise ImportError(TORCH_MISSING) from err
    return torch


@dataclass
class TensorDifference:
    name: str
    shape: tuple[int, ...]
    max_abs: float        # max |convlens − torch|
    max_rel: float        # max_abs / max(1, max |torch|)


@dataclass
class ParityReport:
    """Differences per compared tensor: ``'output'``, ``'input grad'``, ``'<param> grad'``."""

    dtype: str
    differences: list[TensorDifference] = field(default_factory=list)

    @property
    def max_abs(self) -> float:
        return max((d.max_abs for d in self.differences), default=0.0)

    @property
    def max_rel(self) -> float:
        return max((d.max_rel for d in self.differences), default=0.0)

    def ok(self, tol: float | None = None) -> bool:
        """All relative differences within ``tol`` (default 1e-5 for float32, 1e-10 float64)."""
        if tol is None:
            tol = 1e-10 if self.dtype == "float64" else 1e-5
        return self.max_rel <= tol

    def __getitem__(self, name: str) -> TensorDifference:
        for d in self.differences:
            if d.name == name:
                return d
        raise KeyError(name)

    def __str__(self) -> str:
        width = max([len(d.name) for d in self.differences] + [6])
        lines = [f"convlens vs PyTorch ({self.dtype})",
                 f"{'tensor':<{width}}  {'shape':<18}  {'max |diff|':>10}  {'relative':>10}"]
        for d in self.differences:
            lines.append(f"{d.name:<{width}}  {str(d.shape):<18}  {d.max_abs:>10.3e}  "
                         f"{d.max_rel:>10.3e}")
        lines.append(f"largest difference {self.max_abs:.3e} (relative {self.max_rel:.3e})")
        return "\n".join(lines)


def torch_twin(model: Module, dtype: Any = None) -> Any:
    """The ``torch.nn`` twin of ``model`` (:func:`convlens.io.pytorch.to_torch`: the same
    parameter names and values, each layer in its own mode), in ``dtype`` (default: the
    parameters' own).

    Raises ``TypeError`` naming the first layer that has no twin.
    """
    torch = import_torch()
    from convlens.io.pytorch.export import ConversionError, to_torch

    try:
        twin = to_torch(model)
    except ConversionError as err:
        raise TypeError(str(err)) from None
    if dtype is not None:
        twin = twin.to(torch.from_numpy(np.empty(0, dtype)).dtype)
    own = dict(twin.named_parameters())
    missing = [k for k in dict(model.named_parameters()) if k not in own]
    if missing:  # pragma: no cover - to_torch keeps every parameter's name
        raise TypeError(f"the PyTorch twin has no parameters named {missing}")
    return twin


def _difference(name: str, ours: np.ndarray, theirs: np.ndarray) -> TensorDifference:
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    if ours.shape != theirs.shape:
        raise ValueError(f"{name}: convlens shape {ours.shape}, PyTorch shape {theirs.shape}")
    max_abs = float(np.abs(ours - theirs).max(initial=0.0))
    scale = max(1.0, float(np.abs(theirs).max(initial=0.0)))
    return TensorDifference(name, ours.shape, max_abs, max_abs / scale)


def parity(model: Module, x: np.ndarray, seed: int = 0) -> ParityReport:
    """Run ``model`` and its PyTorch twin on ``x``; compare output, dL/dx and gradients.

    The upstream gradient dL/dy is a random normal array (seeded), the same for both. The
    model's parameter gradients are restored afterwards; its buffers (batch norm running
    statistics) are put back as they were.
    """
    torch = import_torch()
    params = list(model.named_parameters())
    dtype = np.dtype(params[0][1].dtype if params else np.float32)
    x = np.asarray(x, dtype=dtype)
    saved_state = model.state_dict()
    saved_grads = [(p, None if p.grad is None else p.grad.copy()) for _, p in params]
    dropouts = [m for m in model.modules() if isinstance(m, Dropout)]
    modes = [m.training for m in dropouts]
    for m in dropouts:
        m.training = False
    try:
        twin = torch_twin(model, dtype)   # (after the dropouts: each twin layer takes its mode)
        for _, p in params:
            p.grad = None
        y = model(x)
        if not isinstance(y, np.ndarray):
            raise TypeError(f"parity compares a model with one output; this one returns {len(y)}")
        dy = np.random.default_rng(seed).standard_normal(y.shape).astype(dtype)
        dx = model.run_backward(dy.copy())
        tx = torch.from_numpy(np.array(x, copy=True)).requires_grad_(True)
        ty = twin(tx)
        ty.backward(torch.from_numpy(dy))
        report = ParityReport(str(dtype))
        report.differences.append(_difference("output", y, ty.detach().numpy()))
        assert tx.grad is not None and dx is not None
        report.differences.append(_difference("input grad", dx, tx.grad.numpy()))
        torch_params = dict(twin.named_parameters())
        for name, p in params:
            grad = np.zeros_like(p.data) if p.grad is None else p.grad
            tgrad = torch_params[name].grad
            theirs = np.zeros(p.shape) if tgrad is None else tgrad.numpy()
            report.differences.append(_difference(f"{name} grad", grad, theirs))
    finally:
        for m, mode in zip(dropouts, modes):
            m.training = mode
        for p, saved in saved_grads:
            p.grad = saved
        model.load_state_dict(saved_state)
    return report
