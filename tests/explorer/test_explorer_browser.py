"""The explorer in a real browser: Debian's Chromium driven by Playwright, against
`convlens serve` started on 127.0.0.1 by the test (no browser download, nothing from the
internet). Draw a stroke, see the prediction and the feature maps, click a cell and check its
numbers against convlens's own forward pass, open Grad-CAM, switch to Korean, run the
backward view, open a 1-D model, a 3-D model's slices, the softmax written out, a graph's merge
cell, a model imported from ONNX, and a run still training whose curves grow while the page is
open.

Screenshots go to the test's temporary folder; with CONVLENS_SCREENSHOTS=docs/images they are
also written there (the README's pictures), and CONVLENS_EXPLORER_RUN=runs/<run> serves that
run folder instead of the small untrained one:

    CONVLENS_SCREENSHOTS=docs/images CONVLENS_EXPLORER_RUN=runs/lenet5 \
        python -m pytest tests/explorer/test_explorer_browser.py
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from explorer_helpers import (
    ARGS,
    CHROMIUM,
    branches_graph,
    click_map,
    draw_stroke,
    onnx_digits_cnn,
    shown_probabilities,
    write_run,
)
from playwright.sync_api import expect, sync_playwright

import convlens as cl
from convlens.explorer.inputs import from_image
from convlens.explorer.models import open_model
from convlens.explorer.process import serving
from convlens.functional.conv_arithmetic import resolve_padding
from convlens.viz.feature_maps import feature_maps

pytestmark = pytest.mark.debian("chromium")      # Debian's browser: .ci/run installs it


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    run = os.environ.get("CONVLENS_EXPLORER_RUN")
    if run is None:
        run = str(tmp_path_factory.mktemp("browser") / "digits")
        write_run(Path(run))
    folder = tmp_path_factory.mktemp("graph")
    graph = folder / "branches.convlens"
    cl.save(branches_graph(), graph, input_shape=(1, 28, 28), class_names=tuple("0123456789"))
    onnx_digits_cnn(folder / "small.onnx")
    cl.manual_seed(8)        # a 3-D model of known weights, with the examples of its data set
    cl.save(cl.models.get_model("cnn3d"), folder / "volumes.convlens", input_shape=(1, 16, 20, 20),
            dataset="moving-mnist-5k")
    live = folder / "live"
    _write_live_run(live, epochs=1)
    with serving([run, "cnn1d", "resnet_small", str(graph), str(folder / "volumes.convlens"),
                  str(folder / "small.onnx"), str(live)]) as url:
        yield url, run, folder


def _write_live_run(path: Path, epochs: int) -> cl.Module:
    """A run still training: config.json and the checkpoint of its last epoch, no metrics yet."""
    from convlens.io import write_json
    from convlens.training.checkpoint import write_checkpoint

    path.mkdir(exist_ok=True)
    write_json(path / "config.json", {"model": "simple_cnn", "dataset": "mnist-5k", "input_shape": [1, 28, 28],
                                      "limit_train": 20, "limit_test": 12, "command": "convlens train"})
    cl.manual_seed(epochs)
    model = cl.models.get_model("simple_cnn")
    history = {"train_loss": [2.0 - 0.3 * k for k in range(epochs)], "val_loss": [1.9 - 0.3 * k for k in range(epochs)]}
    write_checkpoint(path / "checkpoint", {"model": {"class": "Sequential", "state": model.state_dict()},
                                           "history": history})
    stamp = (path / "checkpoint.npz").stat().st_mtime + epochs    # a coarse file clock must not hide it
    os.utime(path / "checkpoint.npz", (stamp, stamp))
    return model


@pytest.fixture(scope="module")
def page(server):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.goto(server[0] + "/")
        page.wait_for_selector("body[data-ready='1']", timeout=30_000)
        yield page
        assert errors == [], errors
        browser.close()


def _shot(page, tmp_path: Path, name: str, selector: str | None = None) -> None:
    path = tmp_path / f"explorer-{name}.png"
    if selector:
        page.locator(selector).screenshot(path=path)
    else:
        page.screenshot(path=path, full_page=True)
    assert path.stat().st_size > 10_000
    target = os.environ.get("CONVLENS_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)


def test_draw_predict_feature_maps_and_one_cell(page, server, tmp_path):
    draw_stroke(page)
    expect(page.locator("#bars .bar")).to_have_count(10)
    expect(page.locator("[data-testid=node-0] canvas")).to_have_count(8 if server[1].endswith("digits") else 6)
    ms = float(page.locator("#round-trip").get_attribute("data-ms"))
    assert 0 < ms < 2000
    # the prediction shown is the model's on the very picture the page sent
    image = page.evaluate("window.explorer.payload.image")
    served = open_model(server[1])
    x, _ = from_image(served, base64.b64decode(image.split(",", 1)[1]))
    probabilities = cl.functional.softmax(served.model(x[None])[0].astype(np.float64))
    shown = [float(b.get_attribute("data-p")) for b in page.locator("#bars .bar").all()]
    np.testing.assert_allclose(shown, probabilities, rtol=1e-5)

    # click map 2 of the first convolution at 40 % across and 55 % down
    canvas = page.locator("[data-testid=node-0] canvas").nth(2)
    size = canvas.bounding_box()
    canvas.click(position={"x": size["width"] * 0.4, "y": size["height"] * 0.55})
    value = page.locator("[data-testid=cell-value]")
    expect(value).to_be_visible()
    index = json.loads(value.get_attribute("data-index"))
    assert index[0] == 2
    first = feature_maps(served.model, x, "0")["0"]
    assert float(value.get_attribute("data-value")) == pytest.approx(float(first[tuple(index)]), rel=1e-5, abs=1e-6)
    assert float(value.inner_text()) == pytest.approx(float(first[tuple(index)]), rel=1e-5, abs=1e-6)
    # the window shown is the input around the cell; the sum of the products plus the bias is the value
    conv = served.model[0]
    (k, _), pads = conv.kernel_size, resolve_padding(conv.padding, x.shape[1:], conv.kernel_size, conv.stride,
                                                       conv.dilation)
    xp = np.pad(x[0], pads)                     # stride 1, dilation 1 in both models served here
    window = xp[index[1]:index[1] + k, index[2]:index[2] + k]
    cells = [float(td.get_attribute("data-value")) for td in page.locator("#cell table.numbers").first.locator("td").all()]
    np.testing.assert_allclose(cells, window.ravel(), rtol=1e-6, atol=1e-7)
    total = float(page.locator("[data-testid=cell-sum]").get_attribute("data-value"))
    assert total == pytest.approx(float(first[tuple(index)]), rel=1e-4, abs=1e-6)
    expect(page.locator("[data-testid=size-formula]")).to_have_count(2)
    expect(page.locator("[data-testid=rf-box]")).to_be_visible()

    page.locator("[data-testid=why-show]").click()
    expect(page.locator("[data-testid=why-overlay]")).to_be_visible()
    _shot(page, tmp_path, "draw")


def test_korean_and_the_backward_view(page, server, tmp_path):
    page.locator("[data-testid=lang-switch]").click()
    expect(page.locator("#prediction-panel h2")).to_have_text("예측")
    expect(page.locator("#backward-panel h2")).to_have_text("역전파")
    page.locator("[data-testid=bw-label]").select_option("3")
    page.locator("[data-testid=bw-run]").click()
    loss = page.locator("[data-testid=bw-loss]")
    expect(loss).to_be_visible()
    image = page.evaluate("window.explorer.payload.image")
    served = open_model(server[1])
    x, _ = from_image(served, base64.b64decode(image.split(",", 1)[1]))
    expected = cl.CrossEntropyLoss()(served.model(x[None]), np.array([3]))
    assert float(loss.get_attribute("data-value")) == pytest.approx(float(expected), rel=1e-5)
    expect(page.locator("pre.explanation")).to_contain_text("2. 역전파")
    expect(page.locator("#backward .grad-row")).to_have_count(len(served.model.layers))
    _shot(page, tmp_path, "backward-ko", "#backward-panel")
    _shot(page, tmp_path, "training", "#training-panel")
    page.locator("[data-testid=lang-switch]").click()
    expect(page.locator("#prediction-panel h2")).to_have_text("Prediction")


def test_upload_a_picture(page, server, tmp_path):
    from PIL import Image

    picture = Image.new("L", (64, 64))
    picture.paste(255, (28, 8, 36, 56))                     # a "1"
    path = tmp_path / "one.png"
    picture.save(path)
    page.locator("#upload").set_input_files(str(path))
    expect(page.locator("#steps")).to_contain_text("cropped to the drawing (8×48 of 64×64)", timeout=30_000)
    seen = np.array(page.evaluate("window.explorer.acts.input.values"))
    expected, _ = from_image(open_model(server[1]), path.read_bytes())
    np.testing.assert_allclose(seen, expected, rtol=1e-6, atol=1e-7)
    assert expected[0, 14].max() > 0.9 and expected[0, 14, 2] == 0


def test_a_run_shows_its_record_and_a_1d_model_shows_lines(page, tmp_path):
    expect(page.locator("[data-testid=run-status]")).to_have_text("completed")
    expect(page.locator("[data-testid=confusion] tr")).to_have_count(11)
    page.locator("[data-testid=model-picker]").select_option("cnn1d")
    expect(page.locator("#draw-area")).to_be_hidden()
    expect(page.locator("#seen canvas.line")).to_be_visible(timeout=30_000)
    expect(page.locator("[data-testid=node-0] canvas.line")).to_have_count(16)
    _shot(page, tmp_path, "signal")


def test_a_residual_network_is_drawn_as_a_graph(page, tmp_path):
    page.locator("[data-testid=model-picker]").select_option("resnet_small")
    expect(page.locator("#draw-area")).to_be_visible(timeout=30_000)
    draw_stroke(page)
    page.wait_for_function("window.explorer.acts && window.explorer.acts.input.max > 0", timeout=30_000)
    expect(page.locator("[data-testid=node-30] canvas")).to_have_count(1)   # the logits
    nodes = page.evaluate("window.explorer.net.nodes")
    index = {n["name"]: n["index"] for n in nodes}
    # a block's two branches side by side: the shortcut's 1×1 convolution shares a column with
    # the body's first convolution, and the sum reads both ends
    column = "el => el.parentElement.dataset.column"
    body, shortcut = (page.locator(f"[data-testid=node-{index[n]}]") for n in ("4.0.body.0", "4.0.shortcut.0"))
    assert body.evaluate(column) == shortcut.evaluate(column)
    edges = page.locator("#network svg.edges path")
    assert edges.count() == sum(len(n["inputs"]) for n in nodes)
    body.evaluate("el => { const n = document.getElementById('network');"
                  " n.scrollLeft += el.getBoundingClientRect().left - n.getBoundingClientRect().left - 560; }")
    _shot(page, tmp_path, "graph", "#network-panel")


def test_a_graph_model_file_is_drawn_as_its_graph(page):
    page.locator("[data-testid=model-picker]").select_option("branches.convlens")
    page.wait_for_function("window.explorer.model.name === 'branches.convlens' && window.explorer.acts", timeout=30_000)
    nodes = {n["name"]: n for n in page.evaluate("window.explorer.net.nodes")}
    assert nodes["cat"]["inputs"] == [nodes["narrow_relu"]["index"], nodes["wide_relu"]["index"]]
    column = "el => el.parentElement.dataset.column"
    narrow, wide = (page.locator(f"[data-testid=node-{nodes[n]['index']}]") for n in ("narrow", "wide"))
    assert narrow.evaluate(column) == wide.evaluate(column)             # the two branches side by side
    assert page.locator("#network svg.edges path").count() == sum(len(n["inputs"]) for n in nodes.values())


def _pick(page, name: str) -> None:
    page.locator("[data-testid=model-picker]").select_option(name)
    page.wait_for_function(f"window.explorer.model.name === {name!r} && window.explorer.acts"
                           " && window.explorer.pred", timeout=30_000)


def test_a_merge_cell_shows_each_input_and_the_operation(page, server, tmp_path):
    _pick(page, "branches.convlens")
    draw_stroke(page)
    page.wait_for_function("window.explorer.acts.input.max > 0", timeout=30_000)
    nodes = {n["name"]: n["index"] for n in page.evaluate("window.explorer.net.nodes")}
    canvas = page.locator(f"[data-testid=node-{nodes['sum']}] canvas").nth(5)
    size = canvas.bounding_box()
    canvas.click(position={"x": size["width"] * 0.5, "y": size["height"] * 0.3})
    expect(page.locator("[data-testid=merge-formula]")).to_have_attribute("data-operation", "+")
    index = tuple(json.loads(page.locator("[data-testid=cell-value]").get_attribute("data-index")))
    served = open_model(server[2] / "branches.convlens")
    x = np.array(page.evaluate("window.explorer.acts.input.values"), dtype=np.float32)
    maps = feature_maps(served.model, x, ["pool", "refine", "sum"])
    shown = [float(v.get_attribute("data-value")) for v in page.locator("[data-testid=merge-input]").all()]
    np.testing.assert_allclose(shown, [maps["pool"][index], maps["refine"][index]], rtol=1e-5, atol=1e-6)
    value = float(page.locator("[data-testid=cell-value]").get_attribute("data-value"))
    assert index[0] == 5 and value == pytest.approx(float(maps["sum"][index]), rel=1e-5, abs=1e-6)
    _shot(page, tmp_path, "merge", "#cell-panel")


def test_a_3d_model_shows_slices_and_a_cell_of_the_chosen_slice(page, server, tmp_path):
    _pick(page, "volumes.convlens")
    expect(page.locator("#slice-control")).to_be_visible()
    first = page.evaluate("window.explorer.acts.layers[0]")
    assert first["kind"] == "slices" and first["depth"] == first["depths"] // 2
    page.locator("#slice").fill("3")
    page.wait_for_function("window.explorer.acts.layers[0].depth === 3", timeout=30_000)
    expect(page.locator("#slice-value")).to_have_text(f"3 / {first['depths']}")
    clip = np.array(page.evaluate("window.explorer.payload.input"), dtype=np.float32)
    maps = feature_maps(cl.load(server[2] / "volumes.convlens"), clip, "0")["0"]
    shown = np.array(page.evaluate("window.explorer.acts.layers[0].values"))
    np.testing.assert_allclose(shown, maps[:len(shown), 3], rtol=1e-5, atol=1e-6)
    # click map 1 where its slice is largest (a value that is not 0)
    i, j = np.unravel_index(int(np.argmax(np.abs(maps[1, 3]))), maps.shape[2:])
    canvas = page.locator("[data-testid=node-0] canvas").nth(1)
    inner = canvas.evaluate("c => [c.clientLeft, c.clientTop, c.clientWidth, c.clientHeight]")   # inside the border
    canvas.click(position={"x": inner[0] + inner[2] * (j + 0.5) / maps.shape[3],
                           "y": inner[1] + inner[3] * (i + 0.5) / maps.shape[2]})
    value = page.locator("[data-testid=cell-value]")
    expect(value).to_be_visible()
    index = tuple(json.loads(value.get_attribute("data-index")))
    assert index == (1, 3, i, j) and maps[index] != 0
    assert float(value.get_attribute("data-value")) == pytest.approx(float(maps[index]), rel=1e-5, abs=1e-6)
    _shot(page, tmp_path, "slices")


def test_clicking_a_bar_writes_out_the_softmax(page, server):
    _pick(page, "small.onnx")
    draw_stroke(page)
    page.wait_for_function("window.explorer.acts.input.max > 0 && window.explorer.pred", timeout=30_000)
    page.locator("#bars .bar").nth(4).click()
    expect(page.locator("[data-testid=softmax]")).to_be_visible()
    rows = page.locator("[data-testid=softmax] table.numbers tr").all()
    table = np.array([[float(td.get_attribute("data-value")) for td in row.locator("td[data-value]").all()]
                      for row in rows])
    x = np.array(page.evaluate("window.explorer.acts.input.values"), dtype=np.float32)
    logits = open_model(server[2] / "small.onnx").model(x[None])[0].astype(np.float64)
    np.testing.assert_allclose(table[:, 0], logits, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(table[:, 1], np.exp(logits - logits.max()), rtol=1e-5)
    np.testing.assert_allclose(table[:, 2], cl.functional.softmax(logits), rtol=1e-5, atol=1e-9)


def test_an_onnx_model_opens_like_any_other(page, server):
    import torch

    _pick(page, "small.onnx")
    expect(page.locator("#draw-area")).to_be_visible()
    draw_stroke(page)
    page.wait_for_function("window.explorer.acts.input.max > 0 && window.explorer.pred", timeout=30_000)
    types = [n["type"] for n in page.evaluate("window.explorer.net.nodes")]
    assert types == ["Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "Flatten", "Linear"]
    net = onnx_digits_cnn(server[2] / "again.onnx")      # the same seeded PyTorch module
    x = np.array(page.evaluate("window.explorer.acts.input.values"), dtype=np.float32)
    with torch.no_grad():
        probabilities = torch.softmax(net(torch.from_numpy(x[None]))[0].double(), 0).numpy()
        first = net[0](torch.from_numpy(x[None]))[0].numpy()
    np.testing.assert_allclose(shown_probabilities(page), probabilities, rtol=1e-4, atol=1e-7)
    index, value = click_map(page, 0, 2, 0.45, 0.5)
    assert index[0] == 2 and value == pytest.approx(float(first[index]), rel=1e-5, abs=1e-6)


def test_a_run_still_training_gains_a_point_while_the_page_is_open(page, server):
    _pick(page, "live")
    expect(page.locator("[data-testid=run-status]")).to_have_text("training")
    expect(page.locator("[data-testid=curves]")).to_have_attribute("data-points", "1")
    second = _write_live_run(server[2] / "live", epochs=2)      # the next epoch's checkpoint
    expect(page.locator("[data-testid=curves]")).to_have_attribute("data-points", "2", timeout=15_000)
    expect(page.locator("[data-testid=training]")).to_contain_text("epoch 2")
    # the first layer's filters the page shows are now those of the new checkpoint
    page.wait_for_function("window.explorer.net.filters.weights[0][0][0][0] !== null", timeout=10_000)
    shown = np.array(page.evaluate("window.explorer.net.filters.weights"))
    np.testing.assert_allclose(shown, second[0].weight.data[:len(shown)], rtol=1e-6)
