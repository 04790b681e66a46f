"""The load benchmark runs end to end on a small scale and counts no errors."""

from __future__ import annotations

from benchmarks import explorer_load


def test_a_small_load_run_has_no_errors(capsys):
    assert explorer_load.main(["--clients", "3", "--requests", "4", "--model", "simple_cnn"]) == 0
    out = capsys.readouterr().out
    assert "| 3 × 4 | 12 | 0 |" in out
