"""Cases from an independent bad-input sweep (issue 10's "Done when") that failed before their
fix: each must now give one documented exception (or, on the command line, one message and exit
status 1 or 2, never a traceback), naming what was expected and what was received.

The sweep itself (about 900 argument lists and API calls, run as a new user would) is described
in the QA report; only the cases that once failed are kept here, so this file stays fast."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import convlens as cl
from convlens.io.formats import FormatError

# -- API: numbers that float() quietly accepts but a layer cannot use ---------------------------


@pytest.mark.parametrize("build, name", [
    (lambda v: cl.LeakyReLU(v), "negative_slope"),
    (lambda v: cl.ELU(v), "alpha"),
    (lambda v: cl.HardSigmoid(alpha=v), "alpha"),
    (lambda v: cl.HardSigmoid(beta=v), "beta"),
    (lambda v: cl.SELU(alpha=v), "alpha"),
    (lambda v: cl.SELU(scale=v), "scale"),
    (lambda v: cl.PReLU(init=v), "init"),
    (lambda v: cl.Hardtanh(min_val=v), "min_val"),
])
@pytest.mark.parametrize("value", [math.nan, "3", True, None, [0.1]])
def test_activation_parameters_refuse_what_is_not_a_real_number(build, name, value):
    with pytest.raises(ValueError, match=rf"{name} must be a .*real number.*received {re.escape(repr(value))}"):
        build(value)


def test_activation_parameters_still_take_numbers_and_clip_bounds_may_be_infinite():
    assert cl.LeakyReLU(np.float64(0.2)).negative_slope == 0.2
    assert cl.ELU(np.array(2)).alpha == 2.0
    layer = cl.Hardtanh(-math.inf, math.inf)  # an ONNX Clip without bounds imports as this
    assert (layer.min_val, layer.max_val) == (-math.inf, math.inf)
    with pytest.raises(ValueError, match="ELU: alpha must be a finite real number, received inf"):
        cl.ELU(math.inf)


# -- API: cl.Input shapes ------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1.5, 2), ("3",), (2.0, 3)])
def test_input_refuses_sizes_that_are_not_integers_instead_of_truncating(shape):
    with pytest.raises(TypeError, match=r"Input expects a shape .* received \("):
        cl.Input(shape)


def test_input_takes_numpy_integers():
    assert cl.Input((np.int64(3), 4)).shape == (3, 4)


# -- API: cl.from_onnx on a file whose name makes onnx parse it as text ------------------------


@pytest.mark.parametrize("suffix, text", [(".json", '{"class": '), (".json", '{"class": "Linear"}'),
                                          (".json", "[1, 2]"), (".txt", "not a proto {")])
def test_from_onnx_on_a_json_or_text_file_is_a_format_error(tmp_path, suffix, text):
    pytest.importorskip("onnx")
    path = tmp_path / f"model{suffix}"
    path.write_text(text)
    with pytest.raises(FormatError, match=r"model\.(json|txt)' is not a readable ONNX model"):
        cl.from_onnx(path)


# -- API: cl.predict and cl.export_onnx arguments ------------------------------------------------


@pytest.mark.parametrize("model", [None, "lenet5", 3])
def test_predict_refuses_what_is_not_a_model(model):
    with pytest.raises(TypeError, match=r"predict expects a convlens model \(a Module.*received "):
        cl.predict(model, np.zeros((1, 28, 28), np.float32))


@pytest.mark.parametrize("shape", [(-1, 28, 28), (1, 28.5, 28), "1,28,28", ()])
def test_export_onnx_refuses_input_shapes_that_are_not_positive_integers(tmp_path, shape):
    pytest.importorskip("onnx")
    path = tmp_path / "model.onnx"
    with pytest.raises(ValueError, match=r"expected input_shape a tuple of positive integer sizes.*received "):
        cl.export_onnx(cl.models.get_model("lenet5"), path, input_shape=shape)
    assert not path.exists()


# -- command line: a usage error is one message and exit status 2, never a traceback ------------


def _convlens(*argv: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    return subprocess.run([sys.executable, "-m", "convlens", *argv], capture_output=True, text=True,
                          env=env, timeout=120, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("value", ["nan", "inf", "0"])
def test_serve_refuses_a_max_upload_that_is_not_a_finite_size(value):
    # before: int(nan * 1024 * 1024) raised ValueError/OverflowError as a traceback
    result = _convlens("serve", "lenet5", "--max-upload-mb", value)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "--max-upload-mb': expected a" in result.stderr and repr(value) in result.stderr


@pytest.mark.parametrize("out", ["/proc/x", "/proc/self/status", "/etc/passwd/x", ""])
def test_export_refuses_an_unwritable_out_before_any_work(out):
    # before: FileNotFoundError / NotADirectoryError / OSError EBUSY tracebacks from atomic_write
    result = _convlens("export", "lenet5", "--out", out)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "Invalid value for --out" in result.stderr


def test_export_with_an_input_too_large_for_memory_is_one_message(tmp_path):
    # before: numpy's _ArrayMemoryError as a traceback
    # (200,000²: the input alone is 160 GB; at 20,000² only the convolution's 40 GB column
    # matrix was too large, and convolution no longer makes it whole)
    out = tmp_path / "big.onnx"
    result = _convlens("export", "lenet5", "--input-shape", "1,200000,200000", "--out", str(out))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "input size (1, 200000, 200000) needs more memory" in result.stderr
    assert not out.exists()


def test_atomic_write_never_replaces_a_device_or_a_folder_with_a_file(tmp_path):
    # before: as root, `export … --out /dev/null` replaced the device node /dev/null by a file
    from convlens.io import atomic_write

    with pytest.raises(OSError, match="not a regular file .* never replaces: '/dev/null'"):
        with atomic_write("/dev/null") as handle:
            handle.write(b"x")
    with pytest.raises(IsADirectoryError, match="Is a directory"):
        with atomic_write(tmp_path) as handle:
            handle.write(b"x")
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")
    assert list(tmp_path.iterdir()) == []
