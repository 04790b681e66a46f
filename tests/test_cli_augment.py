"""`convlens train --augment/--normalize`: what the run folder records, that only training
batches are augmented, that runs repeat, that resume stays exact with augmentation on, and
that `convlens visualize` gets the run's normalized inputs back."""

import json
import signal

import numpy as np
import pytest
from click.testing import CliRunner

from convlens.cli import main
from convlens.commands import train as cli
from convlens.data import Compose, RandomCrop, RandomHorizontalFlip, load_dataset, make_augment, parse_augment
from convlens.data.signal_augment import GaussianNoise, RandomScale, RandomTimeShift
from convlens.io import load_arrays
from convlens.training import CSVLogger
from convlens.viz.run_folder import load_run_dataset

SMALL = ["--limit-train", "96", "--limit-test", "50", "--batch-size", "16", "--epochs", "2"]
AUG = ["--augment", "crop,flip", "--normalize"]


def _train(*args):
    return CliRunner().invoke(main, ["train", *args])


def _weights(run):
    return load_arrays(run / "weights.npz")


def _same_weights(a, b):
    a, b = _weights(a), _weights(b)
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def augmented(tmp_path_factory):
    out = tmp_path_factory.mktemp("aug") / "run"
    result = _train(*SMALL, *AUG, "--out", str(out))
    assert result.exit_code == 0, result.output
    return out


def test_parse_and_make_augment():
    assert parse_augment("none", "images") == [] and parse_augment(None, "signals") == []
    assert parse_augment(" Crop, flip ", "images") == ["crop", "flip"]
    with pytest.raises(ValueError, match="unknown augmentation.*'scale'.*crop, flip"):
        parse_augment("crop,scale", "images")
    with pytest.raises(ValueError, match="named twice"):
        parse_augment("flip,flip", "images")
    images = make_augment("crop,flip", "images", seed=3)
    assert isinstance(images, Compose)
    assert [type(t) for t in images.transforms] == [RandomCrop, RandomHorizontalFlip]
    signals = make_augment("shift,scale,noise", "signals", seed=3)
    assert [type(t) for t in signals.transforms] == [RandomTimeShift, RandomScale, GaussianNoise]
    x = np.random.default_rng(0).random((8, 1, 40)).astype(np.float32)
    again = make_augment("shift,scale,noise", "signals", seed=3)
    assert np.array_equal(signals(x), again(x))  # seeded: the same batches every run
    assert make_augment("none", "images") is None


def test_config_records_augment_and_normalization(augmented):
    config = json.loads((augmented / "config.json").read_text())
    assert config["augment"] == "crop,flip" and config["normalize"] is True
    assert "--augment crop,flip --normalize" in config["command"]
    x_train = load_dataset("mnist-5k").x_train[:96]
    assert config["normalization"]["mean"] == pytest.approx([float(x_train.mean())], rel=1e-6)
    assert config["normalization"]["std"] == pytest.approx([float(x_train.std())], rel=1e-5)
    assert "RandomCrop" in config["augmentation"] and "RandomHorizontalFlip" in config["augmentation"]
    # visualize rebuilds the inputs the model was trained and tested on
    ds = load_run_dataset(config)
    assert abs(float(ds.x_train.mean())) < 1e-5
    expected = (load_dataset("mnist-5k").x_test[:50] - x_train.mean()) / x_train.std()
    assert np.allclose(ds.x_test, expected, atol=1e-5)


def test_augmentation_changes_training_only_and_repeats(tmp_path, augmented, monkeypatch):
    plain = tmp_path / "plain"
    assert _train(*SMALL, "--normalize", "--out", str(plain)).exit_code == 0
    assert not _same_weights(plain, augmented)  # the augmentation changed the training batches
    again = tmp_path / "again"
    assert _train(*SMALL, *AUG, "--out", str(again)).exit_code == 0
    assert _same_weights(again, augmented)  # the same seed repeats the same augmented run

    seen = {}
    real = cli.Trainer

    class Spy(real):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            seen["loader"], seen["val"] = self.loader, self.val_data

    monkeypatch.setattr(cli, "Trainer", Spy)
    assert _train(*SMALL, *AUG, "--out", str(tmp_path / "spy")).exit_code == 0
    assert seen["loader"].transform is not None  # training batches: augmented
    x_test = load_dataset("mnist-5k").x_test[:50]
    x_train = load_dataset("mnist-5k").x_train[:96]
    assert np.allclose(seen["val"][0], (x_test - x_train.mean()) / x_train.std(), atol=1e-5)


def test_bad_augmentation_names_fail_before_a_run_folder(tmp_path):
    out = tmp_path / "run"
    result = _train(*SMALL, "--augment", "crop,noise", "--out", str(out))
    assert result.exit_code == 2 and "unknown augmentation(s) 'noise' for images" in result.output
    assert not out.exists()


def test_signals_take_signal_augmentations(tmp_path):
    out = tmp_path / "run"
    args = ["--model", "cnn1d", "--dataset", "mnist1d", "--augment", "shift,scale,noise", "--normalize"]
    result = _train(*args, "--limit-train", "64", "--limit-test", "32", "--epochs", "1", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "training batches augmented with shift,scale,noise" in result.output


@pytest.fixture
def sigint_handler():
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_resume_with_augmentation_ends_with_the_same_weights(
    tmp_path, monkeypatch, augmented, sigint_handler
):
    class Hooked(CSVLogger):
        def on_batch_end(self, trainer, number, logs):
            if (trainer.epoch + 1, number) == (1, 4):
                signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(cli, "CSVLogger", Hooked)
    out = tmp_path / "run"
    result = _train(*SMALL, *AUG, "--out", str(out))
    assert result.exit_code == 130, result.output
    monkeypatch.undo()
    result = _train("--resume", str(out))  # takes --augment/--normalize from config.json
    assert result.exit_code == 0, result.output
    assert "training batches augmented with crop,flip" in result.output
    assert _same_weights(out, augmented)
    metrics, expected = (json.loads((p / "metrics.json").read_text()) for p in (out, augmented))
    assert metrics["history"]["train_loss"] == expected["history"]["train_loss"]
    assert metrics["test_accuracy"] == expected["test_accuracy"]
