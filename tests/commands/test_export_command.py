"""``convlens export``: zoo models and model files to ONNX, checked with onnxruntime; bad
arguments get one line, not a traceback."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
from click.testing import CliRunner

import convlens as cl
from convlens.cli import main


def run(*args):
    return CliRunner().invoke(main, list(map(str, args)))


def test_zoo_model_to_onnx(tmp_path):
    out = tmp_path / "lenet.onnx"
    result = run("export", "lenet5", "--format", "onnx", "--out", out)
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((5, 1, 28, 28)).astype(np.float32)
    assert session.run(None, {"input": x})[0].shape == (5, 10)  # the batch axis is dynamic


def test_a_model_file_is_read_and_written_again(tmp_path):
    model = cl.models.get_model("simple_cnn").eval()
    first = cl.export_onnx(model, tmp_path / "a.onnx", input_shape=(1, 28, 28))
    result = run("export", first, "--out", tmp_path / "b.onnx", "--opset", 13)
    assert result.exit_code == 0, result.output
    x = np.random.default_rng(1).standard_normal((2, 1, 28, 28)).astype(np.float32)
    y = ort.InferenceSession(str(tmp_path / "b.onnx")).run(None, {"input": x})[0]
    np.testing.assert_allclose(y, model(x), rtol=1e-5, atol=1e-6)


def test_a_run_folder_exports_with_the_input_shape_it_records(tmp_path, monkeypatch):
    model = cl.models.get_model("lenet5").eval()
    run_dir = tmp_path / "runs" / "my-run"
    cl.save(model, run_dir / "model.convlens", input_shape=(1, 28, 28))
    monkeypatch.chdir(tmp_path)
    result = run("export", run_dir, "--format", "onnx")
    assert result.exit_code == 0, result.output
    x = np.random.default_rng(2).standard_normal((3, 1, 28, 28)).astype(np.float32)
    y = ort.InferenceSession(str(tmp_path / "my-run.onnx")).run(None, {"input": x})[0]
    np.testing.assert_allclose(y, model(x), rtol=1e-5, atol=1e-6)


def test_default_output_name_and_input_shape(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("export", "cnn1d", "--input-shape", "1,40")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cnn1d.onnx").is_file()


def test_errors_are_one_line():
    result = run("export", "no_such_model")
    assert result.exit_code == 2
    assert "expected a model file, a run folder or a zoo model" in result.output
    assert "Traceback" not in result.output
    result = run("export", "cnn1d")  # the default 1,28,28 does not fit a 1-D model
    assert result.exit_code == 2
    assert "Invalid value for --input-shape: cnn1d takes inputs of 2 sizes (C,L, no batch axis)" in result.output
    assert "Traceback" not in result.output
