"""Render explanation blocks as terminal text, Markdown or a self-contained HTML page.

Every piece of text that goes into HTML passes through ``html.escape`` (layer names and
reprs are user data); the page has no external resources.
"""

from __future__ import annotations

import html
import re

from convlens.inspect.explain.blocks import Array, Block, Formula, Heading, Paragraph, Table
from convlens.notebook import html_table

FORMATS = ("text", "markdown", "html")


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line if line else line for line in text.splitlines())


def _table_lines(table: Table) -> list[str]:
    widths = [max(len(r[i]) for r in [table.header, *table.rows]) for i in range(len(table.header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

    return [line(table.header), "  ".join("─" * w for w in widths),
            *[line(r) for r in table.rows]]


def to_text(blocks: list[Block]) -> str:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            if block.level == 1:
                out += [block.text, "═" * len(block.text)]
            elif block.level == 2:
                out += ["", block.text, "─" * len(block.text)]
            elif block.level == 3:
                out += ["", "▸ " + block.text]
            else:
                out += [block.text]
        elif isinstance(block, Paragraph):
            out.append(block.text)
        elif isinstance(block, Formula):
            out.append(_indent(block.text))
        elif isinstance(block, Array):
            if "\n" in block.text:
                out += [f"  {block.label} =", _indent(block.text)]
            else:
                out.append(f"  {block.label} = {block.text}")
        elif isinstance(block, Table):
            out += [_indent(line, "  ") for line in _table_lines(block)]
    return "\n".join(out) + "\n"


_MD_SPECIAL = re.compile(r"([\\`*_<>#|\[\]])")


def _md(text: str) -> str:
    """Escape Markdown's special characters in running text."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def _fence(text: str) -> list[str]:
    fence = "```"
    while fence in text:
        fence += "`"
    return [fence + "text", text, fence]


def to_markdown(blocks: list[Block]) -> str:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out += ["#" * min(block.level, 6) + " " + _md(block.text), ""]
        elif isinstance(block, Paragraph):
            out += [_md(block.text), ""]
        elif isinstance(block, Formula):
            out += [*_fence(block.text), ""]
        elif isinstance(block, Array):
            out += [f"**{_md(block.label)}**", "", *_fence(block.text), ""]
        elif isinstance(block, Table):
            cells = [[_md(c) or " " for c in row] for row in [block.header, *block.rows]]
            out.append("| " + " | ".join(cells[0]) + " |")
            out.append("|" + "|".join("---" for _ in block.header) + "|")
            out += ["| " + " | ".join(r) + " |" for r in cells[1:]]
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 62rem; margin: 2rem auto;
       padding: 0 1rem; line-height: 1.5; color: #1d1d1f; }
h1 { border-bottom: 2px solid #444; } h2 { border-bottom: 1px solid #bbb; margin-top: 2rem; }
h3 { margin-top: 1.5rem; color: #0b4f8a; }
pre { background: #f4f5f7; padding: .5rem .75rem; border-radius: 4px; overflow-x: auto; }
.array-label { font-weight: 600; margin-bottom: .2rem; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .2rem .5rem;
font-family: ui-monospace, monospace; text-align: right; }
""".strip()


def html_fragment(blocks: list[Block]) -> str:
    """The blocks as HTML elements, without a page around them (a notebook cell shows this)."""
    esc = html.escape
    body: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            level = min(max(block.level, 1), 6)
            body.append(f"<h{level}>{esc(block.text)}</h{level}>")
        elif isinstance(block, Paragraph):
            body.append(f"<p>{esc(block.text)}</p>")
        elif isinstance(block, Formula):
            body.append(f'<pre class="formula">{esc(block.text)}</pre>')
        elif isinstance(block, Array):
            body.append(f'<div class="array"><div class="array-label">{esc(block.label)}</div>'
                        f"<pre>{esc(block.text)}</pre></div>")
        elif isinstance(block, Table):
            body.append(html_table(block.header, block.rows, style=False))
    return "\n".join(body)


def to_html(blocks: list[Block], lang: str = "en") -> str:
    esc = html.escape
    title = next((b.text for b in blocks if isinstance(b, Heading) and b.level == 1), "convlens")
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{esc(lang)}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{esc(title)}</title>\n<style>\n{_CSS}\n</style>\n</head>\n<body>\n"
        + html_fragment(blocks)
        + "\n</body>\n</html>\n"
    )


def render(blocks: list[Block], fmt: str = "text", lang: str = "en") -> str:
    """``fmt`` is ``'text'``, ``'markdown'`` or ``'html'``."""
    if fmt == "text":
        return to_text(blocks)
    if fmt == "markdown":
        return to_markdown(blocks)
    if fmt == "html":
        return to_html(blocks, lang)
    raise ValueError(f"format must be one of {FORMATS}, received {fmt!r}")
