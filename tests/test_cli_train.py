"""`convlens train`: Ctrl-C and --resume, bad resume folders, a full disk, profiling, the loop
engine, early stopping, and binary/regression datasets, through click's runner."""

import json
import signal

import numpy as np
import pytest
from click.testing import CliRunner
from disk_full import full_disk

from convlens.cli import main
from convlens.commands import train as cli
from convlens.commands import train_setup
from convlens.data import load_dataset
from convlens.io import load_arrays
from convlens.training import CSVLogger

SMALL = ["--limit-train", "96", "--limit-test", "50", "--batch-size", "16", "--epochs", "2"]


def _train(*args):
    return CliRunner().invoke(main, ["train", *args])


def _same_weights(a, b):
    a, b = load_arrays(a / "weights.npz"), load_arrays(b / "weights.npz")
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


@pytest.fixture
def sigint_handler():
    """Python's default Ctrl-C handler, whatever the test runner installed."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _on_batch(monkeypatch, epoch, batch, action):
    """Run ``action(trainer)`` after ``batch`` of ``epoch`` (through the CSV logger the CLI adds)."""

    class Hooked(CSVLogger):
        def on_batch_end(self, trainer, number, logs):
            if (trainer.epoch + 1, number) == (epoch, batch):
                action(trainer)

    monkeypatch.setattr(cli, "CSVLogger", Hooked)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "run"
    result = _train(*SMALL, "--out", str(out))
    assert result.exit_code == 0, result.output
    return out


def test_ctrl_c_saves_a_checkpoint_exits_130_and_resume_ends_with_the_same_weights(
    tmp_path, monkeypatch, reference, sigint_handler
):
    out = tmp_path / "run"
    _on_batch(monkeypatch, 2, 3, lambda trainer: signal.raise_signal(signal.SIGINT))
    result = _train(*SMALL, "--out", str(out))
    assert result.exit_code == 130, result.output
    assert "Ctrl-C: stopping after this batch and saving a checkpoint" in result.output
    assert (
        f"training interrupted in epoch 2 after batch 3 of 6; checkpoint saved to {out}/checkpoint.npz"
        in result.output
    )
    assert f"continue with: convlens train --resume {out}" in result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "interrupted" and metrics["interrupted_at"] == "epoch 2, after batch 3 of 6"
    assert metrics["epochs"] == 1 and metrics["test_accuracy"] is None
    assert {"config.json", "checkpoint.npz", "log.csv", "weights.npz"} <= {
        p.name for p in out.iterdir()
    }
    assert not _same_weights(out, reference)

    monkeypatch.undo()
    result = _train("--resume", str(out))
    assert result.exit_code == 0, result.output
    assert f"resuming {out} from epoch 2, after batch 3 of 6" in result.output
    assert "epoch 2/2  loss " in result.output and "epoch 1/2" not in result.output
    assert _same_weights(out, reference)
    metrics, expected = (json.loads((p / "metrics.json").read_text()) for p in (out, reference))
    assert metrics["status"] == "completed" and metrics["test_accuracy"] == expected["test_accuracy"]
    assert metrics["history"]["train_loss"] == expected["history"]["train_loss"]
    assert metrics["wall_time_seconds"] > metrics["train_time_seconds"] > 0
    assert (out / "log.csv").read_text().count("\n") == 3  # header and two epochs

    result = _train("--resume", str(out))
    assert result.exit_code == 0 and f"nothing to resume: {out} finished all 2 epochs" in result.output


def test_metrics_json_records_the_test_report(reference):
    metrics = json.loads((reference / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["task"] == "classification"
    cm = np.array(metrics["test_confusion_matrix"])
    assert cm.shape == (10, 10) and cm.sum() == 50
    assert metrics["test_accuracy"] == pytest.approx(np.trace(cm) / 50)
    assert [c["class"] for c in metrics["test_per_class"]] == [str(d) for d in range(10)]
    assert [c["support"] for c in metrics["test_per_class"]] == cm.sum(axis=1).tolist()
    assert metrics["test_accuracy"] <= metrics["test_top_k_accuracy"]["5"] <= 1
    assert len(metrics["history"]["samples_per_second"]) == 2


def test_resume_refuses_missing_and_foreign_folders(tmp_path, reference):
    result = _train("--resume", str(tmp_path / "nowhere"))
    assert (
        result.exit_code == 1
        and f"Error: cannot resume: there is no run folder {tmp_path / 'nowhere'}" in result.output
    )

    (tmp_path / "empty").mkdir()
    result = _train("--resume", str(tmp_path / "empty"))
    assert result.exit_code == 1
    assert "has no config.json; is it a run folder written by `convlens train`?" in result.output

    old = tmp_path / "old"
    old.mkdir()
    (old / "config.json").write_text((reference / "config.json").read_text())
    result = _train("--resume", str(old))
    assert result.exit_code == 1
    assert (
        f"cannot resume: {old} holds a run stopped before its first checkpoint: nothing was trained, so "
        f"there is nothing to resume; start it again in the same folder with: convlens train --model lenet5"
    ) in result.output and result.output.rstrip().endswith(f"--out {old}")

    other = tmp_path / "other"
    other.mkdir()
    for f in reference.iterdir():
        (other / f.name).write_bytes(f.read_bytes())
    config = json.loads((other / "config.json").read_text())
    config["model"] = "lenet5-1998"  # same shapes, another network
    (other / "config.json").write_text(json.dumps(config))
    before = {f.name: f.read_bytes() for f in other.iterdir()}
    result = _train("--resume", str(other))
    assert result.exit_code == 1
    assert (
        f"Error: cannot resume {other}: the checkpoint comes from another run: model is 'lenet5' in the "
        "checkpoint, 'lenet5-1998' here"
    ) in result.output
    assert {f.name: f.read_bytes() for f in other.iterdir()} == before  # nothing touched


def test_resume_takes_its_settings_from_the_run_folder(tmp_path):
    result = _train("--resume", str(tmp_path), "--lr", "0.1", "--epochs", "3", "--seed", "2")
    assert result.exit_code == 2
    assert (
        "Invalid value for --resume: takes every setting from RUN_DIR/config.json, so it cannot be "
        "combined with --lr, --seed (only --epochs, --engine and --profile may change)"
    ) in result.output


def test_a_full_disk_while_checkpointing_keeps_the_previous_checkpoint(tmp_path, monkeypatch, reference):
    out = tmp_path / "run"
    _on_batch(monkeypatch, 2, 6, lambda trainer: full_disk(monkeypatch, ".npz"))
    result = _train(*SMALL, "--out", str(out))
    assert result.exit_code == 1, result.output
    assert (
        "Error: could not write the checkpoint checkpoint.npz in "
        f"{out}: No space left on device. The previous checkpoint there (if any) is intact. Free some "
        f"space, then continue with: convlens train --resume {out}"
    ) in result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "failed" and "No space left on device" in metrics["error"]
    assert not any(p.name.endswith(".tmp") for p in out.iterdir())
    monkeypatch.undo()
    result = _train("--resume", str(out))
    assert result.exit_code == 0, result.output
    assert f"resuming {out} from the end of epoch 1" in result.output
    assert _same_weights(out, reference)


def test_profile_and_the_loop_engine(tmp_path):
    result = _train(
        "--limit-train",
        "16",
        "--limit-test",
        "4",
        "--batch-size",
        "8",
        "--epochs",
        "1",
        "--engine",
        "loops",
        "--profile",
        "--out",
        str(tmp_path / "run"),
    )
    assert result.exit_code == 0, result.output
    assert (
        "warning: --engine loops runs convolution and pooling as plain Python loops, about 1000x slower"
        in result.output
    )
    assert "Try --limit-train" not in result.output  # already small
    assert "per-layer time of a training step (2 steps, " in result.output
    lines = result.output.splitlines()
    header = lines.index("layer                           fwd ms    bwd ms   share")
    assert lines[header + 1].startswith("0 Conv2d ") and lines[header + 13].startswith(
        "rest (loss, optimizer, data)"
    )
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["engine"] == "loops" and "--engine loops" in config["command"] and "profile" not in config


def test_early_stopping_needs_a_validation_set(tmp_path):
    result = _train(*SMALL, "--early-stopping", "2", "--out", str(tmp_path / "a"))
    assert result.exit_code == 2
    assert "Invalid value for --early-stopping: needs a validation set: add --val-fraction" in result.output
    assert not (tmp_path / "a").exists()
    result = _train(*SMALL, "--early-stopping", "2", "--val-fraction", "0.25", "--out", str(tmp_path / "b"))
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "b" / "config.json").read_text())
    assert config["early_stopping"] == 2 and "--early-stopping 2" in config["command"]
    metrics = json.loads((tmp_path / "b" / "metrics.json").read_text())
    best = metrics["early_stopping"]["best_epoch"]
    assert metrics["status"] == "completed" and metrics["early_stopping"]["monitor"] == "val_loss"
    assert (
        metrics["early_stopping"]["best"]
        == min(metrics["history"]["val_loss"])
        == metrics["history"]["val_loss"][best - 1]
    )


class _Derived:
    """mnist-5k with binary or regression targets, as the data package's derived datasets."""

    def __init__(self, task, n_train=1000, n_test=100):
        ds = load_dataset("mnist-5k")
        self.x_train, self.x_test = ds.x_train[:n_train], ds.x_test[:n_test]
        if task == "binary":
            self.y_train, self.y_test = (
                (ds.y_train[:n_train] == 0).astype(np.int64),
                (ds.y_test[:n_test] == 0).astype(np.int64),
            )
            self.class_names = ("not 0", "0")
        else:
            self.y_train, self.y_test = (
                x.reshape(len(x), -1).mean(axis=1) * 10 for x in (self.x_train, self.x_test)
            )
            self.class_names = ()
        self.task, self.name, self.description = task, f"mnist-5k-{task}", "derived"
        self.num_outputs, self.num_classes, self.input_shape = 1, len(self.class_names), (1, 28, 28)
        self.kind, self.vocabulary = "images", ()

    def subset(self, train=None, test=None):
        return self

    def summary(self):
        return f"{self.name}: {len(self.y_train)} train / {len(self.y_test)} test"


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_binary_and_regression_datasets_train_with_their_loss(tmp_path, monkeypatch, task):
    monkeypatch.setattr(train_setup, "load_dataset", lambda name, data_dir=None: _Derived(task))
    out = tmp_path / "run"
    result = _train("--epochs", "3", "--out", str(out))
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    assert config["task"] == metrics["task"] == task and config["num_classes"] == 1
    if task == "binary":
        assert config["loss"] == "bce_with_logits" and "binary task, bce_with_logits loss" in result.output
        assert metrics["test_accuracy"] > 0.9 and np.array(metrics["test_confusion_matrix"]).sum() == 100
        assert {"test_precision", "test_recall"} <= set(metrics) and (out / "curves.png").is_file()
    else:
        y = _Derived(task).y_test
        assert config["loss"] == "mse" and metrics["test_accuracy"] is None
        assert metrics["test_mae"] < np.abs(y - y.mean()).mean() / 2.5  # well below predicting the mean
        assert "test: loss " in result.output and ", MAE " in result.output
        assert not (out / "curves.png").exists()  # plot_history draws accuracy; log.csv has the MAE
        assert "train_mae" in (out / "log.csv").read_text().splitlines()[0]


