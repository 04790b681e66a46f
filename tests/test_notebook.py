"""What a Jupyter notebook shows: summary, explain, History and evaluate's result as HTML tables,
figures as PNG, and no duplicate text printed when the object displays itself."""

from __future__ import annotations

import io
import re
import sys
import types
from html.parser import HTMLParser

import numpy as np
import pytest

import convlens as cl
from convlens.notebook import html_table, in_notebook


class Tables(HTMLParser):
    """Every <table> of a page as rows of cell texts (header row first), plus its caption."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.captions: list[str] = []
        self.items: list[str] = []
        self._cell: list[str] | None = None
        self._where = ""
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th", "caption", "li"):
            self._cell, self._where = [], tag

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
        elif tag == "caption" and self._cell is not None:
            self.captions.append("".join(self._cell))
        elif tag == "li" and self._cell is not None:
            self.items.append("".join(self._cell))
        if tag in ("td", "th", "caption", "li"):
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _in_a_notebook(monkeypatch):
    shell = type("ZMQInteractiveShell", (), {"config": {}})()
    module = types.ModuleType("IPython")
    module.get_ipython = lambda: shell
    monkeypatch.setitem(sys.modules, "IPython", module)
    assert in_notebook()


def test_html_table_escapes_cells_and_aligns_numbers():
    page = html_table(["layer", "n"], [["<b>&", "1,024"]], caption="a <caption>", notes=["x < y"],
                      numeric={1})
    parsed = Tables(page)
    assert parsed.tables == [[["layer", "n"], ["<b>&", "1,024"]]]
    assert parsed.captions == ["a <caption>"] and parsed.items == ["x < y"]
    assert "<b>&amp;" not in page and "&lt;b&gt;&amp;" in page and '<td class="num">1,024</td>' in page
    with pytest.raises(ValueError, match="expected rows of 2 cells like the header, received 1"):
        html_table(["a", "b"], [["only one"]])


def test_summary_is_an_html_table_of_its_rows():
    s = cl.summary(cl.models.get_model("lenet5"), (1, 28, 28), print_table=False)
    parsed = Tables(s._repr_html_())
    (table,) = parsed.tables
    header, *rows = table
    assert header[:4] == ["Layer", "Type", "Output shape", "Params"]
    assert [r[0] for r in rows] == [row.name for row in s.rows]
    assert rows[0][1:4] == ["Conv2d", "(1, 6, 28, 28)", "156"]
    assert parsed.captions == ["Sequential summary"]
    assert "Total params: 61,706 (61,470 weights + 236 biases)" in parsed.items


def test_explanation_tables_are_html_tables():
    explanation = cl.explain(print_text=False)
    parsed = Tables(explanation._repr_html_())
    from convlens.inspect.explain.blocks import Table

    blocks = [b for b in explanation.blocks if isinstance(b, Table)]
    assert blocks and len(parsed.tables) == len(blocks)
    for table, block in zip(parsed.tables, blocks):
        assert table == [block.header, *block.rows]
    assert "<!DOCTYPE" not in explanation._repr_html_()  # a fragment for a cell, not a page
    assert explanation.to_html().startswith("<!DOCTYPE html>")


def test_history_and_evaluate_render_as_tables():
    history = cl.History(val_name="test")
    history.record({"loss": 1.25, "accuracy": 0.5}, {"loss": 1.0, "accuracy": 0.625}, 2.5, lr=0.05,
                   samples_per_second=1600)
    history.record({"loss": 0.5, "accuracy": 0.875}, {"loss": 0.75, "accuracy": 0.75}, 2.0, lr=0.025,
                   samples_per_second=2000)
    (table,) = Tables(history._repr_html_()).tables
    assert table == [
        ["epoch", "train loss", "train accuracy", "test loss", "test accuracy", "time (s)", "lr", "samples/s"],
        ["1", "1.25", "50.00%", "1", "62.50%", "2.50", "0.05", "1,600"],
        ["2", "0.5", "87.50%", "0.75", "75.00%", "2.00", "0.025", "2,000"],
    ]
    assert Tables(history._repr_html_()).captions == ["History: 2 epochs (classification)"]
    model = cl.Sequential(cl.Flatten(), cl.Linear(4, 3))
    x = np.random.default_rng(0).standard_normal((6, 1, 2, 2)).astype(np.float32)
    result = cl.evaluate(model, cl.CrossEntropyLoss(), x, np.arange(6) % 3)
    (table,) = Tables(result._repr_html_()).tables
    assert table == [["loss", "accuracy"], [f"{result.loss:.4f}", f"{result.accuracy:.2%}"]]


def test_in_a_notebook_summary_and_explain_display_instead_of_printing(monkeypatch, capsys):
    model = cl.models.get_model("simple_cnn")
    cl.summary(model, (1, 28, 28))
    cl.explain()
    printed = capsys.readouterr().out
    assert "Sequential summary" in printed and "One training step" in printed  # a terminal prints
    _in_a_notebook(monkeypatch)
    cl.summary(model, (1, 28, 28))
    cl.explain()
    assert capsys.readouterr().out == ""  # the cell's value shows itself as HTML


def test_figures_show_inline_as_png():
    from convlens.viz import Picture, history_figure, plot_filters

    history = cl.History()
    history.record({"loss": 1.0, "accuracy": 0.5}, None, 1.0)
    for fig in (history_figure(history), plot_filters(cl.Conv2d(1, 4, 3))):
        assert isinstance(fig, Picture)
        png = fig._repr_png_()
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        assert (width, height) == tuple(round(v) for v in fig.get_size_inches() * fig.dpi)


def test_the_filters_of_a_model_show_as_pictures():
    import base64

    from convlens.viz import plot_model_filters

    figures = plot_model_filters(cl.models.get_model("lenet5"))
    assert list(figures) == ["0", "3"]
    page = figures._repr_html_()
    images = re.findall(r'<figcaption>(\d)</figcaption><img src="data:image/png;base64,([^"]+)"', page)
    assert [name for name, _ in images] == ["0", "3"]
    assert all(base64.b64decode(data).startswith(b"\x89PNG") for _, data in images)


def test_fit_in_a_notebook_draws_the_widget_not_lines(monkeypatch):
    from tqdm import notebook

    from convlens.data import DataLoader

    bars = []
    real = notebook.tqdm

    class Recorded(real):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            bars.append(self)

    monkeypatch.setattr(notebook, "tqdm", Recorded)
    _in_a_notebook(monkeypatch)
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    model = cl.Sequential(cl.Flatten(), cl.Linear(4, 3))
    x = np.random.default_rng(0).standard_normal((32, 1, 2, 2)).astype(np.float32)
    cl.fit(model, cl.CrossEntropyLoss(), cl.optim.SGD(model.parameters()), DataLoader(x, np.arange(32) % 3, 8),
           2)
    assert [(b.desc, b.n, b.total) for b in bars] == [("epoch 1/2", 4, 4), ("epoch 2/2", 4, 4)]
    assert "epoch 1/2  loss" not in out.getvalue()  # no plain per-epoch line besides the widget


def test_a_prediction_is_a_table_of_its_top_classes_with_the_steps_below():
    from convlens.inference.predict import Prediction

    prediction = Prediction("drawn.png", top=[("7", 0.91), ("1", 0.0625)], indices=[7, 1],
                            steps=["converted from colour to grayscale", "inverted: <light> background"])
    parsed = Tables(prediction._repr_html_())
    assert parsed.tables == [[["class", "index", "probability"], ["7", "7", "91.00%"], ["1", "1", "6.25%"]]]
    assert parsed.captions == ["drawn.png: 7"]
    assert parsed.items == ["converted from colour to grayscale", "inverted: <light> background"]
    regression = Prediction("input 0", values=np.array([0.25, 1.5]))
    assert Tables(regression._repr_html_()).tables == [[["output", "value"], ["0", "0.25"], ["1", "1.5"]]]
