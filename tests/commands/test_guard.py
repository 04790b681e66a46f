"""convlens/commands/guard.py: options checked before work, and no traceback under any command."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from convlens.commands.guard import SEED, FiniteFloat, check_output_file, for_the_shell, no_traceback


@click.command()
@no_traceback
@click.option("--tol", type=FiniteFloat(0), default=1.0)
@click.option("--seed", type=SEED, default=0)
@click.option("--out", type=click.Path(), default=None)
@click.option("--fail", type=click.Choice(["value", "memory", "bug", "interrupt", "shape"]), default=None)
def tool(tol, seed, out, fail):
    from pathlib import Path

    check_output_file(None if out is None else Path(out))
    if fail == "value":
        raise ValueError("expected a cat, received a dog")
    if fail == "memory":
        raise MemoryError()
    if fail == "bug":
        raise LookupError("oops")
    if fail == "interrupt":
        raise KeyboardInterrupt
    if fail == "shape":
        raise ValueError("Conv2d expects a 4-D input (N, C, H, W), received shape (1, 28, 28) (3-D); for a "
                         "single example add a batch axis: x[None] has shape (1, 1, 28, 28)")
    click.echo(f"ok {tol} {seed}")


@pytest.mark.parametrize("args, code, text", [
    (["--tol", "nan"], 2, "Invalid value for '--tol': expected a finite number, received 'nan'"),
    (["--tol", "-inf"], 2, "expected a finite number, received '-inf'"),
    (["--tol", "1e309"], 2, "expected a finite number, received '1e309' (beyond the largest float, about 1.8e+308)"),
    (["--tol", "-1"], 2, "expected a number in [0, inf], received '-1'"),
    (["--tol", "abc"], 2, "expected a number, received 'abc'"),
    (["--seed", "-1"], 2, "'--seed': -1 is not in the range 0<=x<=4294967295"),
    (["--fail", "value"], 1, "Error: expected a cat, received a dog"),
    (["--fail", "memory"], 1, "Error: out of memory (MemoryError); use smaller inputs or a smaller batch"),
    (["--fail", "bug"], 1, "Error: LookupError: oops (unexpected: please report this as a convlens bug)"),
    (["--fail", "interrupt"], 130, "interrupted (Ctrl-C)"),
    (["--tol", "0.5"], 0, "ok 0.5 0"),
])
def test_failures_are_one_line_with_the_exit_status_of_their_kind(args, code, text):
    result = CliRunner().invoke(tool, args)
    assert result.exit_code == code, result.output
    assert text in result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, (ValueError, LookupError))


def test_python_code_is_never_suggested_on_the_command_line():
    result = CliRunner().invoke(tool, ["--fail", "shape"])
    assert result.exit_code == 1
    assert "received shape (1, 28, 28) (3-D)" in result.output and "x[None]" not in result.output
    assert for_the_shell("expects 1 channel (convlens is channels-first, move it with x.transpose(0, 3, 1, 2))") \
        == "expects 1 channel (convlens is channels-first)"


@pytest.mark.parametrize("where, message", [
    ("/proc/x", "cannot write /proc/x:"),
    ("{tmp}/file.txt/x", "cannot write {tmp}/file.txt/x: {tmp}/file.txt is a file, not a folder"),
    ("{tmp}/missing/x", "cannot write {tmp}/missing/x: {tmp}/missing does not exist"),
    ("{tmp}", "expected a file to write, received the folder {tmp}"),
])
def test_an_output_path_that_cannot_be_written_is_refused_before_work(tmp_path, where, message):
    (tmp_path / "file.txt").write_text("keep")
    before = sorted(p.name for p in tmp_path.iterdir())
    result = CliRunner().invoke(tool, ["--out", where.format(tmp=tmp_path)])
    assert result.exit_code == 2 and message.format(tmp=tmp_path) in result.output.replace("\n", " ")
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # the probe left nothing behind


@pytest.mark.parametrize("number_type, value, text", [
    (FiniteFloat(0, min_open=True), "0", "expected a number in (0, inf], received '0'"),
    (FiniteFloat(0, 1, max_open=True), "1", "expected a number in [0, 1), received '1'"),
    (FiniteFloat(0, 1, max_open=True), "-0.5", "expected a number in [0, 1), received '-0.5'"),
    (FiniteFloat(-1, 1, min_open=True, max_open=True), "-1", "expected a number in (-1, 1), received '-1'"),
])
def test_open_bounds_refuse_the_bound_itself(number_type, value, text):
    with pytest.raises(click.BadParameter) as caught:
        number_type.convert(value, None, None)
    assert caught.value.message == text


def test_values_inside_open_bounds_and_on_closed_ones_pass():
    assert FiniteFloat(0, min_open=True).convert("1e-9", None, None) == 1e-9
    assert FiniteFloat(0, 1, max_open=True).convert("0", None, None) == 0.0
    assert FiniteFloat(0, 1).convert(1, None, None) == 1.0


def test_a_reader_that_goes_away_ends_the_command_quietly():
    """`convlens models | head`: the pipe closes before convlens writes; no 'Broken pipe' error."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "convlens", "models"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before the first line is written
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert b"Broken pipe" not in err and b"Traceback" not in err and b"Error" not in err
