"""Generated argument lists for the commands other than ``train`` (models, summary, explain,
gradcheck, parity, visualize): never a traceback, exit status 0, 1 (failure) or 2 (usage), every
failure a message the command meant to give, and no file changed by a failed command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convlens.cli import main

FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

NUMBERS = ["0", "1", "-1", "2", "nan", "inf", "-inf", "1e308", "abc", "", "0.5", "99999999999999999999"]
SHAPES = ["1,28,28", "28,28", "1,20000,20000", "1,8,8", "3,32,32", "0,28,28", "1,a,28", "1,1,28,28", "24",
          "1,28,28,", "-1,28,28", "1x28x28", "100000,28,28"]
PATHS = ["out.txt", "dir", "file.txt", "file.txt/x", "/proc/x", "missing/x", "input.npy", "input.npz",
         "strings.npy", "random.npy", "objects.npy", "nan.npy", "run", "broken-run", "not-json-run"]
MODELS = ["lenet5", "seed_net", "simple_cnn", "text_cnn", "nope", ""]
OPTIONS = {
    "models": {"--format": ["text", "markdown", "html"]},
    "summary": {"--input-shape": SHAPES, "--batch-size": NUMBERS, "--format": ["text", "markdown", "x"],
                "--out": PATHS},
    "explain": {"--model": MODELS, "--input-shape": SHAPES, "--input": PATHS, "--label": NUMBERS,
                "--optimizer": ["sgd", "adam", "nope"], "--lr": NUMBERS, "--momentum": NUMBERS,
                "--seed": NUMBERS, "--format": ["text", "html", "markdown", "x"], "--lang": ["en", "ko", "xx"],
                "--max-values": NUMBERS, "--out": PATHS},
    "gradcheck": {"--input-shape": SHAPES, "--batch-size": ["1", "2", "0", "-1", "100000", "abc"],
                  "--max-checks": ["1", "2", "0", "abc"], "--tol": NUMBERS, "--seed": NUMBERS},
    "parity": {"--input-shape": SHAPES, "--batch-size": ["1", "0", "100000"],
               "--dtype": ["float32", "float64", "int8"], "--tol": NUMBERS, "--seed": NUMBERS},
    "visualize": {"--what": ["all", "filters", "curves", "nope"], "--out": PATHS, "--format": ["png", "pdf"],
                  "--index": NUMBERS, "--class": NUMBERS, "--layer": ["0", "nope", ""],
                  "--max-examples": NUMBERS},
}
POSITIONAL = {"summary": MODELS, "gradcheck": MODELS, "parity": MODELS, "visualize": PATHS}


def _workspace(root: Path) -> None:
    """Files the generated arguments point at: good and bad inputs, a file, a folder, broken runs."""
    (root / "file.txt").write_text("keep me")
    (root / "dir").mkdir()
    np.save(root / "input.npy", np.zeros((1, 28, 28), np.float32))
    np.savez(root / "input.npz", x=np.zeros((1, 28, 28)))
    np.save(root / "strings.npy", np.full((1, 28, 28), "a"))
    (root / "random.npy").write_bytes(bytes(range(256)))
    np.save(root / "objects.npy", np.array([None, 1], dtype=object), allow_pickle=True)
    np.save(root / "nan.npy", np.full((1, 28, 28), np.nan))
    for name, config in (("run", {"model": "simple_cnn", "dataset": "mnist-5k"}),
                         ("broken-run", {"model": 3, "dataset": []})):
        (root / name).mkdir()
        (root / name / "config.json").write_text(json.dumps(config))
        (root / name / "weights.npz").write_bytes(b"PK\x03\x04 not really a zip")
        (root / name / "metrics.json").write_text("{}")
    (root / "not-json-run").mkdir()
    (root / "not-json-run" / "config.json").write_text("{not json")


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@st.composite
def command_lines(draw):
    command = draw(st.sampled_from(sorted(OPTIONS)))
    args = [command]
    if command in POSITIONAL and draw(st.integers(0, 9)):
        args.append(draw(st.sampled_from(POSITIONAL[command])))
    pool = OPTIONS[command]
    for option in draw(st.lists(st.sampled_from(sorted(pool)), max_size=3, unique=True)):
        args += [option, draw(st.sampled_from(pool[option]))]
    if command == "gradcheck" and "--max-checks" not in args:
        args += ["--max-checks", "1"]  # bounded: one nudge per tensor
    return args


@FUZZ
@given(args=command_lines())
def test_generated_command_lines(tmp_path_factory, args):
    root = tmp_path_factory.mktemp("cli")
    _workspace(root)
    before = _snapshot(root)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        result = CliRunner().invoke(main, args, catch_exceptions=True)
    finally:
        os.chdir(cwd)
    shown = " ".join(args)
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        f"convlens {shown}: a traceback ({type(result.exception).__name__}: {result.exception})"
    assert result.exit_code in (0, 1, 2), f"convlens {shown}: exit status {result.exit_code}"
    assert "Traceback" not in result.output and "please report" not in result.output, \
        f"convlens {shown}:\n{result.output}"
    if result.exit_code != 0:
        assert _snapshot(root) == before, f"convlens {shown} failed and changed files"


@pytest.mark.parametrize("args, code, text", [
    (["gradcheck", "lenet5", "--tol", "nan"], 2, "expected a finite number, received 'nan'"),
    (["explain", "--model", "lenet5", "--input", "{random}"], 2, "is not a NumPy file"),
    (["summary", "lenet5", "--input-shape", "1,20,20"], 1, "lenet5 cannot take the input size (1, 20, 20)"),
])
def test_the_installed_entry_point_prints_no_traceback(tmp_path, args, code, text):
    (tmp_path / "random.npy").write_bytes(bytes(range(256)))
    args = [a.format(random=tmp_path / "random.npy") for a in args]
    done = subprocess.run([sys.executable, "-m", "convlens.cli", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    assert done.returncode == code, done.stderr
    assert text in done.stderr.replace("\n", " ") and "Traceback" not in done.stderr + done.stdout
