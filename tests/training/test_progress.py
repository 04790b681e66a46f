"""EpochProgress: a live bar on a terminal, one plain line per epoch elsewhere."""

import io

from convlens.training.progress import EpochProgress, format_metrics


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
