"""Checkpoint files: nested state <-> one .npz (arrays + the JSON tree), written atomically, no pickle;
the old two-file format is still read."""

import errno
import json

import numpy as np
import pytest
from disk_full import full_disk

from convlens.training.checkpoint import (
    CheckpointError,
    CheckpointSaveError,
    checkpoint_file,
    flatten,
    read_checkpoint,
    read_checkpoint_tree,
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
    npz = write_checkpoint(tmp_path / "ckpt", _state())
    assert npz.name == "ckpt.npz"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.npz"]  # one file, no temporary files
    back = read_checkpoint(tmp_path / "ckpt")
    expected = _state()
    expected["optimizer"]["hyperparameters"]["betas"] = [0.9, 0.999]  # JSON has lists, not tuples
    assert _equal(back, expected) and back["step"].dtype == np.int64 and back["step"] == 7
    assert back["rng"]["state"]["state"] == 2**100 + 1 and back["best"] == float("inf")
    assert checkpoint_file(tmp_path / "ckpt.json") == checkpoint_file(tmp_path / "ckpt") == npz


def test_arrays_are_read_without_pickle(tmp_path):
    write_checkpoint(tmp_path / "ckpt", {"x": np.zeros(2)})
    state = np.load(tmp_path / "ckpt.npz")["__state__"]
    # a file that would unpickle an object when loaded carelessly
    np.savez(tmp_path / "ckpt.npz", __state__=state, x=np.array([{"a": 1}], dtype=object))
    with pytest.raises(
        CheckpointError,
        match=r"cannot read .*ckpt.npz: .*ckpt.npz: holds Python objects \(pickled data\), which "
              r"convlens never loads",
    ):
        read_checkpoint(tmp_path / "ckpt")


def test_a_full_disk_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    write_checkpoint(tmp_path / "ckpt", _state(1.0))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    full_disk(monkeypatch, ".npz")
    with pytest.raises(
        CheckpointSaveError,
        match=r"could not write the checkpoint ckpt.npz in .*: "
        r"No space left on device. The previous checkpoint there \(if any\) is intact",
    ) as info:
        write_checkpoint(tmp_path / "ckpt", _state(2.0))
    assert info.value.errno == errno.ENOSPC
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # and no temporary files
    monkeypatch.undo()
    assert _equal(read_checkpoint(tmp_path / "ckpt")["model"], _state(1.0)["model"])


def _legacy_pair(folder, name, state, save_id):
    """A checkpoint in the version-1 format: NAME.npz (arrays + save id) and NAME.json."""
    tree, arrays = flatten(state)
    np.savez(folder / f"{name}.npz", __save_id__=np.array(save_id), **arrays)
    document = {"format": "convlens-checkpoint", "version": 1, "save_id": save_id, "state": tree}
    (folder / f"{name}.json").write_text(json.dumps(document))


def test_old_two_file_checkpoints_are_read_and_mixed_pairs_refused(tmp_path):
    _legacy_pair(tmp_path, "a", _state(1.0), "one")
    assert _equal(read_checkpoint(tmp_path / "a")["model"], _state(1.0)["model"])
    _legacy_pair(tmp_path, "b", _state(2.0), "two")
    (tmp_path / "a.npz").write_bytes((tmp_path / "b.npz").read_bytes())
    with pytest.raises(CheckpointError, match=r"a.npz and a.json in .* come from different saves"):
        read_checkpoint(tmp_path / "a")
    # the next save replaces the pair by one file
    write_checkpoint(tmp_path / "a", _state(3.0))
    assert not (tmp_path / "a.json").exists()
    assert _equal(read_checkpoint(tmp_path / "a")["model"], _state(3.0)["model"])


def test_missing_damaged_and_foreign_files_are_explained(tmp_path):
    with pytest.raises(CheckpointError, match=r"no checkpoint: the folder .*nowhere does not exist"):
        read_checkpoint(tmp_path / "nowhere" / "ckpt")
    with pytest.raises(CheckpointError, match=r"no checkpoint in .*: missing ckpt.npz"):
        read_checkpoint(tmp_path / "ckpt")
    np.savez(tmp_path / "ckpt.npz", weights=np.zeros(3))
    with pytest.raises(CheckpointError, match=r"ckpt.npz is not a convlens checkpoint \(it has no __state__"):
        read_checkpoint(tmp_path / "ckpt")
    np.savez(tmp_path / "ckpt.npz", __state__=np.frombuffer(b'{"model": "lenet5"}', np.uint8))
    with pytest.raises(CheckpointError, match=r'ckpt.npz is not a convlens checkpoint \(no "format"'):
        read_checkpoint(tmp_path / "ckpt")
    np.savez(tmp_path / "ckpt.npz", __state__=np.frombuffer(b"{not json", np.uint8))
    with pytest.raises(CheckpointError, match=r"its __state__ member is not JSON: Expecting property name"):
        read_checkpoint(tmp_path / "ckpt")
    good = write_checkpoint(tmp_path / "ckpt", _state()).read_bytes()
    (tmp_path / "ckpt.npz").write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"cannot read .*ckpt.npz: .*\(the file is damaged or is not a checkpoint\)"):
        read_checkpoint(tmp_path / "ckpt")
    damaged = bytearray(good)
    damaged[len(good) // 3] ^= 0xFF  # inside a member: a CRC error when it is read
    (tmp_path / "ckpt.npz").write_bytes(bytes(damaged))
    with pytest.raises(CheckpointError, match=r"cannot read .*ckpt.npz: .*\(the file is damaged"):
        read_checkpoint(tmp_path / "ckpt")
    (tmp_path / "ckpt.npz").write_bytes(good[: len(good) // 2])  # truncated
    with pytest.raises(CheckpointError, match=r"cannot read .*ckpt.npz: .*\(the file is damaged"):
        read_checkpoint(tmp_path / "ckpt")


def test_the_tree_alone_is_read_without_the_arrays(tmp_path):
    write_checkpoint(tmp_path / "ckpt", _state())
    tree = read_checkpoint_tree(tmp_path / "ckpt.npz")
    assert tree["history"] == {"train_loss": [1.5, 0.25], "lr": [None, 0.1]}
    assert tree["model"]["0.weight"] == {"__array__": "model/0.weight"}
    (tmp_path / "ckpt.npz").write_bytes(b"")
    with pytest.raises(CheckpointError, match="cannot read"):
        read_checkpoint_tree(tmp_path / "ckpt.npz")
