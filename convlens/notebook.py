"""What a Jupyter notebook shows: HTML tables for the objects a learner leaves as a cell's value.

Jupyter calls an object's ``_repr_html_()`` to display it. ``cl.summary(...)``,
``cl.explain(...)``, the :class:`~convlens.training.History` that ``cl.fit`` returns and the
result of ``cl.evaluate`` each define one, built with :func:`html_table`; figures of
``convlens.viz`` show inline through ``_repr_png_`` (:class:`convlens.viz.overlay.Picture`).
Outside a notebook nothing changes: ``print(obj)`` still gives the text form.

Every cell passes through ``html.escape`` (layer names are user data).
"""

from __future__ import annotations

import html
import sys
from collections.abc import Collection, Sequence

# scoped by class, so that a table's style does not leak into the rest of the notebook
TABLE_CSS = (
    "<style>"
    "table.convlens{border-collapse:collapse;font-size:12px;margin:.3em 0}"
    "table.convlens caption{caption-side:top;text-align:left;font-weight:600;padding:.2em 0}"
    "table.convlens th,table.convlens td{border:1px solid #ccc;padding:.15em .5em;"
    "text-align:left;white-space:nowrap;font-family:ui-monospace,monospace}"
    "table.convlens td.num{text-align:right}"
    "ul.convlens-notes{font-size:12px;margin:.2em 0;padding-left:1.2em}"
    "</style>"
)


def in_notebook() -> bool:
    """Whether this process is a Jupyter (IPython kernel) process."""
    ipython = sys.modules.get("IPython")
    get = getattr(ipython, "get_ipython", None)
    shell = get() if callable(get) else None
    if shell is None:
        return False
    return type(shell).__name__ == "ZMQInteractiveShell" or "IPKernelApp" in getattr(shell, "config", {})


def html_table(header: Sequence[str], rows: Sequence[Sequence[str]], caption: str | None = None,
               notes: Sequence[str] = (), numeric: Collection[int] = (), style: bool = True) -> str:
    """One ``<table class="convlens">`` (with its scoped style) and, below it, ``notes`` as a list.

    Args:
        header: the column titles.
        rows: the cells, already formatted as text; each row as long as ``header``.
        caption: a title shown above the table.
        notes: lines shown under the table (totals, a legend).
        numeric: indices of the columns aligned right.
        style: put :data:`TABLE_CSS` in front (once per cell output is enough).

    >>> "<td class=\\"num\\">1</td>" in html_table(["n"], [["1"]], numeric={0})
    True
    """
    esc = html.escape
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"expected rows of {len(header)} cells like the header, received {len(row)}")
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{esc(c)}</td>' if i in numeric else f"<td>{esc(c)}</td>"
                         for i, c in enumerate(row)) + "</tr>"
        for row in rows)
    title = f"<caption>{esc(caption)}</caption>" if caption else ""
    table = f'<table class="convlens">{title}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    listed = ""
    if notes:
        listed = '<ul class="convlens-notes">' + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>"
    return (TABLE_CSS if style else "") + table + listed


__all__ = ["TABLE_CSS", "html_table", "in_notebook"]
