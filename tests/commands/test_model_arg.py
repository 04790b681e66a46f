"""Commands that take a MODEL accept a JSON model definition (a graph of the functional API)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import convlens as cl
from convlens.commands.inspect import explain, gradcheck, parity, summary
from convlens.io.definition import write_definition


@pytest.fixture
def definition(tmp_path):
    cl.manual_seed(0)
    x = cl.Input((1, 8, 8), name="image")
    left = cl.Conv2d(1, 2, 3, padding=1)(x, name="left")
    right = cl.Conv2d(1, 2, 1)(cl.MaxPool2d(3, stride=1, padding=1)(x, name="pool"), name="right")
    joined = cl.Concatenate()(left, right, name="joined")
    out = cl.Linear(4, 3)(cl.GlobalAvgPool2d()(cl.ReLU()(joined), name="gap"), name="fc")
    path = tmp_path / "branches.json"
    write_definition(cl.Graph(x, out), path)
    return str(path)


def test_summary_explain_gradcheck_parity_of_a_definition(definition):
    runner = CliRunner()
    result = runner.invoke(summary, [definition])                # input shape from the graph
    assert result.exit_code == 0, result.output
    joined = next(line for line in result.output.splitlines() if line.startswith("joined"))
    assert "left, right" in joined and "(1, 4, 8, 8)" in joined
    assert "Connected to" in result.output
    result = runner.invoke(explain, ["--model", definition, "--label", "1"])
    assert result.exit_code == 0, result.output
    assert "y = [left | right] joined along axis 1 (sizes 2 + 2)" in result.output
    result = runner.invoke(gradcheck, [definition])
    assert result.exit_code == 0, result.output
    assert "joined" in result.output and "input0" in result.output and "(ok," in result.output
    result = runner.invoke(parity, [definition, "--dtype", "float64"])
    assert result.exit_code == 0, result.output
    assert "left.weight grad" in result.output and result.output.rstrip().endswith("ok")


def test_a_bad_model_argument_is_one_message(tmp_path):
    runner = CliRunner()
    result = runner.invoke(summary, [str(tmp_path / "missing.json")])
    assert result.exit_code == 2 and "no model definition file" in result.output
    result = runner.invoke(summary, ["lenet"])
    assert "expected a zoo model (" in result.output and "or a model definition file" in result.output
    bad = tmp_path / "bad.json"
    bad.write_text('{"class": "Conv2d", "config": {"in_channels": 1}}')
    result = runner.invoke(summary, [str(bad)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "bad.json" in result.output and "out_channels" in result.output
