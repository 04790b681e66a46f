"""The command line: `convlens train` end to end on small subsets, through click's runner."""

import json
import shlex

import numpy as np
import pytest
from click.testing import CliRunner

import convlens as cl
from convlens.cli import main
from convlens.commands import train_setup
from convlens.commands.train import DEFAULTS, new_run_folder
from convlens.data import fashion_mnist, load_dataset, write_idx
from convlens.io import load_arrays, load_weights
from convlens.training import evaluate

QUICK = ["--limit-train", "400", "--limit-test", "100", "--epochs", "1"]


def _train(*args):
    result = CliRunner().invoke(main, ["train", *args])
    return result


def test_help_on_every_command():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0 and "train" in result.output
    result = CliRunner().invoke(main, ["train", "--help"])
    assert result.exit_code == 0
    for flag in (
        "--model",
        "--dataset",
        "--data-dir",
        "--epochs",
        "--batch-size",
        "--lr",
        "--optimizer",
        "--seed",
        "--out",
        "--limit-train",
    ):
        assert flag in result.output
    assert f"[default: {DEFAULTS['epochs']}" in result.output
    assert "0.05 for sgd" in result.output


def test_the_command_list_gives_each_command_its_whole_first_sentence():
    result = CliRunner().invoke(main, ["--help"])
    listing = result.output.split("Commands:\n")[1]
    names = [line.split()[0] for line in listing.splitlines() if line[:3].strip()]
    assert names == sorted(main.commands) and {"predict", "serve", "export"} <= set(names)
    assert "..." not in listing  # click's cut, mid-phrase
    assert "convlens predict runs/<that run> digit.png" in result.output  # the first session
    for name in names:
        help_text = CliRunner().invoke(main, [name, "--help"])
        assert help_text.exit_code == 0 and "Traceback" not in help_text.output, name


def test_defaults_train_lenet5_on_mnist_5k():
    assert DEFAULTS["model"] == "lenet5" and DEFAULTS["dataset"] == "mnist-5k"
    assert train_setup.DEFAULT_LR["sgd"] == 0.05


def test_train_writes_a_complete_run_folder(tmp_path):
    out = tmp_path / "run"
    result = _train(*QUICK, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "mnist-5k: 400 train / 100 test images" in result.output
    assert "epoch 1/1  loss " in result.output and "test_acc" in result.output
    assert (
        f"wrote {out}/: weights.npz, model.convlens, log.csv, curves.png, metrics.json, config.json, "
        "checkpoint.npz" in result.output
    )
    assert sorted(p.name for p in out.iterdir()) == [  # the lock file is gone once the run ends
        "checkpoint.npz",
        "config.json",
        "curves.png",
        "log.csv",
        "metrics.json",
        "model.convlens",
        "weights.npz",
    ]
    model = cl.load(out)  # the run folder opens as a model, with what predict needs
    assert model.info.name == "lenet5" and model.info.class_names == tuple(str(d) for d in range(10))
    assert model.info.preprocessing.polarity == "light-on-dark" and model.info.metrics["test_accuracy"] > 0

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["epochs"] == 1
    assert 0.0 <= metrics["test_accuracy"] <= 1.0 and metrics["test_loss"] > 0
    assert metrics["train_time_seconds"] > 0 and metrics["num_parameters"] == 61706
    assert len(metrics["history"]["train_loss"]) == 1 and metrics["history"]["val_name"] == "test"
    assert f"accuracy {metrics['test_accuracy']:.2%}" in result.output

    config = json.loads((out / "config.json").read_text())
    assert config["model"] == "lenet5" and config["dataset"] == "mnist-5k"
    assert config["lr"] == 0.05 and config["seed"] == 0 and config["limit_train"] == 400
    assert config["momentum"] == 0.9 and config["weight_decay"] == 0.0 and config["schedule"] == "cosine"
    assert config["num_train"] == 400 and config["num_test"] == 100
    assert config["in_channels"] == 1 and config["num_classes"] == 10
    assert config["input_shape"] == [1, 28, 28]
    assert config["command"].startswith("convlens train --model lenet5 --dataset mnist-5k")

    # the saved weights are the evaluated model: reloading reproduces the reported accuracy
    model = load_weights(cl.models.get_model("lenet5"), out / "weights.npz")
    ds = load_dataset("mnist-5k").subset(400, 100)
    loss, acc = evaluate(model, cl.CrossEntropyLoss(), ds.x_test, ds.y_test)
    assert acc == metrics["test_accuracy"] and loss == pytest.approx(metrics["test_loss"])


def test_the_recorded_command_repeats_the_run_exactly(tmp_path):
    first = tmp_path / "first"
    assert _train(*QUICK, "--seed", "7", "--out", str(first)).exit_code == 0
    command = shlex.split(json.loads((first / "config.json").read_text())["command"])
    assert command[:2] == ["convlens", "train"] and "--seed" in command
    again = tmp_path / "again"
    result = CliRunner().invoke(main, [*command[1:], "--out", str(again)])
    assert result.exit_code == 0, result.output
    a, b = load_arrays(first / "weights.npz"), load_arrays(again / "weights.npz")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    other = tmp_path / "other"
    assert _train(*QUICK, "--seed", "8", "--out", str(other)).exit_code == 0
    c = load_arrays(other / "weights.npz")
    assert not np.array_equal(a["0.weight"], c["0.weight"])


def test_default_run_folders_are_new_and_never_reused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        result = _train(*QUICK, "--limit-train", "64")
        assert result.exit_code == 0, result.output
    runs = sorted((tmp_path / "runs").iterdir())
    assert len(runs) == 2 and all("-lenet5-mnist-5k" in p.name for p in runs)
    assert all((p / "weights.npz").is_file() for p in runs)


def test_new_run_folder_appends_a_number_when_taken(tmp_path):
    folders = [new_run_folder(tmp_path, "run") for _ in range(3)]
    assert [f.path.name for f in folders] == ["run", "run-2", "run-3"]
    for folder in folders:
        folder.release()


def test_an_existing_run_is_never_overwritten(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.json").write_text("precious")
    result = _train(*QUICK, "--out", str(out))
    assert result.exit_code == 2
    assert "already exists and is not an empty folder; runs are never overwritten" in result.output
    assert (out / "metrics.json").read_text() == "precious"


def test_adam_gets_its_own_default_lr_and_refuses_momentum(tmp_path):
    result = _train(*QUICK, "--optimizer", "adam", "--momentum", "0.5", "--out", str(tmp_path / "a"))
    assert result.exit_code == 2 and "applies to --optimizer sgd only" in result.output
    result = _train(*QUICK, "--optimizer", "adam", "--out", str(tmp_path / "b"))
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "b" / "config.json").read_text())
    assert config["lr"] == 0.001 and config["momentum"] is None and config["weight_decay"] == 0.0
    assert "--momentum" not in config["command"]
    result = _train(*QUICK, "--optimizer", "adamw", "--limit-train", "32", "--out", str(tmp_path / "c"))
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "c" / "config.json").read_text())["weight_decay"] == 0.01


