"""ResNet-50 from ONNX in `python -m benchmarks.run`: measured beside PyTorch and onnxruntime,
skipped with a message when a dependency is missing (timings never asserted)."""

import argparse
import sys

from benchmarks import run


def options(**overrides):
    values = dict(only=None, no_onnx=False, quick=True, threads=1)
    return argparse.Namespace(**{**values, **overrides})


def test_resnet50_rows_compare_the_three_libraries(monkeypatch, capsys):
    monkeypatch.setattr(run, "ONNX_IMAGE_SIZE", 32)  # the same network on small images: quick
    monkeypatch.setattr(run, "ONNX_WORKLOADS", run.ONNX_WORKLOADS[:1])  # batch 1 only
    rows = run.run_onnx_workloads(options())
    assert [r["workload"] for r in rows] == ["resnet50_onnx_infer_b1"]
    row = rows[0]
    assert row["ratio"] == row["convlens_ms"] / row["torch_ms"]
    assert row["ratio_vs_onnxruntime"] == row["convlens_ms"] / row["onnxruntime_ms"]
    assert row["relative_error_vs_onnxruntime"] < 1e-4  # convlens computed the same network
    assert "| resnet50_onnx_infer_b1 |" in capsys.readouterr().out
    report = run.markdown({"command": "c", "date": "d", "machine": "m", "threads": 1, "python": "3",
                           "numpy": "2", "convlens": "0"}, {"numpy": 1.0}, rows, [])
    assert "| resnet50_onnx_infer_b1 | " in report and "convlens / onnxruntime" in report


def test_a_missing_runtime_skips_with_a_message(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime raises ImportError
    assert run.run_onnx_workloads(options()) == []
    assert capsys.readouterr().out == (
        "ResNet-50 from ONNX skipped: onnxruntime not installed "
        '(pip install ".[test]" for the comparison with PyTorch and onnxruntime)\n')


def test_only_and_no_onnx_leave_it_out(capsys):
    assert run.run_onnx_workloads(options(only=["lenet5"])) == []
    assert run.run_onnx_workloads(options(no_onnx=True)) == []
    assert capsys.readouterr().out == ""
