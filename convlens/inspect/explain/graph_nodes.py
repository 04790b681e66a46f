"""The formulas of a graph model's joins, written with the names of the tensors they read.

A merge node of ``cl.Graph`` (``Add``, ``Concatenate``, …) gets its forward formula
(``y = conv_a + shortcut``) and the rule its backward pass applies to each input
(``dL/dconv_a = dL/dy``), both in the names the graph gives its tensors. The math is the same
in every language, so these are not in the label tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from convlens.layers.module import Module

_BROADCAST = "   (summed over the axes it was broadcast along)"


def forward_formula(module: Module, names: Sequence[str], x: Any) -> str:
    """``y = …`` for a merge layer (or a constant) reading ``names``."""
    kind = type(module).__name__
    if kind == "Constant":
        return f"y = a constant of shape {tuple(module.array.shape)}"  # type: ignore[attr-defined]
    if kind == "Add":
        return "y = " + " + ".join(names)
    if kind == "Subtract":
        return f"y = {names[0]} − {names[1]}"
    if kind == "Multiply":
        return "y = " + " ⊙ ".join(names) + "   (elementwise)"
    if kind == "Divide":
        return f"y = {names[0]} / {names[1]}   (elementwise)"
    if kind in ("Maximum", "Minimum"):
        return f"y = {kind[:3].lower()}({', '.join(names)})   (elementwise)"
    if kind == "Mean":
        return f"y = ({' + '.join(names)}) / {len(names)}"
    if kind == "MatMul":
        return f"y = {names[0]} @ {names[1]}   (matrix product over the last two axes)"
    if kind == "Concatenate":
        dim = module.dim  # type: ignore[attr-defined]
        sizes = " + ".join(str(part.shape[dim]) for part in x)
        return f"y = [{' | '.join(names)}] joined along axis {dim} (sizes {sizes})"
    return f"y = {kind}({', '.join(names)})"


def backward_formulas(module: Module, names: Sequence[str]) -> list[str]:
    """One line per input: how ``dL/dy`` becomes that input's gradient."""
    kind = type(module).__name__
    d = [f"dL/d{name}" for name in names]
    if kind == "Add":
        return [f"{g} = dL/dy{_BROADCAST}" for g in d]
    if kind == "Subtract":
        return [f"{d[0]} = dL/dy,  {d[1]} = −dL/dy{_BROADCAST}"]
    if kind == "Multiply":
        return [f"{g} = dL/dy ⊙ " + " ⊙ ".join(n for j, n in enumerate(names) if j != i)
                + _BROADCAST for i, g in enumerate(d)]
    if kind == "Divide":
        a, b = names
        return [f"{d[0]} = dL/dy / {b},  {d[1]} = −dL/dy · {a} / {b}²{_BROADCAST}"]
    if kind in ("Maximum", "Minimum"):
        word = "largest" if kind == "Maximum" else "smallest"
        return [f"dL/dy goes to the {word} input at each position (split equally between "
                "ties), 0 to the others"]
    if kind == "Mean":
        return [f"{g} = dL/dy / {len(names)}{_BROADCAST}" for g in d]
    if kind == "MatMul":
        a, b = names
        return [f"{d[0]} = dL/dy @ {b}ᵀ,  {d[1]} = {a}ᵀ @ dL/dy"]
    if kind == "Concatenate":
        return [f"dL/dy is cut along axis {module.dim} into the parts of "  # type: ignore[attr-defined]
                f"{', '.join(names)}"]
    return []
