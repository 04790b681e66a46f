"""`convlens train --resume`: train a run longer (--epochs), finish a run whose final files were
lost, and refuse damaged run folders with a message (never a traceback, no file changed)."""

import json
import math
import shutil

import numpy as np
import pytest
from disk_full import full_disk
from process_runs import TINY, same_weights, train

import convlens.io
from convlens.commands import train as train_command
from convlens.io import load_arrays
from convlens.viz import curves

CONSTANT = ["--limit-train", "32", "--limit-test", "10", "--batch-size", "16", "--schedule", "constant"]


def _history(run):
    return json.loads((run / "metrics.json").read_text())["history"]


def test_five_plus_five_epochs_equal_ten_bit_exactly(tmp_path):
    whole, split = tmp_path / "whole", tmp_path / "split"
    assert train(*CONSTANT, "--epochs", "10", "--out", str(whole)).exit_code == 0
    assert train(*CONSTANT, "--epochs", "5", "--out", str(split)).exit_code == 0
    result = train("--resume", str(split), "--epochs", "10")
    assert result.exit_code == 0, result.output
    assert f"continuing {split} to 10 epochs in all (planned: 5)" in result.output
    assert "epoch  6/10" in result.output and "epoch  5/10" not in result.output
    assert same_weights(split, whole)
    assert _history(split)["train_loss"] == _history(whole)["train_loss"]
    assert _history(split)["lr"] == _history(whole)["lr"] == [0.05] * 10
    config = json.loads((split / "config.json").read_text())
    assert config["epochs"] == 10 and "--epochs 10" in config["command"]
    assert config["continued"][0] | {"when": None} == {
        "from_epochs": 5,
        "to_epochs": 10,
        "at_epoch": 5,
        "when": None,
    }


def test_a_cosine_schedule_is_replanned_over_the_new_total(tmp_path):
    run = tmp_path / "run"
    args = ["--limit-train", "16", "--limit-test", "10", "--batch-size", "16"]
    assert train(*args, "--epochs", "2", "--out", str(run)).exit_code == 0
    result = train("--resume", str(run), "--epochs", "4")
    assert result.exit_code == 0, result.output
    assert "the cosine schedule is re-planned over 4 epochs from epoch 3 on" in result.output
    lr = _history(run)["lr"]
    cosine = [0.05 * (1 + math.cos(math.pi * t / total)) / 2 for t, total in ((0, 2), (1, 2), (2, 4), (3, 4))]
    assert lr == pytest.approx(cosine, rel=1e-12, abs=1e-15)


def test_an_interrupted_run_continues_to_more_epochs(tmp_path, monkeypatch):
    whole, split = tmp_path / "whole", tmp_path / "split"
    assert train(*CONSTANT, "--epochs", "3", "--out", str(whole)).exit_code == 0

    class StopInEpoch2(train_command.CSVLogger):
        def on_batch_end(self, trainer, number, logs):
            if trainer.epoch == 1 and number == 1:
                trainer._stop_requested = True  # as the first Ctrl-C does

    monkeypatch.setattr(train_command, "CSVLogger", StopInEpoch2)
    assert train(*CONSTANT, "--epochs", "2", "--out", str(split)).exit_code == 130
    monkeypatch.undo()
    result = train("--resume", str(split), "--epochs", "3")
    assert result.exit_code == 0, result.output
    assert "resuming" in result.output and "from epoch 2, after batch 1 of 2" in result.output
    assert same_weights(split, whole)


def test_epochs_below_what_was_trained_and_early_stopped_runs_are_explained(tmp_path):
    run = tmp_path / "run"
    assert train(*CONSTANT, "--epochs", "3", "--out", str(run)).exit_code == 0
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    result = train("--resume", str(run), "--epochs", "2")
    assert result.exit_code == 2
    assert (
        f"{run} has already trained 3 epochs; --epochs counts all epochs of the run, so give at least 3"
        in (result.output)
    )
    result = train("--resume", str(run))
    assert result.exit_code == 0
    assert (
        f"nothing to resume: {run} finished all 3 epochs; to train longer: convlens train --resume {run} --epochs 6"
        in (result.output)
    )
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "run"
    assert train(*TINY, "--out", str(out)).exit_code == 0
    return out


