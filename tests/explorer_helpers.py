"""Helpers of the explorer tests (tests/explorer): a run folder as `convlens train` writes it,
a digit-like input, a graph model, a small ONNX model, and drawing on the page."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import convlens as cl
from convlens.io import save_weights, write_json

# Debian's Chromium, headless, for the browser tests (no browser download)
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def write_run(path: Path, model_name: str = "simple_cnn", status: str = "completed") -> cl.Module:
    """A run folder as `convlens train` writes it (weights, config, metrics with a history and a
    confusion matrix), with a model of seeded random weights."""
    path.mkdir(parents=True, exist_ok=True)
    cl.manual_seed(5)
    model = cl.models.get_model(model_name)
    save_weights(model, path / "weights.npz")
    write_json(path / "config.json", {"model": model_name, "dataset": "mnist-5k", "data_dir": None,
                                      "limit_train": 20, "limit_test": 12, "input_shape": [1, 28, 28],
                                      "command": f"convlens train --model {model_name}"})
    confusion = np.eye(10, dtype=int).tolist()
    write_json(path / "metrics.json", {
        "status": status, "test_accuracy": 0.5, "test_loss": 1.25, "epochs": 2,
        "history": {"train_loss": [2.0, 1.5], "val_loss": [1.9, 1.4], "train_accuracy": [0.3, 0.45],
                    "val_accuracy": [0.32, 0.5]},
        "test_confusion_matrix": confusion})
    return model.eval()



def branches_graph() -> cl.Graph:
    """A graph model: two convolutions side by side, concatenated, then a shortcut sum."""
    x = cl.Input((1, 28, 28), name="image")
    a = cl.ReLU()(cl.Conv2d(1, 4, 3, padding=1)(x, name="narrow"), name="narrow_relu")
    b = cl.ReLU()(cl.Conv2d(1, 4, 5, padding=2)(x, name="wide"), name="wide_relu")
    c = cl.MaxPool2d(2)(cl.Concatenate(dim=1)(a, b, name="cat"), name="pool")
    s = cl.Add()(c, cl.Conv2d(8, 8, 3, padding=1)(c, name="refine"), name="sum")
    return cl.Graph(inputs=x, outputs=cl.Linear(8, 10)(cl.Flatten()(cl.GlobalAvgPool2d()(s)), name="logits"))


def digit_input(seed: int = 0) -> np.ndarray:
    """A stroke-like input of (1, 28, 28): a bright bar with noise."""
    x = np.random.default_rng(seed).random((1, 28, 28)).astype(np.float32) * 0.2
    x[0, 5:23, 12:16] = 1.0
    return x


def onnx_digits_cnn(path: Path):
    """A small PyTorch CNN for 28×28 digits, exported to ONNX at ``path``; returns the module."""
    import torch

    torch.manual_seed(3)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                              torch.nn.Conv2d(4, 6, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                              torch.nn.Linear(6 * 12 * 12, 10)).eval()
    torch.onnx.export(net, (torch.zeros(1, 1, 28, 28),), str(path), dynamo=False, input_names=["image"],
                      dynamic_axes={"image": {0: "batch"}})
    return net


def draw_stroke(page) -> None:
    """Draw a "7" on the explorer's canvas with the mouse (a Playwright page)."""
    page.locator("#draw-canvas").scroll_into_view_if_needed()    # the mouse reaches only what is in view
    box = page.locator("#draw-canvas").bounding_box()
    x0, y0 = box["x"] + 150, box["y"] + 40
    page.mouse.move(x0, y0)
    page.mouse.down()
    for k in range(1, 25):                      # a "7": across, then down to the left
        page.mouse.move(x0 - 60 + 5 * k if k < 13 else x0 - (k - 13) * 6, y0 if k < 13 else y0 + (k - 12) * 17)
    page.mouse.up()
    # the bars show the finished stroke's prediction once no request is in flight
    page.wait_for_function("window.explorer.predicting === 0 && window.explorer.payload !== null"
                           " && window.explorer.shownPayload === window.explorer.payload")


def shown_probabilities(page) -> list[float]:
    """The probabilities of the page's bars, as the page received them."""
    page.wait_for_function("document.querySelectorAll('#bars .bar').length > 0")
    return [float(b.get_attribute("data-p")) for b in page.locator("#bars .bar").all()]


def click_map(page, node: int, channel: int, across: float, down: float) -> tuple[tuple[int, ...], float]:
    """Click map ``channel`` of node ``node`` at fractions ``across`` and ``down`` of its size;
    returns the index of the value the page then details and the value it shows."""
    from playwright.sync_api import expect

    canvas = page.locator(f"[data-testid=node-{node}] canvas").nth(channel)
    size = canvas.bounding_box()
    canvas.click(position={"x": size["width"] * across, "y": size["height"] * down})
    value = page.locator("[data-testid=cell-value]")
    expect(value).to_be_visible()
    return tuple(json.loads(value.get_attribute("data-index"))), float(value.get_attribute("data-value"))
