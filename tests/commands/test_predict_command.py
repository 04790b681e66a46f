"""`convlens predict MODEL FILE_OR_FOLDER…`: a table, --json, --csv, per-file errors, text and 1-D models."""

import csv
import io
import json

import numpy as np
import pytest
from click.testing import CliRunner
from trained_digits import digit_png, draw_digit, trained_digits_model

import convlens as cl
from convlens.cli import main
from convlens.data import load_dataset
from convlens.io.model_info import Preprocessing


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return trained_digits_model(tmp_path_factory)


@pytest.fixture
def pictures(tmp_path):
    folder = tmp_path / "pictures"
    folder.mkdir()
    digit_png(load_dataset("mnist-5k"), 0, folder / "a-test-digit.png")  # a 0
    draw_digit("7").save(folder / "b-drawn-7.png")
    return folder


def _predict(*args):
    return CliRunner().invoke(main, ["predict", *map(str, args)])


def test_a_table_per_file_with_what_was_done(model_path, pictures):
    result = _predict(model_path, pictures, "--top-k", "2")
    assert result.exit_code == 0, result.output
    blocks = result.stdout.split(str(pictures))[1:]
    assert blocks[0].startswith("/a-test-digit.png\n  - used as it is: 28×28, grayscale, light-on-dark\n"
                                "  class  probability\n  0     ")
    assert blocks[1].startswith("/b-drawn-7.png\n  - converted from colour to grayscale\n  - inverted: the picture "
                                "has a light background and the model was trained on light-on-dark pictures "
                                "(mnist-5k)\n  - cropped to the drawing")
    assert "\n  7     " in blocks[1]
    assert len(blocks[1].strip().splitlines()) == 1 + 3 + 1 + 2  # name, 3 steps, header, 2 classes
    assert result.stderr == ""


def test_json_and_csv(model_path, pictures):
    result = _predict(model_path, pictures / "b-drawn-7.png", "--json", "--top-k", "3")
    assert result.exit_code == 0, result.output
    [entry] = json.loads(result.stdout)
    assert entry["file"] == str(pictures / "b-drawn-7.png")
    assert [t["class"] for t in entry["top"]][0] == "7" and len(entry["top"]) == 3
    assert entry["top"][0]["index"] == 7 and 0.8 < entry["top"][0]["probability"] <= 1
    assert entry["preprocessing"][0] == "converted from colour to grayscale"
    result = _predict(model_path, pictures, "--csv", "--top-k", "1")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["class"], r["rank"]) for r in rows] == [("0", "1"), ("7", "1")]
    assert float(rows[1]["probability"]) > 0.8


def test_bad_files_are_reported_and_the_others_still_predicted(model_path, pictures, tmp_path):
    (pictures / "c-notes.txt").write_text("not a picture")
    (pictures / "d-empty.png").write_bytes(b"")
    good = (pictures / "a-test-digit.png").read_bytes()
    (pictures / "e-cut.png").write_bytes(good[: len(good) // 2])
    result = _predict(model_path, pictures, tmp_path / "missing.png")
    assert result.exit_code == 1
    assert result.stdout.count("class  probability") == 2
    assert result.stderr.splitlines() == [
        f"error: {pictures / 'c-notes.txt'} is not an image (Pillow reads PNG, JPEG, GIF, BMP, TIFF, WebP, …)",
        f"error: {pictures / 'd-empty.png'} is empty (0 bytes)",
        f"error: {pictures / 'e-cut.png'} is truncated or damaged: image file is truncated",
        f"error: {tmp_path / 'missing.png'} does not exist",
        "4 of 6 input(s) failed",
    ]


def test_the_model_argument_and_options_are_checked(model_path, pictures, tmp_path):
    result = _predict(tmp_path / "nowhere.convlens", pictures)
    assert result.exit_code == 2 and "no such file or folder" in result.output
    (tmp_path / "fake.convlens").write_text("hello")
    result = _predict(tmp_path / "fake.convlens", pictures)
    assert result.exit_code == 1 and "fake.convlens' is not a convlens model file" in result.output
    assert "Traceback" not in result.output
    result = _predict(model_path, pictures, "--json", "--csv")
    assert result.exit_code == 2 and "choose one of --json and --csv" in result.output
    result = _predict(model_path)
    assert result.exit_code == 2 and "give at least one FILE_OR_FOLDER" in result.output
    result = _predict("lenet5", pictures)
    assert result.exit_code == 2 and "lenet5 is a zoo model, untrained: predict needs a trained model" in result.output
    result = _predict(model_path, "--text", "seven")
    assert result.exit_code == 2 and "--text is for text models; " in result.output and "reads images" in result.output


def test_a_text_model_reads_text_lines_and_text_options(tmp_path):
    cl.manual_seed(0)
    vocabulary = ("<pad>", "<unk>", *"abcdefghijklmnopqrstuvwxyz")
    model = cl.models.get_model("text_cnn", vocab_size=len(vocabulary), num_classes=2)
    path = cl.save(model, tmp_path / "words.convlens", class_names=("english", "german"), input_shape=(24,),
                   preprocessing=Preprocessing(kind="tokens", tokens="chars", lowercase=True, length=24,
                                               vocabulary=vocabulary))
    words = tmp_path / "words.txt"
    words.write_text("Haus\n\nhouse\n")
    result = _predict(path, words, "--text", "Straße", "--top-k", "2")
    assert result.exit_code == 0, result.output
    assert f"{words}:1\n  - lowercased\n  - 4 characters as token ids, padded to 24\n" in result.stdout
    assert f"{words}:3\n  - 5 characters as token ids, padded to 24\n" in result.stdout
    assert ("text 1\n  - lowercased\n  - 6 characters as token ids, padded to 24; 1 not in the training "
            "vocabulary (<unk>)\n") in result.stdout
    assert result.stdout.count("english") == 3 and result.stdout.count("german") == 3


def test_a_1d_model_reads_csv_lines_and_npy_signals(tmp_path):
    cl.manual_seed(0)
    model = cl.models.get_model("cnn1d", num_classes=3)
    path = cl.save(model, tmp_path / "signals.convlens", input_shape=(1, 40),
                   preprocessing=Preprocessing(kind="signals", channels=1, size=(40,)))
    beats = tmp_path / "beats.csv"
    beats.write_text(",".join(["0.5"] * 40) + "\n" + ",".join(["1"] * 20) + "\n")
    np.save(tmp_path / "beat.npy", np.sin(np.linspace(0, 6, 40)))
    result = _predict(path, beats, tmp_path / "beat.npy", "--csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["file"] for r in rows[::3]] == [f"{beats}:1", f"{beats}:2", str(tmp_path / "beat.npy")]
    result = _predict(path, beats)
    assert "  - resampled from 20 to 40 values (linear interpolation)\n" in result.stdout
