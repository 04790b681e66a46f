"""`convlens train` on real processes: SIGKILL at every write step of a checkpoint save, Ctrl-C at
any moment (start-up, training, twice), two processes on one run folder."""

import json
import os
import signal
import time

import pytest
from process_runs import TINY, listing, run_process, same_weights, spawn, train

from convlens.training.checkpoint import SAVE_STEPS, read_checkpoint


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "run"
    result = train(*TINY, "--out", str(out))
    assert result.exit_code == 0, result.output
    return out


# save 2 (after epoch 1) at every step; save 1 (when training starts) on both sides of its move
# into place: before it, nothing was trained and the folder is reusable (save 3 is like save 2)
@pytest.mark.parametrize(
    "save, step", [(2, step) for step in range(1, len(SAVE_STEPS) + 1)] + [(1, 3), (1, 4)]
)
def test_a_kill_after_any_write_step_of_a_save_leaves_a_run_that_resumes_exactly(
    tmp_path, reference, save, step
):
    out = tmp_path / "run"
    code, _, err = run_process([*TINY, "--out", str(out)], env={"CONVLENS_KILL_AT_SAVE": f"{save}:{step}"})
    assert code == -signal.SIGKILL, err
    moved = step >= SAVE_STEPS.index("moved into place") + 1
    if save == 1 and not moved:
        # killed before the first checkpoint was in place: nothing to resume, the folder is reusable
        assert not (out / "checkpoint.npz").exists()
        result = train("--resume", str(out))
        assert result.exit_code == 1
        assert "holds a run stopped before its first checkpoint: nothing was trained" in result.output
        result = train(*TINY, "--out", str(out))
        assert result.exit_code == 0, result.output
        assert (
            f"note: {out} holds a run stopped before its first checkpoint (nothing was trained); reusing"
            in (result.output)
        )
    else:
        # the checkpoint is one whole save: the killed one if it was moved into place, else the one before
        state = read_checkpoint(out / "checkpoint")
        assert state["epoch"] == (save - 1 if moved else save - 2)
        result = train("--resume", str(out))
        assert result.exit_code == 0, result.output
        assert "taking the folder over" in result.output  # the dead process's lock
    assert same_weights(out, reference)
    assert listing(out) == [
        "checkpoint.npz",
        "config.json",
        "curves.png",
        "log.csv",
        "metrics.json",
        "model.convlens",
        "weights.npz",
    ]
    histories = [json.loads((p / "metrics.json").read_text())["history"] for p in (out, reference)]
    assert histories[0]["train_loss"] == histories[1]["train_loss"]
    assert histories[0]["val_loss"] == histories[1]["val_loss"]


def _started_importing(proc):
    """Whether the process has mapped NumPy's extension modules (it is importing convlens)."""
    try:
        with open(f"/proc/{proc.pid}/maps") as maps:
            return "numpy" in maps.read()
    except OSError:
        return False


def _interrupt(tmp_path, delays, args):
    """Start a run; once it imports convlens, send Ctrl-C after each delay (seconds)."""
    proc = spawn(args, cwd=tmp_path)
    while not _started_importing(proc):
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.002)
    start = time.monotonic()
    for delay in delays:
        time.sleep(max(0.0, start + delay - time.monotonic()))
        proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=240)
    return proc.returncode, out, err


LONG = ["--limit-train", "64", "--limit-test", "10", "--batch-size", "8", "--epochs", "200"]


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="needs Linux's /proc to see the imports")
@pytest.mark.parametrize(
    "delays",
    [[0.0], [0.6], [2.5], [0.3, 0.32], [3.0, 3.02]],
    ids=["import", "start-up", "training", "double-early", "double-training"],
)
def test_ctrl_c_at_any_moment_exits_130_with_a_line_and_never_a_traceback(tmp_path, delays):
    out = tmp_path / "run"
    code, stdout, stderr = _interrupt(tmp_path, delays, [*LONG, "--out", str(out)])
    assert code == 130, (stdout, stderr)
    assert "Traceback" not in stderr + stdout and "Aborted!" not in stderr + stdout
    assert "interrupted" in stderr.lower()
    files = listing(out)
    # either nothing was kept (no folder), or a run that resumes: a checkpoint, no lock, no temporary file
    assert files is None or ("checkpoint.npz" in files and not any(f.startswith(".") for f in files)), files
    if files is not None:
        assert "continue with: convlens train --resume" in stderr


def test_a_second_process_on_a_busy_run_folder_is_refused_and_writes_nothing(tmp_path):
    out = tmp_path / "run"
    first = spawn([*LONG, "--seed", "1", "--out", str(out)])
    try:
        deadline = time.monotonic() + 120
        while not (out / "checkpoint.npz").exists():  # the first one holds the folder and trains
            assert time.monotonic() < deadline and first.poll() is None, first.communicate()
            time.sleep(0.05)
        lock = (out / ".convlens-lock").read_text()
        code, stdout, stderr = run_process([*LONG, "--seed", "2", "--out", str(out)])
        assert code == 1, (stdout, stderr)
        assert f"Error: {out} is in use by process {first.pid}" in stderr
        assert "two processes never write one run folder" in stderr and "wrote" not in stdout
        assert (out / ".convlens-lock").read_text() == lock
        assert json.loads((out / "config.json").read_text())["seed"] == 1
        code, stdout, stderr = run_process(["--resume", str(out)])
        assert code == 1 and f"is in use by process {first.pid}" in stderr, (stdout, stderr)
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=240)
    assert first.returncode == 130
    assert read_checkpoint(out / "checkpoint")["metadata"]["seed"] == 1


def test_two_runs_started_at_once_on_one_folder_leave_one_whole_run(tmp_path):
    out = tmp_path / "run"
    procs = [spawn([*TINY, "--seed", str(seed), "--out", str(out)]) for seed in (1, 2)]
    results = [(p.wait(timeout=240), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes[0] == 0 and codes[1] in (1, 2), results  # busy (1), or already a finished run (2)
    winner = next(seed for seed, (code, _, _) in zip((1, 2), results) if code == 0)
    loser_err = next(err for code, _, err in results if code != 0)
    assert "is in use by process" in loser_err or "already exists and is not an empty folder" in loser_err
    assert json.loads((out / "config.json").read_text())["seed"] == winner
    assert read_checkpoint(out / "checkpoint")["metadata"]["seed"] == winner
    assert json.loads((out / "metrics.json").read_text())["status"] == "completed"
