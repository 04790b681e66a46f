"""`summary`, `explain` and `visualize` take a model definition, a .convlens file or a run folder
where they take a model."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import convlens as cl
from convlens.commands.inspect import explain, gradcheck, parity, summary
from convlens.commands.visualize import visualize
from convlens.layers.spec import to_spec

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "my_net.toml"


def _run(command, *args):
    return CliRunner().invoke(command, [str(a) for a in args])


def test_summary_of_a_definition_uses_its_input_shape():
    result = _run(summary, EXAMPLE)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("0 ") and "Conv2d" in line and "(1, 8, 28, 28)" in line for line in lines)
    assert any("Linear" in line and "(1, 10)" in line for line in lines)


def test_summary_of_a_model_file_and_of_a_run_folder(tmp_path):
    model = cl.models.get_model("cnn1d", num_classes=3)
    path = cl.save(model, tmp_path / "signals.convlens", input_shape=(1, 40))
    result = _run(summary, path)
    assert result.exit_code == 0, result.output
    assert "(1, 3)" in result.output and "Conv1d" in result.output
    run = tmp_path / "run"
    run.mkdir()
    cl.save(model, run / "model.convlens", input_shape=(1, 50))
    result = _run(summary, run, "--input-shape", "1,60")
    assert result.exit_code == 0 and "(1, 64, 60)" in result.output


def test_a_bad_model_argument_says_what_model_may_be(tmp_path):
    result = _run(summary, "lenet6")
    assert result.exit_code == 2
    assert ("expected a zoo model name, a model definition (.toml, .json), a .convlens model file or a run "
            "folder; received 'lenet6'") in result.output
    broken = tmp_path / "net.toml"
    broken.write_text('[[layers]]\ntype = "Conv2d"\nin_channels = 1\n')
    result = _run(summary, broken)
    assert result.exit_code == 1
    assert "net.toml: layer 0 (Conv2d): missing key 'out_channels'" in result.output
    assert "Traceback" not in result.output


def test_explain_a_model_file_feeds_the_input_shape_it_records(tmp_path):
    cl.manual_seed(0)
    small = cl.Sequential(cl.Conv2d(1, 2, 3), cl.ReLU(), cl.Flatten(), cl.Linear(2 * 10 * 10, 4))
    path = cl.save(small, tmp_path / "small.convlens", input_shape=(1, 12, 12))
    result = _run(explain, "--model", path, "--label", "3")
    assert result.exit_code == 0, result.output
    assert "input x of shape (1, 1, 12, 12); target [3]" in result.output


def test_visualize_a_model_file_puts_the_figures_beside_it(tmp_path):
    cl.manual_seed(0)
    model = cl.models.get_model("simple_cnn")
    path = cl.save(model, tmp_path / "digits.convlens", dataset="mnist-5k")
    result = _run(visualize, path, "--what", "filters", "--what", "curves")
    assert result.exit_code == 0, result.output
    assert "skipped curves: a model file holds no training history" in result.output
    written = sorted(p.name for p in (tmp_path / "digits-figures").iterdir())
    assert written == ["filters-layer-0.png", "filters-layer-3.png"]


# -- graph models ---------------------------------------------------------------------------------
@pytest.fixture
def graph_definition(tmp_path):
    cl.manual_seed(0)
    x = cl.Input((1, 8, 8), name="image")
    left = cl.Conv2d(1, 2, 3, padding=1)(x, name="left")
    right = cl.Conv2d(1, 2, 1)(cl.MaxPool2d(3, stride=1, padding=1)(x, name="pool"), name="right")
    joined = cl.Concatenate()(left, right, name="joined")
    out = cl.Linear(4, 3)(cl.GlobalAvgPool2d()(cl.ReLU()(joined), name="gap"), name="fc")
    path = tmp_path / "branches.json"               # a graph's spec is a model definition
    path.write_text(json.dumps(to_spec(cl.Graph(x, out))))
    return str(path)


def test_summary_explain_gradcheck_parity_of_a_graph_definition(graph_definition):
    definition = graph_definition
    runner = CliRunner()
    result = runner.invoke(summary, [definition])                # input shape from the graph
    assert result.exit_code == 0, result.output
    joined = next(line for line in result.output.splitlines() if line.startswith("joined"))
    assert "left, right" in joined and "(1, 4, 8, 8)" in joined
    assert "Connected to" in result.output
    result = runner.invoke(explain, ["--model", definition, "--label", "1"])
    assert result.exit_code == 0, result.output
    assert "y = [left | right] joined along axis 1 (sizes 2 + 2)" in result.output
    result = runner.invoke(explain, ["--model", definition, "--max-layers", "3"])
    assert result.exit_code == 0 and "The model makes 7 layer calls, more than 3" in result.output
    result = runner.invoke(gradcheck, [definition])
    assert result.exit_code == 0, result.output
    assert "joined" in result.output and "input0" in result.output and "(ok," in result.output
    result = runner.invoke(parity, [definition, "--dtype", "float64"])
    assert result.exit_code == 0, result.output
    assert "left.weight grad" in result.output and result.output.rstrip().endswith("ok")


def test_a_graph_definition_with_a_bad_layer_is_one_message(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"class": "Graph", "config": {
        "inputs": [{"name": "x", "shape": [1, 8, 8]}], "outputs": ["conv"],
        "nodes": [{"name": "conv", "layer": {"class": "Conv2d", "config": {"in_channels": 1}},
                   "inputs": ["x"]}]}}))
    result = CliRunner().invoke(summary, [str(bad)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "bad.json" in result.output and "out_channels" in result.output
