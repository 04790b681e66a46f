"""``explain``: follow one training step and narrate it with the actual numbers.

    import convlens as cl
    cl.explain()                               # seed 004's worked example
    cl.explain(model, x, y, optimizer)         # any small model and batch
    cl.explain(..., lang="ko").to_html()       # Korean labels, as an HTML page

The step is recorded (:mod:`.trace`), narrated (:mod:`.narrate`) and rendered
(:mod:`.render`) as terminal text, Markdown or HTML. The step is real: the model's gradients
are zeroed, computed and used by the optimizer, exactly as in a training loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from convlens.inspect.explain.blocks import Block
from convlens.inspect.explain.example import seed004_example
from convlens.inspect.explain.narrate import narrate
from convlens.inspect.explain.render import FORMATS, render
from convlens.inspect.explain.trace import StepTrace, trace_step
from convlens.layers.module import Module
from convlens.losses.base import Loss
from convlens.optim.optimizer import Optimizer


@dataclass
class Explanation:
    """A recorded step (``.trace``) and its narration (``.blocks``); ``str()`` is the text."""

    trace: StepTrace
    lang: str
    blocks: list[Block] = field(default_factory=list)

    def render(self, fmt: str = "text") -> str:
        """``'text'``, ``'markdown'`` or ``'html'``."""
        return render(self.blocks, fmt, self.lang)

    def to_text(self) -> str:
        return self.render("text")

    def to_markdown(self) -> str:
        return self.render("markdown")

    def to_html(self) -> str:
        return self.render("html")

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        """The explanation as HTML (its tables as tables), which Jupyter shows when an
        explanation is a cell's value."""
        from convlens.inspect.explain.render import html_fragment
        from convlens.notebook import TABLE_CSS

        body = html_fragment(self.blocks)
        return f'{TABLE_CSS}<div class="convlens-explain" lang="{self.lang}">{body}</div>'

    def __repr__(self) -> str:
        return (f"Explanation({type(self.trace.model).__name__}, {len(self.trace.layers)} "
                f"layer calls, loss {self.trace.loss.value:.6g})")


def explain(
    model: Module | None = None,
    x: np.ndarray | None = None,
    y: np.ndarray | None = None,
    optimizer: Optimizer | None = None,
    loss_fn: Loss | None = None,
    lang: str = "en",
    max_values: int = 64,
    max_dot_products: int = 16,
    print_text: bool | None = None,
    max_layers: int = 40,
) -> Explanation:
    """Run one training step of ``model`` on ``(x, y)`` and explain it with its numbers.

    Args:
        model, x, y, optimizer: the step to follow. All omitted: seed 004's worked example
            (:func:`seed004_example`). ``optimizer`` omitted: SGD with lr 0.1.
        loss_fn: default ``CrossEntropyLoss()`` (``y``: integer labels or one-hot rows).
        lang: ``'en'`` or ``'ko'`` (Korean labels, as in the seeds).
        max_values: arrays with more values are summarized by their statistics.
        max_dot_products: write every dot product / window out only up to this many per layer.
        max_layers: with more layer calls (a large graph model), each pass is one table.
        print_text: print the text rendering; by default yes, except in a Jupyter notebook,
            where the returned explanation shows itself as HTML.

    Returns:
        An :class:`Explanation`: ``.trace`` holds every recorded array, ``.render(fmt)``
        gives text, Markdown or HTML.
    """
    from convlens.inspect.explain.labels import labels

    labels(lang)  # validate before doing any work
    if model is None:
        if x is not None or y is not None or optimizer is not None:
            raise ValueError("explain: give a model with x, y (and optionally optimizer), or "
                             "nothing for seed 004's example")
        model, x, y, optimizer = seed004_example()
    if x is None or y is None:
        raise ValueError("explain: x and y are required with a model")
    if optimizer is None:
        from convlens.optim.sgd import SGD

        optimizer = SGD(model.parameters(), lr=0.1)
    trace = trace_step(model, np.asarray(x), np.asarray(y), optimizer, loss_fn)
    result = Explanation(trace, lang, narrate(trace, lang, max_values, max_dot_products,
                                                    max_layers))
    if print_text is None:
        from convlens.notebook import in_notebook

        print_text = not in_notebook()
    if print_text:
        print(result.to_text())
    return result


__all__ = ["explain", "Explanation", "seed004_example", "trace_step", "StepTrace", "FORMATS"]