@pytest.mark.parametrize("name", ["weights.npz", "metrics.json", "curves.png"])
def test_a_full_disk_at_a_final_file_says_which_and_resume_writes_the_missing_outputs(
    tmp_path, monkeypatch, reference, name
):
    out = tmp_path / "run"
    real_save = convlens.io.save_arrays

    def fill_disk_at_the_end(path, arrays):  # the checkpoint is written; then the disk is full
        full_disk(monkeypatch, name)
        monkeypatch.setattr(curves, "atomic_write", convlens.io.atomic_write)  # imported by name there
        return real_save(path, arrays)

    if name == "weights.npz":
        full_disk(monkeypatch, name)
    else:
        monkeypatch.setattr(convlens.io, "save_arrays", fill_disk_at_the_end)
    result = train(*TINY, "--out", str(out))
    assert result.exit_code == 1, result.output
    assert (
        f"Error: could not write {out / name}: No space left on device. The trained state is safe in "
        f"{out / 'checkpoint.npz'}; free some space (or fix the cause), then write the missing outputs "
        f"with: convlens train --resume {out}"
    ) in result.output
    assert "Traceback" not in result.output and (out / "checkpoint.npz").is_file()
    assert not any(p.name.endswith(".tmp") for p in out.iterdir())
    monkeypatch.undo()

    result = train("--resume", str(out))
    assert result.exit_code == 0, result.output
    assert f"finishing {out}: writing weights.npz, model.convlens, log.csv, curves.png, metrics.json from its checkpoint" in (
        result.output
    )
    assert same_weights(out, reference)
    metrics, expected = (json.loads((p / "metrics.json").read_text()) for p in (out, reference))
    assert metrics["status"] == "completed" and metrics["test_accuracy"] == expected["test_accuracy"]
    assert train("--resume", str(out)).output.startswith("mnist-5k")  # and now: nothing to resume
    assert "nothing to resume" in train("--resume", str(out)).output


def test_a_real_write_fault_at_a_final_file(tmp_path, monkeypatch, reference):
    out = tmp_path / "run"

    class BlockMetrics(train_command.CSVLogger):  # a folder where metrics.json must go: EISDIR
        def on_epoch_end(self, trainer, epoch, logs):
            (out / "metrics.json").mkdir(exist_ok=True)
            return super().on_epoch_end(trainer, epoch, logs)

    monkeypatch.setattr(train_command, "CSVLogger", BlockMetrics)
    result = train(*TINY, "--out", str(out))
    assert result.exit_code == 1, result.output
    assert f"Error: could not write {out / 'metrics.json'}: Is a directory." in result.output
    monkeypatch.undo()
    (out / "metrics.json").rmdir()
    result = train("--resume", str(out))
    assert result.exit_code == 0, result.output
    assert same_weights(out, reference)


