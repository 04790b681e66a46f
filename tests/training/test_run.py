"""The run folder: one claim at a time, a dead holder's lock taken over, unusable paths refused,
a folder killed before its first checkpoint reused, and the table of final outputs."""

import errno
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
from disk_full import full_disk

import convlens as cl
from convlens.training import History
from convlens.training.run import (
    FINAL_OUTPUTS,
    LOCK,
    FinalOutputError,
    RunFolderBusy,
    RunFolderError,
    RunFolderTaken,
    RunResults,
    claim,
    missing_final_outputs,
    write_final_outputs,
)


def test_a_claimed_folder_is_busy_until_released(tmp_path):
    run = tmp_path / "a" / "run"
    folder = claim(run)
    assert run.is_dir() and (run / LOCK).read_text().split()[0] == str(os.getpid())
    with pytest.raises(RunFolderBusy, match=rf"{run} is in use by process {os.getpid()} on "):
        claim(run)  # another open file description: flock refuses it, in this process too
    with pytest.raises(RunFolderBusy):
        claim(run, resume=True)
    folder.release()
    assert not (run / LOCK).exists()
    claim(run, resume=True).release()


def test_the_lock_of_a_dead_process_is_taken_over_with_a_note(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    pid = int(dead.stdout)
    (tmp_path / LOCK).write_text(f"{pid} somehost 2026-01-01T00:00:00\n")
    folder = claim(tmp_path, resume=True)
    assert folder.note == (
        f"note: {tmp_path} was locked by process {pid}, which is no longer running (killed?); taking the folder over"
    )
    folder.release()


def test_a_failed_new_run_leaves_nothing(tmp_path):
    run = tmp_path / "new" / "deeper" / "run"
    with pytest.raises(RuntimeError), claim(run) as folder:
        (folder.path / "config.json").write_text("{}")
        raise RuntimeError("data failed to load")
    assert not (tmp_path / "new").exists()
    # a resume that fails changes nothing
    run = tmp_path / "old"
    run.mkdir()
    (run / "config.json").write_text("{}")
    with pytest.raises(RuntimeError), claim(run, resume=True):
        raise RuntimeError("bad checkpoint")
    assert sorted(p.name for p in run.iterdir()) == ["config.json"]


@pytest.mark.parametrize(
    "where, expected",
    [
        ("file/x", "cannot create the run folder {p}: {tmp}/file is a file, not a folder"),
        ("file", "cannot use {p} as a run folder: it is a file, not a folder"),
        (
            "/proc/convlens-run",
            "cannot create the run folder {p}: the file system at /proc does not allow new folders",
        ),
        (
            "/proc/self/x",
            "cannot create the run folder {p}: the file system at /proc/self does not allow new",
        ),
    ],
)
def test_paths_that_cannot_be_run_folders_are_explained(tmp_path, where, expected):
    (tmp_path / "file").write_text("x")
    path = tmp_path / where if not where.startswith("/") else where
    if where.startswith("/proc") and not os.path.isdir("/proc/self"):
        pytest.skip("no /proc here")
    with pytest.raises(RunFolderError) as info:
        claim(path)
    assert str(info.value).startswith(expected.format(p=path, tmp=tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES, errno.EIO])
def test_a_read_only_or_failing_file_system_is_explained(tmp_path, monkeypatch, code):
    def refuse(self, *args, **kwargs):  # as a read-only mount (or a non-root user) answers
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(type(tmp_path), "mkdir", refuse)
    with pytest.raises(RunFolderError) as info:
        claim(tmp_path / "a" / "run")
    assert str(info.value) == (
        f"cannot create the run folder {tmp_path / 'a' / 'run'}: {os.strerror(code)}; choose a folder you can write to"
    )
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_a_folder_killed_before_its_first_checkpoint_is_reused_and_a_run_is_never_overwritten(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / ".config.json.abc.tmp").write_text("{")
    folder = claim(tmp_path)
    assert (
        "holds a run stopped before its first checkpoint (nothing was trained); reusing the folder"
        in folder.note
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [LOCK]
    folder.release()
    (tmp_path / "checkpoint.npz").write_bytes(b"x")
    with pytest.raises(
        RunFolderTaken, match="already exists and is not an empty folder; runs are never overwritten"
    ):
        claim(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.npz"]


def _results():
    history = History(val_name="test", task="classification")
    history.record({"loss": 1.0, "accuracy": 0.5}, {"loss": 1.1, "accuracy": 0.4}, 1.0, 0.1, 10.0)
    model = cl.Sequential(cl.Linear(2, 3))
    return RunResults(model, {"status": "completed"}, history, {}, "a test")


def test_final_outputs_are_one_table_with_metrics_last(tmp_path):
    names = [o.name for o in FINAL_OUTPUTS]
    assert names[-1] == "metrics.json" and {"weights.npz", "model.convlens", "log.csv", "curves.png"} <= set(names)
    results = _results()
    assert missing_final_outputs(tmp_path, results.history) == names
    assert write_final_outputs(tmp_path, results) == names
    assert missing_final_outputs(tmp_path, results.history) == []
    (tmp_path / "curves.png").unlink()
    assert missing_final_outputs(tmp_path, results.history) == ["curves.png"]
    (tmp_path / "metrics.json").write_text('{"status": "interrupted"}')
    assert missing_final_outputs(tmp_path, results.history) == names  # not finished: write them all
    # a new row is one line of the table, written before metrics.json
    empty = SimpleNamespace(epochs=0, train_accuracy=[])
    assert [o.name for o in FINAL_OUTPUTS if o.applies(empty)] == [n for n in names if n != "curves.png"]


def test_a_final_output_that_cannot_be_written_is_named_with_its_cause(tmp_path, monkeypatch):
    full_disk(monkeypatch, "weights.npz")
    with pytest.raises(FinalOutputError) as info:
        write_final_outputs(tmp_path, _results())
    assert info.value.name == "weights.npz" and info.value.errno == errno.ENOSPC
    assert str(info.value) == (
        f"could not write {tmp_path / 'weights.npz'}: No space left on device. The trained state is safe in "
        f"{tmp_path / 'checkpoint.npz'}; free some space (or fix the cause), then write the missing outputs "
        f"with: convlens train --resume {tmp_path}"
    )
    assert list(tmp_path.iterdir()) == []  # nothing half-written, metrics.json not claiming success