def test_labels_beyond_the_model_outputs_stop_before_a_run_folder_is_made(tmp_path, monkeypatch):
    monkeypatch.setattr(train_setup, "_num_outputs", lambda dataset: 5)  # a model with too few outputs
    result = _train(*SMALL, "--out", str(tmp_path / "run"))
    assert result.exit_code == 1
    assert (
        "Error: training labels out of range: the model has 5 outputs, so expected labels in [0, 4], "
        "received 9 (labels span [0, 9]). Build the model with 10 outputs (num_classes=10) or fix the labels."
    ) in result.output
    assert not (tmp_path / "run").exists()


def test_cnn3d_trains_on_moving_digit_clips(tmp_path):
    out = tmp_path / "run"
    args = ["--model", "cnn3d", "--dataset", "moving-mnist-5k", "--limit-train", "64", "--limit-test", "32"]
    result = _train(*args, "--batch-size", "16", "--epochs", "1", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "moving-mnist-5k: 64 train / 32 test volumes of 1x16x20x20, 8 classes" in result.output
    config = json.loads((out / "config.json").read_text())
    assert config["in_channels"] == 1 and config["num_classes"] == 8
    assert config["input_shape"] == [1, 16, 20, 20]
    assert json.loads((out / "metrics.json").read_text())["test_accuracy"] is not None


def _write_images(path, channels, height, width, n=24):
    rng = np.random.default_rng(0)
    x = rng.random((n, channels, height, width)).astype(np.float32)
    y = np.arange(n) % 3
    np.savez(path, x_train=x, y_train=y, x_test=x[:6], y_test=y[:6])
    return path


@pytest.mark.parametrize("model", ["lenet5", "vgg_small", "fmnist_cnn"])
def test_models_with_a_dense_head_are_built_for_the_image_size(tmp_path, model):
    """CIFAR-10-sized inputs (3×32×32): the builder gets input_size, so the dense head fits;
    visualize rebuilds the same model from config.json."""
    data = _write_images(tmp_path / "rgb32.npz", 3, 32, 32)
    out = tmp_path / "run"
    result = _train("--model", model, "--dataset", f"npz:{data}", "--epochs", "1", "--batch-size", "8",
                    "--out", str(out))
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    assert (config["in_channels"], config["num_classes"], config["input_size"]) == (3, 3, 32)
    from convlens.viz.run_folder import load_run

    rebuilt, _ = load_run(out)
    rebuilt.eval()
    assert rebuilt(np.zeros((2, 3, 32, 32), np.float32)).shape == (2, 3)


def test_a_dense_head_refuses_non_square_images(tmp_path):
    data = _write_images(tmp_path / "wide.npz", 1, 28, 32)
    result = _train("--model", "vgg_small", "--dataset", f"npz:{data}", "--epochs", "1",
                    "--out", str(tmp_path / "run"))
    assert result.exit_code == 1
    assert ("Error: vgg_small is built for square images (input_size), but wide's images are 28×32"
            in result.output)
    assert not (tmp_path / "run").exists()


def test_a_graph_defined_in_json_trains_profiles_per_node_and_its_run_folder_reloads(tmp_path):
    import convlens as cl
    from convlens.layers.spec import to_spec
    from convlens.viz.run_folder import load_run

    x = cl.Input((1, 28, 28), name="image")
    a = cl.ReLU()(cl.Conv2d(1, 2, 3, padding=1)(x, name="conv3"))
    b = cl.ReLU()(cl.Conv2d(1, 2, 5, padding=2)(x, name="conv5"))
    pooled = cl.MaxPool2d(4)(cl.Concatenate()(a, b, name="mixed"))
    graph = cl.Graph(x, cl.Linear(4 * 7 * 7, 10)(cl.Flatten()(pooled), name="fc"))
    (tmp_path / "branches.json").write_text(json.dumps(to_spec(graph)))   # a model definition
    out = tmp_path / "run"
    result = _train("--model", str(tmp_path / "branches.json"), *SMALL, "--epochs", "1",
                    "--profile", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "mixed Concatenate" in result.output and "conv5 Conv2d" in result.output
    config = json.loads((out / "config.json").read_text())
    assert config["model_spec"]["class"] == "Graph"
    model, _ = load_run(out)
    assert isinstance(model, cl.Graph) and model.node("mixed").inputs == ["relu_1", "relu_2"]
    saved = load_arrays(out / "weights.npz")
    assert all(np.array_equal(model.state_dict()[k], saved[k]) for k in saved)
    missing = _train("--model", str(tmp_path / "nope.json"), *SMALL)
    assert missing.exit_code == 2 and "no model definition file" in missing.output
