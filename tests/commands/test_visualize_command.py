"""``convlens visualize`` on real run folders: the files appear, are valid PNG/SVG and show
something, the options choose what is drawn, and mistakes are reported clearly."""

from __future__ import annotations

import platform
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from matplotlib.image import imread

import convlens as cl
from convlens.commands.visualize import COMMANDS, visualize
from convlens.data import DataLoader, load_dataset
from convlens.io import save_weights, write_json
from convlens.training import evaluate, fit

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A run folder written the way `convlens train` writes one (see convlens/cli.py):
    simple_cnn trained for one short epoch on 300 mnist-5k digits, tested on 100."""
    run = tmp_path_factory.mktemp("runs") / "tiny"
    run.mkdir()
    settings = {"model": "simple_cnn", "dataset": "mnist-5k", "data_dir": None, "epochs": 1,
                "batch_size": 32, "lr": 0.05, "optimizer": "sgd", "momentum": 0.9,
                "weight_decay": 0.0, "schedule": "constant", "seed": 0, "val_fraction": 0.0,
                "limit_train": 300, "limit_test": 100}
    ds = load_dataset("mnist-5k").subset(settings["limit_train"], settings["limit_test"])
    cl.manual_seed(settings["seed"])
    model = cl.models.get_model("simple_cnn", in_channels=1, num_classes=10)
    loss_fn = cl.CrossEntropyLoss()
    history = fit(model, loss_fn, cl.optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
                  DataLoader(ds.x_train, ds.y_train, 32, seed=0), 1, (ds.x_test, ds.y_test),
                  val_name="test", verbose=False)
    test_loss, test_acc = evaluate(model, loss_fn, ds.x_test, ds.y_test)
    save_weights(model, run / "weights.npz")
    write_json(run / "metrics.json", {
        "status": "completed", "error": None, "test_accuracy": test_acc, "test_loss": test_loss,
        "train_time_seconds": 0.0, "epochs": history.epochs,
        "num_parameters": model.num_parameters(), "history": history.to_dict()})
    write_json(run / "config.json", {
        **settings, "command": "convlens train --model simple_cnn --epochs 1",
        "dataset_description": ds.description, "num_train": 300, "num_val": 0, "num_test": 100,
        "loss": "cross_entropy", "created": "2025-01-01T00:00:00",
        "versions": {"convlens": cl.__version__, "numpy": np.__version__,
                     "python": platform.python_version()}})
    return run


def _invoke(*args: str, ok: bool = True):
    result = CliRunner().invoke(visualize, [str(a) for a in args])
    if ok:
        assert result.exit_code == 0, result.output + repr(result.exception)
    return result


def _written(output: str) -> list[Path]:
    return [Path(line[len("wrote "):]) for line in output.splitlines() if line.startswith("wrote ")]


def _check_png(path: Path) -> np.ndarray:
    assert path.read_bytes()[:8] == PNG_MAGIC, path
    image = imread(path)
    assert image.ndim == 3 and min(image.shape[:2]) > 100, (path, image.shape)
    rgb = np.round(image[..., :3] * 255).astype(np.int64)
    colours = np.unique(rgb[..., 0] * 65536 + rgb[..., 1] * 256 + rgb[..., 2])
    # not a blank page: many distinct colours and real contrast
    assert len(colours) > 50 and image[..., :3].std() > 0.05, path
    return image


def test_all_pictures_are_written_as_valid_non_trivial_pngs(run_dir, tmp_path):
    out = tmp_path / "figs"
    result = _invoke(run_dir, "--out", out)
    expected = ["filters-layer-0.png", "filters-layer-3.png",
                *[f"feature-maps-0-layer-{i}.png" for i in range(6)],
                "seed003-feature-maps-0.png", "grad-cam-0.png", "saliency-0.png", "curves.png",
                "confusion-matrix.png", "misclassified.png"]
    written = _written(result.output)
    assert [p.name for p in written] == expected
    assert sorted(p.name for p in out.iterdir()) == sorted(expected)  # no temporary files left
    for path in written:
        assert path.parent == out
        _check_png(path)
    assert f"{len(expected)} file(s) in {out}" in result.output


def test_default_folder_svg_and_a_chosen_subset(run_dir):
    result = _invoke(run_dir, "--what", "filters", "--what", "confusion", "--format", "svg")
    written = _written(result.output)
    assert [p.name for p in written] == ["filters-layer-0.svg", "filters-layer-3.svg", "confusion-matrix.svg"]
    for path in written:
        assert path.parent == run_dir / "figures"
        root = ET.parse(path).getroot()
        assert root.tag.endswith("svg")
        shapes = [e for e in root.iter() if e.tag.split("}")[-1] in ("path", "image", "use")]
        assert len(shapes) > 20, path
    # the confusion matrix names the digit classes and its counts
    text = (run_dir / "figures" / "confusion-matrix.svg").read_text()
    assert "predicted class" in text and "true class" in text


def test_index_class_and_layer_choose_what_is_drawn(run_dir, tmp_path):
    out = tmp_path / "figs"
    first = _invoke(run_dir, "--what", "seed003", "--what", "grad-cam", "--out", out)
    other = _invoke(run_dir, "--what", "seed003", "--what", "grad-cam", "--index", "7",
                    "--class", "3", "--layer", "1", "--out", out)
    assert [p.name for p in _written(first.output)] == ["seed003-feature-maps-0.png", "grad-cam-0.png"]
    assert [p.name for p in _written(other.output)] == ["seed003-feature-maps-7.png", "grad-cam-7.png"]
    a = _check_png(out / "seed003-feature-maps-0.png")
    b = _check_png(out / "seed003-feature-maps-7.png")
    assert a.shape == b.shape and np.abs(a - b).max() > 0.5  # another digit
    maps = _invoke(run_dir, "--what", "feature-maps", "--layer", "3", "--out", out)
    assert [p.name for p in _written(maps.output)] == ["feature-maps-0-layer-3.png"]


def test_mistakes_are_reported(run_dir, tmp_path):
    missing = _invoke(tmp_path / "nope", ok=False)
    assert missing.exit_code == 1 and "is not a folder: expected a run folder" in missing.output
    bad_index = _invoke(run_dir, "--what", "grad-cam", "--index", "100", "--out", tmp_path, ok=False)
    assert bad_index.exit_code == 2
    assert "expected a test example index in [0, 99], received 100" in bad_index.output
    bad_class = _invoke(run_dir, "--what", "grad-cam", "--class", "10", "--out", tmp_path, ok=False)
    assert bad_class.exit_code == 2 and "expected a class in [0, 9], received 10" in bad_class.output
    bad_layer = _invoke(run_dir, "--layer", "9.x", "--out", tmp_path, ok=False)
    assert bad_layer.exit_code == 2 and "no layer named '9.x' in the model" in bad_layer.output
    assert not any(tmp_path.glob("*.png"))


def test_a_folder_written_by_convlens_train(tmp_path):
    from convlens.cli import main

    run = tmp_path / "run"
    trained = CliRunner().invoke(main, ["train", "--model", "simple_cnn", "--epochs", "1",
                                        "--limit-train", "200", "--limit-test", "50", "--out", str(run)])
    assert trained.exit_code == 0, trained.output
    result = _invoke(run, "--what", "curves", "--what", "misclassified", "--what", "saliency")
    names = [p.name for p in _written(result.output)]
    assert names == ["saliency-0.png", "curves.png", "misclassified.png"]
    for path in _written(result.output):
        _check_png(path)


def test_a_text_run_draws_curves_and_confusion_only(tmp_path):
    from word_lists import write_word_lists

    from convlens.cli import main

    run, lists = tmp_path / "run", write_word_lists(tmp_path / "dict")
    trained = CliRunner().invoke(main, [
        "train", "--model", "text_cnn", "--dataset", "words-lang", "--data-dir", str(lists), "--epochs", "1",
        "--data-option", "train_per_language=20", "--data-option", "test_per_language=5", "--out", str(run)])
    assert trained.exit_code == 0, trained.output
    result = _invoke(run, "--out", tmp_path / "figures")
    assert "a model of token ids: drawing curves and confusion only" in result.output
    assert [p.name for p in _written(result.output)] == ["curves.png", "confusion-matrix.png"]
    refused = _invoke(run, "--what", "grad-cam", "--out", tmp_path / "figures", ok=False)
    assert refused.exit_code == 2
    assert "grad-cam draw the inputs as images or signals, but this run's model reads token ids" in refused.output


def test_commands_list_for_the_main_group():
    assert COMMANDS == [visualize] and visualize.name == "visualize"


@pytest.mark.parametrize("weights, message", [
    (b"PK\x03\x04 not a zip", "weights.npz: not a readable .npz file (File is not a zip file)"),
    (b"", "weights.npz: not a readable .npz file (No data left in file)"),
    ("npy", "expected an .npz archive of named arrays, received a single .npy array"),
])
def test_a_corrupt_weights_file_is_one_message_not_a_traceback(tmp_path, weights, message):
    run = tmp_path / "run"
    run.mkdir()
    write_json(run / "config.json", {"model": "simple_cnn", "dataset": "mnist-5k"})
    if weights == "npy":
        np.save(run / "weights.npy", np.zeros(2))
        (run / "weights.npy").rename(run / "weights.npz")
    else:
        (run / "weights.npz").write_bytes(weights)
    write_json(run / "metrics.json", {})
    result = CliRunner().invoke(visualize, [str(run)])
    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output
    assert "please report" not in result.output
    assert sorted(p.name for p in run.iterdir()) == ["config.json", "metrics.json", "weights.npz"]
