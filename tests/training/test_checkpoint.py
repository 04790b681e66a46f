"""Checkpoint files: nested state <-> .npz + .json, written atomically as a pair, no pickle."""

import errno
import json

import numpy as np
import pytest
from disk_full import full_disk

from convlens.training.checkpoint import (
    CheckpointError,
    CheckpointSaveError,
    checkpoint_paths,
    flatten,
    read_checkpoint,
    unflatten,
    write_checkpoint,
)


def _state(scale=1.0):
    return {
        "epoch": 3,
        "model": {
            "0.weight": np.arange(6, dtype=np.float32).reshape(2, 3) * scale,
            "0.bias": np.zeros(2, np.float32),
        },
        "optimizer": {
            "type": "SGD",
            "lr": 0.1,
            "state": [{"momentum_buffer": np.ones(3)}, {}],
            "hyperparameters": {"betas": (0.9, 0.999)},
        },
        "step": np.array(7, dtype=np.int64),  # 0-d, as Adam keeps its step count
        "best": float("inf"),
        "rng": {"state": {"state": 2**100 + 1, "inc": 5}},
        "history": {"train_loss": [1.5, 0.25], "lr": [None, 0.1]},
    }


def _equal(a, b):
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    return a == b


def test_flatten_moves_every_array_out_of_the_tree():
    tree, arrays = flatten(_state())
    assert set(arrays) == {"model/0.weight", "model/0.bias", "optimizer/state/0/momentum_buffer", "step"}
    assert tree["model"]["0.weight"] == {"__array__": "model/0.weight"}
    json.dumps(tree)  # everything else is plain JSON
    again = unflatten(tree, arrays)
    assert _equal(again["model"], _state()["model"]) and again["optimizer"]["hyperparameters"]["betas"] == [
        0.9,
        0.999,
    ]
    with pytest.raises(TypeError, match="cannot store object at 'x' in a checkpoint"):
        flatten({"x": object()})


def test_round_trip_keeps_values_dtypes_and_big_integers(tmp_path):
    npz, js = write_checkpoint(tmp_path / "ckpt", _state())
    assert (npz.name, js.name) == ("ckpt.npz", "ckpt.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.json", "ckpt.npz"]  # no temporary files
    back = read_checkpoint(tmp_path / "ckpt")
    expected = _state()
    expected["optimizer"]["hyperparameters"]["betas"] = [0.9, 0.999]  # JSON has lists, not tuples
    assert _equal(back, expected) and back["step"].dtype == np.int64 and back["step"] == 7
    assert back["rng"]["state"]["state"] == 2**100 + 1 and back["best"] == float("inf")
    assert checkpoint_paths(tmp_path / "ckpt.json") == checkpoint_paths(tmp_path / "ckpt")


def test_arrays_are_read_without_pickle(tmp_path):
    write_checkpoint(tmp_path / "ckpt", {"x": np.zeros(2)})
    save_id = str(np.load(tmp_path / "ckpt.npz")["__save_id__"])
    # a file that would unpickle an object when loaded carelessly
    np.savez(tmp_path / "ckpt.npz", __save_id__=np.array(save_id), x=np.array([{"a": 1}], dtype=object))
    with pytest.raises(
        CheckpointError,
        match=r"cannot read .*ckpt.npz: .*ckpt.npz: holds Python objects \(pickled data\), which "
              r"convlens never loads",
    ):
        read_checkpoint(tmp_path / "ckpt")


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_a_full_disk_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch, suffix):
    write_checkpoint(tmp_path / "ckpt", _state(1.0))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    full_disk(monkeypatch, suffix)
    with pytest.raises(
        CheckpointSaveError,
        match=r"could not write the checkpoint ckpt.npz/ckpt.json in .*: "
        r"No space left on device. The previous checkpoint there \(if any\) is intact",
    ) as info:
        write_checkpoint(tmp_path / "ckpt", _state(2.0))
    assert info.value.errno == errno.ENOSPC
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # and no temporary files
    monkeypatch.undo()
    assert _equal(read_checkpoint(tmp_path / "ckpt")["model"], _state(1.0)["model"])


def test_files_from_different_saves_are_refused(tmp_path):
    write_checkpoint(tmp_path / "a", _state(1.0))
    write_checkpoint(tmp_path / "b", _state(2.0))
    (tmp_path / "a.npz").write_bytes((tmp_path / "b.npz").read_bytes())
    with pytest.raises(CheckpointError, match=r"a.npz and a.json in .* come from different saves"):
        read_checkpoint(tmp_path / "a")


def test_missing_and_foreign_files_are_explained(tmp_path):
    with pytest.raises(CheckpointError, match=r"no checkpoint: the folder .*nowhere does not exist"):
        read_checkpoint(tmp_path / "nowhere" / "ckpt")
    with pytest.raises(
        CheckpointError,
        match=r"no checkpoint in .*: missing ckpt.npz and ckpt.json \(a checkpoint is "
        r"ckpt.npz with the arrays and ckpt.json with the rest\)",
    ):
        read_checkpoint(tmp_path / "ckpt")
    write_checkpoint(tmp_path / "ckpt", _state())
    (tmp_path / "ckpt.json").write_text('{"model": "lenet5"}')
    with pytest.raises(
        CheckpointError,
        match=r'ckpt.json is not a convlens checkpoint \(no "format": '
        r'"convlens-checkpoint"\)',
    ):
        read_checkpoint(tmp_path / "ckpt")
    (tmp_path / "ckpt.json").write_text("{not json")
    with pytest.raises(CheckpointError, match=r"cannot read .*ckpt.json: Expecting property name"):
        read_checkpoint(tmp_path / "ckpt")
