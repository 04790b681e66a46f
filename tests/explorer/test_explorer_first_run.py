"""The issue's "done when", as a new user does it: ``convlens train`` (one short epoch), then
``convlens serve runs/<that run>``, then the model explored in a browser (Debian's Chromium):
the run's record, a drawn digit's prediction and one feature-map cell, each checked against
``cl.load`` of the same run folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from explorer_helpers import ARGS, CHROMIUM, click_map, draw_stroke, shown_probabilities
from playwright.sync_api import expect, sync_playwright

import convlens as cl
from convlens.explorer.process import serving
from convlens.viz.feature_maps import feature_maps

pytestmark = pytest.mark.debian("chromium")


def test_train_then_serve_then_explore(tmp_path):
    root = str(Path(cl.__file__).resolve().parents[1])     # this convlens, even when not installed
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    run = tmp_path / "runs" / "first"
    done = subprocess.run([sys.executable, "-m", "convlens.cli", "train", "--epochs", "1", "--limit-train", "64",
                           "--limit-test", "32", "--out", str(run)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (run / "model.convlens").is_file()
    model = cl.load(run)
    with serving([str(run)]) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.goto(url + "/")
        page.wait_for_selector("body[data-ready='1']", timeout=30_000)
        expect(page.locator("[data-testid=model-picker]")).to_have_value("first")
        expect(page.locator("[data-testid=run-status]")).to_have_text("completed")
        expect(page.locator("[data-testid=curves]")).to_have_attribute("data-points", "1")
        draw_stroke(page)
        page.wait_for_function("window.explorer.acts && window.explorer.acts.input.max > 0 && window.explorer.pred",
                               timeout=30_000)
        x = np.array(page.evaluate("window.explorer.acts.input.values"), dtype=np.float32)
        probabilities = cl.functional.softmax(model(x[None])[0].astype(np.float64))
        np.testing.assert_allclose(shown_probabilities(page), probabilities, rtol=1e-4, atol=1e-7)
        index, value = click_map(page, 0, 1, 0.5, 0.4)
        first = feature_maps(model, x, "0")["0"]
        assert index[0] == 1 and value == pytest.approx(float(first[index]), rel=1e-5, abs=1e-6)
        browser.close()
    assert errors == [], errors
