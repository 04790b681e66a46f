"""Central-difference gradient checks: is a layer's backward pass the derivative of its forward?

For a random projection ``r`` of the output, the scalar ``f(x, θ) = Σ r ⊙ module(x)`` has
gradient ``module.backward(r)`` (analytic). Each checked element ``v`` of the input and of every
parameter is nudged both ways (numeric):

    ∂f/∂v ≈ (f(v + ε) − f(v − ε)) / 2ε          error O(ε²)

and the report gives, per tensor, the relative error
``max|analytic − numeric| / max(max|analytic|, max|numeric|, tiny)``. In float64 with
ε = 1e-6 a correct backward pass gives errors around 1e-8 or smaller; a wrong one gives ~1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from convlens.layers.module import Module


@dataclass
class GradcheckReport:
    """Relative error per checked tensor (``'input'`` and parameter names)."""

    errors: dict[str, float] = field(default_factory=dict)
    checked: dict[str, int] = field(default_factory=dict)

    @property
    def max_error(self) -> float:
        return max(self.errors.values(), default=0.0)

    def ok(self, tol: float = 1e-6) -> bool:
        return self.max_error <= tol

    def __str__(self) -> str:
        width = max((len(k) for k in self.errors), default=5)
        lines = [f"{'tensor':<{width}}  checked  relative error"]
        for name, err in self.errors.items():
            lines.append(f"{name:<{width}}  {self.checked[name]:>7}  {err:.3e}")
        return "\n".join(lines)


def _indices(size: int, max_checks: int | None, rng: np.random.Generator) -> np.ndarray:
    if max_checks is None or size <= max_checks:
        return np.arange(size)
    return np.sort(rng.choice(size, max_checks, replace=False))


def _relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    scale = max(np.abs(analytic).max(initial=0.0), np.abs(numeric).max(initial=0.0), 1e-12)
    return float(np.abs(analytic - numeric).max(initial=0.0) / scale)


def gradcheck(
    module: Module,
    x: np.ndarray | tuple[np.ndarray, ...],
    eps: float = 1e-6,
    seed: int = 0,
    max_checks: int | None = 200,
    check_input: bool = True,
) -> GradcheckReport:
    """Compare ``module.backward`` with central differences, in float64.

    Args:
        module: a layer or a whole model, already in float64 (``module.double()``).
        x: an input batch (converted to float64), or a tuple of them for a module with
            several inputs (a graph model); their errors are reported as ``input0``, ….
        eps: the finite-difference step.
        seed: seeds the output projection and the choice of checked elements.
        max_checks: at most this many elements are checked per tensor (``None``: all).
        check_input: also check dL/dx.

    The module is evaluated in its current mode; put layers with randomness (dropout) in
    ``eval()`` mode, or their forward passes will differ between nudges.
    """
    params = list(module.named_parameters())
    for name, p in params:
        if p.data.dtype != np.float64:
            raise TypeError(
                f"gradcheck needs float64 parameters for a meaningful check; {name} is "
                f"{p.data.dtype}: call module.double() first"
            )
    rng = np.random.default_rng(seed)
    several = isinstance(x, tuple)
    # contiguous, so nudges reach the input
    xs = [np.array(a, dtype=np.float64, order="C") for a in (x if several else (x,))]
    # every nudge re-runs forward: batch norm in training mode would update its running
    # statistics each time, so the buffers are put back afterwards
    saved_state = module.state_dict()
    out = module(*xs)
    # a module with several outputs (a graph model) returns a tuple: one projection each
    projections = tuple(rng.standard_normal(y.shape) for y in (out if isinstance(out, tuple)
                                                               else (out,)))

    def f() -> float:
        outs = module(*xs)
        outs = outs if isinstance(outs, tuple) else (outs,)
        return float(sum((y * r).sum() for y, r in zip(outs, projections)))

    saved = [(p, None if p.grad is None else p.grad.copy()) for _, p in params]
    for _, p in params:
        p.grad = None
    module(*xs)
    dys = tuple(r.copy() for r in projections)
    dx = module.backward(dys if isinstance(out, tuple) else dys[0], need_input_grad=check_input)
    dxs = dx if several else (dx,)
    analytic = {name: (np.zeros_like(p.data) if p.grad is None else p.grad.copy())
                for name, p in params}
    for p, grad in saved:
        p.grad = grad

    report = GradcheckReport()
    names = [f"input{i}" for i in range(len(xs))] if several else ["input"]
    targets = (list(zip(names, xs, dxs)) if check_input else []) + [
        (name, p.data, analytic[name]) for name, p in params]
    for name, array, grad in targets:
        flat = array.flat  # writes through whatever the memory layout
        idx = _indices(array.size, max_checks, rng)
        numeric = np.empty(idx.size)
        for j, i in enumerate(idx):
            original = flat[i]
            flat[i] = original + eps
            plus = f()
            flat[i] = original - eps
            minus = f()
            flat[i] = original
            numeric[j] = (plus - minus) / (2 * eps)
        report.errors[name] = _relative_error(np.asarray(grad).reshape(-1)[idx], numeric)
        report.checked[name] = int(idx.size)
    module.load_state_dict(saved_state)
    return report
