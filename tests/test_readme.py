"""README.md's code works as shown: every Python block runs, prints what the text says, and the
test command is the one .ci/run runs."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```python\n(.*?)^```$", README, flags=re.S | re.M)


def run_block(code: str, folder: Path, monkeypatch) -> str:
    """Run one block in a fresh namespace inside ``folder``; returns what it printed."""
    monkeypatch.chdir(folder)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    return out.getvalue()


def block_with(line: str) -> str:
    (block,) = [b for b in BLOCKS if line in b]
    return block


def test_every_python_block_runs(tmp_path, monkeypatch):
    assert len(BLOCKS) >= 3
    checked = {block_with("history = cl.fit("), block_with("trainer.load_checkpoint()")}
    for i, block in enumerate(b for b in BLOCKS if b not in checked):  # those two: with their output below
        folder = tmp_path / f"block-{i}"
        folder.mkdir()
        run_block(block, folder, monkeypatch)


def test_the_workflow_block_trains_evaluates_and_keeps_the_weights(tmp_path, monkeypatch):
    printed = run_block(block_with("history = cl.fit("), tmp_path, monkeypatch)
    accuracy = re.search(r"^test loss (\d\.\d{3}), accuracy (\d+\.\d)%$", printed, flags=re.M)
    assert accuracy, printed
    assert float(accuracy[2]) > 90  # README says 93.3 % (BLAS summation order may move it a little)
    assert (tmp_path / "lenet5-mnist-5k.npz").is_file()


def test_the_trainer_block_stops_on_time_logs_and_resumes(tmp_path, monkeypatch):
    printed = run_block(block_with("trainer.load_checkpoint()"), tmp_path, monkeypatch)
    epochs = re.findall(r"^epoch (\d): val_loss \d\.\d{4}, val_accuracy (\d+\.\d)%$", printed, flags=re.M)
    assert [e for e, _ in epochs] == ["1", "2"] and float(epochs[-1][1]) > 85
    lines = printed.splitlines()
    assert "completed 2" in lines and lines[-1] == "2"
    assert len((tmp_path / "log.csv").read_text().splitlines()) == 3  # header + 2 epochs
    assert (tmp_path / "checkpoint.npz").is_file() and (tmp_path / "checkpoint.json").is_file()


def test_the_test_command_is_the_one_ci_runs():
    (command,) = re.findall(r'^(pip install "\.\[test\]" && python -m pytest.*)$', README, flags=re.M)
    ci = (ROOT / ".ci" / "run").read_text()
    assert f"TEST_COMMAND='{command}'" in ci


def test_seed_notes_are_explained_before_they_are_named():
    first = re.search(r"[Ss]eed notes?\b(?! \(the| compute)", README)
    assert first and README.index("## The seed notes") <= first.start(), README[first.start() - 80:first.end()]
    assert not re.search(r"\bseeds? \d{3}\b", README)  # never a bare "seed 004": a note, or a random seed
