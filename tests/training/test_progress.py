"""EpochProgress: a live bar on a terminal, one plain line per epoch elsewhere."""

import io
import sys
import types

import numpy as np
import pytest

from convlens.training.progress import (
    EpochProgress,
    format_metrics,
    format_rate,
    in_notebook,
    resolve_verbose,
)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_format_metrics():
    assert format_metrics(0.12345, 0.98765) == "loss 0.1235 acc 98.77%"
    assert format_metrics(1.0, 0.5, prefix="test_") == "test_loss 1.0000 test_acc 50.00%"


def test_plain_line_when_not_a_terminal():
    out = io.StringIO()
    progress = EpochProgress(3, 10, num_batches=5, file=out)
    for _ in range(5):
        progress.update(0.5, 0.9)
    assert out.getvalue() == ""  # nothing until the epoch ends
    progress.close("loss 0.5000 acc 90.00%", seconds=1.25)
    assert out.getvalue() == "epoch  3/10  loss 0.5000 acc 90.00%  (1.2 s)\n"


def test_bar_on_a_terminal_ends_with_the_summary():
    out = Terminal()
    progress = EpochProgress(1, 2, num_batches=4, file=out)
    for _ in range(4):
        progress.update(0.5, 0.9)
    progress.close("SUMMARY", seconds=1.0)
    last_frame = out.getvalue().rstrip("\n").rsplit("\r", 1)[-1]
    assert last_frame.startswith("epoch 1/2: 100%") and "4/4" in last_frame and "SUMMARY" in last_frame


def test_disabled_prints_nothing():
    for out in (io.StringIO(), Terminal()):
        progress = EpochProgress(1, 1, num_batches=2, file=out, enabled=False)
        progress.update(1.0, 0.1)
        progress.close("x", 0.1)
        assert out.getvalue() == ""


def test_abort_leaves_the_bar_where_it_stood():
    out = Terminal()
    progress = EpochProgress(1, 1, num_batches=10, file=out)
    progress.update(1.0, 0.1)
    progress.abort()
    assert "1/10" in out.getvalue() and progress.bar.disable


def test_throughput_in_the_line_and_on_the_bar():
    out = io.StringIO()
    progress = EpochProgress(3, 10, num_batches=5, file=out)
    progress.close("loss 0.5000 acc 90.00%", seconds=1.25, samples_per_second=3210.4)
    assert out.getvalue() == "epoch  3/10  loss 0.5000 acc 90.00%  (1.2 s, 3,210 samples/s)\n"
    assert format_rate(2.46) == "2.5 samples/s" and format_rate(12.4) == "12 samples/s"
    out = Terminal()
    progress = EpochProgress(1, 1, num_batches=4, file=out)
    progress.update("loss 1.0000 acc 10.00%", samples=32)
    progress.bar.refresh()
    assert "loss 1.0000 acc 10.00% " in out.getvalue() and " samples/s" in out.getvalue()


def _fake_ipython(monkeypatch, shell_class):
    shell = type(shell_class, (), {"config": {}})() if shell_class else None
    module = types.ModuleType("IPython")
    module.get_ipython = lambda: shell
    monkeypatch.setitem(sys.modules, "IPython", module)


@pytest.mark.parametrize(
    "shell, notebook",
    [("ZMQInteractiveShell", True), ("TerminalInteractiveShell", False), (None, False)],
)
def test_notebook_detection(monkeypatch, shell, notebook):
    _fake_ipython(monkeypatch, shell)
    assert in_notebook() is notebook
    assert resolve_verbose(None) is True and resolve_verbose(False) is False


def test_fit_shows_progress_in_a_notebook_unless_told_not_to(monkeypatch):
    import convlens as cl
    from convlens.data import DataLoader
    from convlens.training import fit

    _fake_ipython(monkeypatch, "ZMQInteractiveShell")
    x = np.random.default_rng(0).standard_normal((32, 1, 2, 2)).astype(np.float32)
    y = np.arange(32) % 3
    for verbose, lines in ((False, 0), (None, 2), (True, 2)):  # to a file: one line per epoch
        model = cl.Sequential(cl.Flatten(), cl.Linear(4, 3))
        out = io.StringIO()
        fit(
            model,
            cl.CrossEntropyLoss(),
            cl.optim.SGD(model.parameters()),
            DataLoader(x, y, 8),
            2,
            verbose=verbose,
            file=out,
        )
        assert len(out.getvalue().splitlines()) == lines


def test_a_notebook_gets_tqdms_notebook_widget(monkeypatch):
    from tqdm import notebook  # imported before IPython is faked (it imports IPython.display)

    _fake_ipython(monkeypatch, "ZMQInteractiveShell")
    progress = EpochProgress(1, 2, num_batches=4, file=sys.stdout)
    assert isinstance(progress.bar, notebook.tqdm)
    for _ in range(4):
        progress.update("loss 0.5000 acc 90.00%", samples=8)
    progress.close("SUMMARY", seconds=1.0)
    assert progress.bar.n == 4 and progress.bar.total == 4 and "SUMMARY" in progress.bar.postfix
    assert progress.bar.desc == "epoch 1/2"
    # a file of the caller's own gets plain lines, as outside a notebook
    out = io.StringIO()
    assert EpochProgress(1, 2, num_batches=4, file=out).bar is None
    _fake_ipython(monkeypatch, "TerminalInteractiveShell")
    assert not isinstance(EpochProgress(1, 2, num_batches=4, file=sys.stdout).bar, notebook.tqdm)
