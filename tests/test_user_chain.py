"""Issue 11's "done when", as a user runs it: ``convlens train``, then ``convlens predict`` on a
digit drawn in a paint program, then ``convlens train --init-from`` on Fashion-MNIST; real
processes (``python -m convlens``), a small budget."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

import convlens as cl

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--limit-test", "200", "--batch-size", "16"]


def convlens(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "convlens", *args], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=120)


def draw_a_seven(path: Path) -> None:
    """A 7 as a paint program saves it: a dark stroke on a white RGB canvas of odd size."""
    canvas = Image.new("RGB", (317, 243), "white")
    ImageDraw.Draw(canvas).line([(110, 50), (215, 50), (150, 205)], fill=(20, 20, 20), width=13, joint="curve")
    canvas.save(path)


@pytest.mark.debian("fashion-mnist")  # the fine-tuning step's data
def test_train_then_predict_a_drawn_digit_then_fine_tune(tmp_path):
    trained = convlens(tmp_path, "train", "--limit-train", "2000", "--epochs", "2", *SMALL, "--out", "runs/digits")
    assert trained.returncode == 0, trained.stderr
    assert "Traceback" not in trained.stderr
    accuracy = re.search(r"^test: loss \d\.\d{4}, accuracy (\d+\.\d\d)%", trained.stdout, flags=re.M)
    assert accuracy and float(accuracy[1]) > 85, trained.stdout
    assert (tmp_path / "runs/digits/model.convlens").is_file()

    draw_a_seven(tmp_path / "seven.png")
    predicted = convlens(tmp_path, "predict", "runs/digits", "seven.png")
    assert predicted.returncode == 0 and predicted.stderr == "", predicted.stderr
    lines = predicted.stdout.splitlines()
    assert lines[0] == "seven.png"
    assert lines[1:3] == ["  - converted from colour to grayscale",
                          "  - inverted: the picture has a light background and the model was trained on "
                          "light-on-dark pictures (mnist-5k)"]
    assert lines[3].startswith("  - cropped to the drawing (") and "of 317×243" in lines[3]
    assert lines[4].split() == ["class", "probability"]
    top_class, top_probability = lines[5].split()
    assert top_class == "7" and float(top_probability.lstrip(">").rstrip("%")) > 50, predicted.stdout
    assert len(lines) == 5 + 3  # the top 3 by default

    tuned = convlens(tmp_path, "train", "--dataset", "fashion-mnist", "--init-from", "runs/digits",
                     "--freeze", "0-5", "--limit-train", "500", "--epochs", "1", *SMALL, "--out", "runs/clothes")
    assert tuned.returncode == 0, tuned.stderr
    assert "init: weights from runs/digits; new classifier head (layer 11, fresh weights)" in tuned.stdout
    assert "frozen: layers 0, 1, 2, 3, 4, 5 (2,572 parameters); 59,134 trainable" in tuned.stdout
    accuracy = re.search(r"^test: loss \d\.\d{4}, accuracy (\d+\.\d\d)%", tuned.stdout, flags=re.M)
    assert accuracy and float(accuracy[1]) > 20, tuned.stdout  # chance is 10 %

    digits, clothes = cl.load(tmp_path / "runs/digits"), cl.load(tmp_path / "runs/clothes")
    assert clothes.info.class_names[0] == "T-shirt/top"
    before, after = digits.state_dict(), clothes.state_dict()
    for name in ("0.weight", "0.bias", "3.weight", "3.bias"):  # the frozen convolutions
        assert np.array_equal(before[name], after[name]), name
    assert not np.array_equal(before["7.weight"], after["7.weight"])  # trained on