def test_unknown_dataset_and_model():
    result = _train("--dataset", "mnist-6k")
    assert result.exit_code == 2 and "Invalid value for '--dataset'" in result.output
    assert "mnist-5k" in result.output
    result = _train("--model", "alexnet")
    assert result.exit_code == 2 and "Invalid value for '--model'" in result.output


def test_missing_fashion_mnist_explains_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIR", tmp_path / "nowhere")
    result = _train("--dataset", "fashion-mnist", "--data-dir", str(tmp_path), "--out", str(tmp_path / "run"))
    assert result.exit_code == 1
    assert "Error: fashion-mnist not found. Searched:" in result.output
    assert "apt-get install dataset-fashion-mnist" in result.output
    assert not (tmp_path / "run").exists()


def test_fashion_mnist_from_data_dir(tmp_path):
    rng = np.random.default_rng(0)
    for stem, array in {
        "train-images-idx3-ubyte": rng.integers(0, 256, (40, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(40) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(20) % 10).astype(np.uint8),
    }.items():
        write_idx(tmp_path / "fm" / f"{stem}.gz", array)
    out = tmp_path / "run"
    result = _train(
        "--dataset",
        "fashion-mnist",
        "--data-dir",
        str(tmp_path / "fm"),
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert "fashion-mnist: 40 train / 20 test images" in result.output
    config = json.loads((out / "config.json").read_text())
    assert config["data_dir"] == str(tmp_path / "fm") and "--data-dir" in config["command"]


def test_divergence_stops_with_a_hint_and_keeps_the_last_good_weights(tmp_path):
    out = tmp_path / "run"
    result = _train(
        "--limit-train", "256", "--limit-test", "50", "--epochs", "2", "--lr", "1e20", "--out", str(out)
    )
    assert result.exit_code == 1
    assert "Error: training diverged: the loss became nan at epoch 1, batch" in result.output
    assert "lower the learning rate (it is 1e+20, far above the usual 0.001 to 0.1 for SGD; try 0.01)" in result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "diverged" and "training diverged" in metrics["error"]
    assert metrics["epochs"] == 0 and not (out / "curves.png").exists()
    weights = load_arrays(out / "weights.npz")
    assert all(np.isfinite(w).all() for w in weights.values())


def test_a_model_that_cannot_take_the_images_is_explained(tmp_path, monkeypatch):
    monkeypatch.setattr(cl.models, "get_model", lambda name, **kwargs: cl.Sequential(cl.Conv1d(1, 2, 3)))
    result = _train(*QUICK, "--out", str(tmp_path / "run"))
    assert result.exit_code == 1
    assert "Error: lenet5 cannot classify mnist-5k's 1x28x28 images: Conv1d expects" in result.output
    assert not (tmp_path / "run").exists()

    def text_model(name, vocab_size=100):
        return cl.Sequential(cl.Embedding(vocab_size, 4))

    monkeypatch.setattr(cl.models, "get_model", lambda name, **kwargs: text_model(name, **kwargs))
    result = _train(*QUICK, "--out", str(tmp_path / "run"))
    assert result.exit_code == 1
    assert "Error: lenet5 cannot be built for mnist-5k's images: " in result.output
    assert "unexpected keyword argument 'in_channels'" in result.output


@pytest.mark.parametrize("value", ["two", "0"])
def test_a_bad_thread_count_in_the_environment_is_named_before_any_work(monkeypatch, tmp_path, value):
    from convlens.functional import parallel

    monkeypatch.setenv("CONVLENS_NUM_THREADS", value)
    parallel.set_num_threads(1)
    monkeypatch.setattr(parallel, "_threads", None)   # as in a fresh process: read on first use
    try:
        result = CliRunner().invoke(main, ["train", "--epochs", "1", "--out", str(tmp_path / "run")])
    finally:
        monkeypatch.delenv("CONVLENS_NUM_THREADS")
        parallel.set_num_threads(None)
    assert result.exit_code == 1
    assert result.output == ("Error: CONVLENS_NUM_THREADS must be a positive integer (a thread count), "
                             f"received '{value}'\n")
    assert not (tmp_path / "run").exists()
