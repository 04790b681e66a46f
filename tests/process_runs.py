"""Test helper: `convlens train` as a real process (``python -m convlens``) and in-process."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from convlens.cli import main
from convlens.io import load_arrays

# two epochs of two batches: three checkpoint saves (at the start, after epoch 1, after epoch 2)
TINY = ["--limit-train", "32", "--limit-test", "10", "--batch-size", "16", "--epochs", "2"]
ROOT = Path(__file__).resolve().parents[1]


def spawn(args, env=None, cwd=None):
    """Start ``python -m convlens train ARGS`` with this checkout first on the path."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "convlens", "train", *args],
        env=full_env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_process(args, env=None, cwd=None, timeout=240):
    proc = spawn(args, env, cwd)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def train(*args):
    return CliRunner().invoke(main, ["train", *args])


def same_weights(a, b):
    a, b = load_arrays(a / "weights.npz"), load_arrays(b / "weights.npz")
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def listing(folder):
    return sorted(p.name for p in Path(folder).iterdir()) if Path(folder).exists() else None
