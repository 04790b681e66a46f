"""docs/tutorial.ipynb runs from top to bottom in a kernel of this interpreter, and each of its
tagged cells shows what the text around it promises.

Each code cell of the notebook carries one tag; ``CHECKS`` maps every tag to a function that
checks that cell's outputs. A new cell gets a new tag and a new entry in ``CHECKS`` (a test
fails while a tagged code cell has no check).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "docs" / "tutorial.ipynb"
WIDGET = "application/vnd.jupyter.widget-view+json"


class ThisInterpreter(KernelManager):
    """An IPython kernel run by the interpreter running the tests (its packages, its convlens),
    whatever kernels Jupyter has installed."""

    @property
    def kernel_spec(self) -> KernelSpec:
        return KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                          display_name="Python (tests)", language="python")


def run(folder: Path) -> tuple[dict[str, Any], Path]:
    """Execute the notebook in ``folder``: its code cells by tag (and ``"widgets"``: the state of
    its widgets), and the folder."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(notebook, km=ThisInterpreter(kernel_name="python3"), timeout=120,
                            resources={"metadata": {"path": str(folder)}})
    # one BLAS thread, as the test workers have (conftest.py): on a busy machine OpenBLAS's
    # spinning threads make training 10-20x slower
    threads = {name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    client.execute(env={**os.environ, **threads})
    cells: dict[str, Any] = {}
    for cell in notebook.cells:
        if cell.cell_type == "code":
            (tag,) = cell.metadata["tags"]
            cells[tag] = cell
    cells["widgets"] = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    return cells, folder


# -- reading outputs ---------------------------------------------------------------------------
def stdout(cell: Any) -> str:
    return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


def value(cell: Any) -> dict[str, Any]:
    """The data of the cell's result (its last line's value)."""
    (result,) = [o for o in cell.outputs if o.output_type == "execute_result"]
    return result.data


def html_rows(cell: Any) -> list[list[str]]:
    """The rows (header first) of the one HTML table the cell's result shows."""
    html = value(cell)["text/html"]
    assert html.count("<table") == 1, html[:200]

    class Rows(HTMLParser):
        rows: list[list[str]] = []
        cell_text: list[str] | None = None

        def handle_starttag(self, tag, attrs):
            if tag == "tr":
                self.rows.append([])
            elif tag in ("td", "th"):
                self.cell_text = []

        def handle_endtag(self, tag):
            if tag in ("td", "th") and self.cell_text is not None:
                self.rows[-1].append("".join(self.cell_text))
                self.cell_text = None

        def handle_data(self, data):
            if self.cell_text is not None:
                self.cell_text.append(data)

    parser = Rows()
    parser.rows = []
    parser.feed(html)
    return parser.rows


def png_size(cell: Any) -> tuple[int, int]:
    """Width and height of the PNG the cell's result shows."""
    import base64

    png = base64.b64decode(value(cell)["image/png"])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def percent(text: str) -> float:
    return float(text.rstrip("%")) / 100


# -- what each cell must show -------------------------------------------------------------------
def check_data(cell, folder):
    assert stdout(cell) == "(4000, 1, 28, 28) (4000,) (1000, 1, 28, 28)\n"


def check_summary(cell, folder):
    header, *rows = html_rows(cell)
    assert header[:4] == ["Layer", "Type", "Output shape", "Params"]
    assert [r[1] for r in rows] == ["Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d", "Flatten",
                                    "Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert rows[-1][2] == "(1, 10)" and "Total params: 61,706" in value(cell)["text/html"]
    assert stdout(cell) == ""  # shown as a table, not printed as well


def check_fit(cell, folder):
    widgets = [o for o in cell.outputs if o.output_type == "display_data" and WIDGET in o.data]
    assert [o.data["text/plain"].split(":")[0] for o in widgets] == ["epoch 1/2", "epoch 2/2"]  # tqdm's bars
    header, *epochs = html_rows(cell)
    assert header[:5] == ["epoch", "train loss", "train accuracy", "test loss", "test accuracy"]
    assert [e[0] for e in epochs] == ["1", "2"]
    assert percent(epochs[-1][4]) > 0.9 and float(epochs[-1][1]) < float(epochs[0][1])


def check_curves(cell, folder):
    width, height = png_size(cell)
    assert width >= 2 * height > 0  # loss and accuracy side by side


def check_evaluate(cell, folder):
    (header, (loss, accuracy)) = html_rows(cell)
    assert header == ["loss", "accuracy"] and percent(accuracy) > 0.9 and 0 < float(loss) < 0.5


def check_feature_maps(cell, folder):
    assert stdout(cell) == "feature maps of layer 0: (6, 28, 28)\n"
    width, height = png_size(cell)
    assert width > 2 * height  # the input and six maps side by side


def check_filters(cell, folder):
    assert png_size(cell)[0] > 0


def check_grad_cam(cell, folder):
    match = re.fullmatch(r"Grad-CAM map: \(28, 28\) predicted class: (\d)\n", stdout(cell))
    assert match, stdout(cell)
    width, height = png_size(cell)
    assert width >= 2.5 * height > 0  # the input, Grad-CAM and Grad-CAM++ side by side


def check_weights(cell, folder):
    assert stdout(cell) == "the loaded copy predicts the same: True\n"
    assert (folder / "lenet5-mnist-5k.npz").is_file()
    assert percent(html_rows(cell)[1][1]) > 0.9


def check_model_file_save(cell, folder):
    assert stdout(cell) == ("digits.convlens (1, 28, 28) ('0', '1', '2', '3', '4', '5', '6', '7', '8', '9')\n"
                            "the loaded model predicts the same: True\n")
    assert (folder / "digits.convlens").is_file()


def check_predict(cell, folder):
    header, *rows = html_rows(cell)
    assert header == ["class", "index", "probability"] and len(rows) == 3
    assert rows[0][0] == "5" and percent(rows[0][2]) > 0.5  # test digit 8 is a 5
    html = value(cell)["text/html"]
    assert "inverted: the picture has a light background" in html and "scaled into 20×20" in html


def check_fine_tune(cell, folder):
    printed = stdout(cell).splitlines()
    assert printed[:2] == ["new head: 11", "frozen: ['0', '1', '2', '3', '4', '5']"]
    assert printed[-1] == "first convolution unchanged: True"
    (header, (loss, accuracy)) = html_rows(cell)
    assert header == ["loss", "accuracy"] and percent(accuracy) > 0.9  # odd or even, after one epoch


CHECKS: dict[str, Callable[[Any, Path], None]] = {
    "data": check_data, "summary": check_summary, "fit": check_fit, "curves": check_curves,
    "evaluate": check_evaluate, "feature-maps": check_feature_maps, "filters": check_filters,
    "grad-cam": check_grad_cam, "weights": check_weights, "model-file-save": check_model_file_save,
    "predict": check_predict, "fine-tune": check_fine_tune,
}


def test_the_tutorial_runs_and_each_cell_shows_what_it_promises(tmp_path):
    # one test, so that the notebook runs once even when pytest-xdist spreads tests over workers
    cells, folder = run(tmp_path)
    assert set(cells) - {"widgets"} == set(CHECKS), "every tagged code cell needs a check in CHECKS"
    for tag, check in CHECKS.items():
        cell = cells[tag]
        errors = [o for o in cell.outputs if o.output_type == "error" or getattr(o, "name", "") == "stderr"]
        assert not errors, f"cell {tag!r}: {errors}"  # no traceback, no warning
        try:
            check(cell, folder)
        except AssertionError as err:
            raise AssertionError(f"cell {tag!r}: {err}") from err
    # the loaded copy gives the same numbers as the model it was saved from
    assert html_rows(cells["weights"]) == html_rows(cells["evaluate"])
    check_progress_widgets(cells["widgets"])


def check_progress_widgets(state: dict[str, Any]) -> None:
    """tqdm's notebook bars (two epochs of training, one of fine-tuning) ended full, each with
    its epoch's summary."""
    models = state.values()
    bars = [m["state"] for m in models if m["model_name"] in ("FloatProgressModel", "IntProgressModel")]
    assert [(bar["value"], bar["max"]) for bar in bars] == [(125, 125)] * 3  # 4,000 / 32
    texts = [m["state"]["value"].replace("\u2007", " ") for m in models if m["model_name"] == "HTMLModel"]
    assert sum(bool(re.search(r"125/125 .*loss \d\.\d{4} acc \d+\.\d{2}% .*samples/s", t)) for t in texts) == 3


def test_the_model_file_section_ends_the_notebook():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    tags = [cell.metadata.get("tags", [""])[0] for cell in notebook.cells]
    assert tags[tags.index("model-file"):] == ["model-file", "model-file-save", "predict-text", "predict",
                                              "fine-tune-text", "fine-tune"]
    assert notebook.cells[tags.index("model-file")].source.startswith(
        "## One model file: `cl.save`, `cl.load`, `cl.predict`")
    assert all(not cell.get("outputs") for cell in notebook.cells)  # stored without outputs