def _copy(reference, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(reference, run)
    return run


def _damage_zip(path, how):
    data = path.read_bytes()
    if how == "empty":
        path.write_bytes(b"")
    elif how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "crc":
        damaged = bytearray(data)
        damaged[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(damaged))
    elif how == "random":
        path.write_bytes(np.random.default_rng(0).bytes(2000))


def _rewrite_state(run, change):
    arrays = load_arrays(run / "checkpoint.npz")
    document = json.loads(arrays["__state__"].tobytes())
    change(document["state"], arrays)
    arrays["__state__"] = np.frombuffer(json.dumps(document).encode(), np.uint8)
    np.savez(run / "checkpoint.npz", **arrays)


def _set(path, value):
    def change(state, arrays):
        target = state
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _retype_weight(state, arrays):
    arrays["model/state/0.weight"] = np.array(["a"] * arrays["model/state/0.weight"].size)


def _reshape_weight(state, arrays):
    arrays["model/state/0.weight"] = arrays["model/state/0.weight"].reshape(-1)


CHECKPOINT_DAMAGE = {
    "empty": (lambda run: _damage_zip(run / "checkpoint.npz", "empty"), "cannot read"),
    "truncated": (lambda run: _damage_zip(run / "checkpoint.npz", "truncated"), "cannot read"),
    "bad crc": (lambda run: _damage_zip(run / "checkpoint.npz", "crc"), "cannot read"),
    "random bytes": (lambda run: _damage_zip(run / "checkpoint.npz", "random"), "cannot read"),
    "no epoch": (
        lambda run: _rewrite_state(run, lambda s, a: s.pop("epoch")),
        "content is not what convlens writes",
    ),
    "epoch text": (
        lambda run: _rewrite_state(run, _set(["epoch"], "three")),
        "content is not what convlens writes",
    ),
    "state a list": (
        lambda run: _rewrite_state(run, _set(["model"], [1, 2])),
        "content is not what convlens writes",
    ),
    "no task": (
        lambda run: _rewrite_state(run, lambda s, a: s.pop("task")),
        "content is not what convlens writes",
    ),
    "weights as text": (lambda run: _rewrite_state(run, _retype_weight), "must be numeric arrays"),
    "weights reshaped": (lambda run: _rewrite_state(run, _reshape_weight), "shapes differ: 0.weight (150,)"),
}


@pytest.mark.parametrize("damage", CHECKPOINT_DAMAGE)
def test_a_damaged_checkpoint_is_refused_with_a_message(tmp_path, reference, damage):
    run = _copy(reference, tmp_path)
    change, expected = CHECKPOINT_DAMAGE[damage]
    change(run)
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    result = train("--resume", str(run), "--epochs", "3")
    assert result.exit_code == 1, result.output
    assert f"Error: cannot resume {run}: " in result.output and expected in result.output
    assert isinstance(result.exception, SystemExit)  # no exception escaped: no traceback
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


CONFIG_DAMAGE = {
    "a list": ([1, 2], "holds a JSON list, expected an object of settings"),
    "not json": ("{oops", "cannot read"),
    "lr text": ({"lr": "fast"}, "has a bad \"lr\": expected a number, received 'fast'"),
    "lr nan": ({"lr": float("nan")}, 'has a bad "lr": expected a finite number'),
    "epochs negative": ({"epochs": -3}, 'has a bad "epochs": -3 is not in the range'),
    "seed a list": ({"seed": [1]}, 'has a bad "seed": expected a integer'),
    "model unknown": ({"model": 5}, 'has a bad "model": expected a zoo model (cnn1d'),
    "data_option a number": ({"data_option": 3}, 'has a bad "data_option": expected a list'),
    "momentum 2": ({"momentum": 2}, 'has a bad "momentum": expected a number in [0, 1), received 2'),
    "epochs null": ({"epochs": None}, 'has a bad "epochs": expected a integer range, received null'),
    "lr null": ({"lr": None}, 'has a bad "lr": expected a finite float, received null'),
    "momentum null for sgd": ({"momentum": None}, 'has a bad "momentum": expected a finite float, received null'),
}


@pytest.mark.parametrize("damage", CONFIG_DAMAGE)
def test_a_damaged_config_is_refused_with_a_message(tmp_path, reference, damage):
    run = _copy(reference, tmp_path)
    change, expected = CONFIG_DAMAGE[damage]
    if isinstance(change, dict):
        config = json.loads((run / "config.json").read_text()) | change
        (run / "config.json").write_text(json.dumps(config))
    else:
        (run / "config.json").write_text(change if isinstance(change, str) else json.dumps(change))
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    result = train("--resume", str(run))
    assert result.exit_code == 1, result.output
    assert "Error: cannot resume: " in result.output and expected in result.output, result.output
    assert isinstance(result.exception, SystemExit)
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before
