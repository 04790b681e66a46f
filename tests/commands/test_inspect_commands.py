"""`convlens summary | explain | gradcheck | parity`, run through click's test runner."""

import sys

import numpy as np
import pytest
from click.testing import CliRunner

import convlens
from convlens.commands.inspect import COMMANDS, explain, gradcheck, models, parity, summary
from convlens.gradcheck import GradcheckReport
from convlens.inspect.explain.numbers import fmt

G = 1 / (1 + np.exp(10.9))


@pytest.fixture
def runner():
    return CliRunner()


def test_commands_and_help(runner):
    assert [c.name for c in COMMANDS] == ["models", "summary", "explain", "gradcheck", "parity"]
    for command in COMMANDS:
        result = runner.invoke(command, ["--help"])
        assert result.exit_code == 0, result.output
        assert result.output.startswith(f"Usage: {command.name} [OPTIONS]")


def test_models_lists_every_zoo_entry_with_its_parameters_and_accuracy(runner):
    result = runner.invoke(models, [])
    assert result.exit_code == 0, result.output
    for name in convlens.models.available_models():
        entry = convlens.models.model_info(name)
        n = sum(p.size for p in convlens.models.get_model(name).parameters())
        assert f"{name}  ({n:,} parameters)" in result.output
        assert entry.expected and entry.source and f"expected: {entry.expected}" in result.output
    assert "lenet5  (61,706 parameters)" in result.output
    table = runner.invoke(models, ["--format", "markdown"]).output.splitlines()
    assert table[0].startswith("| model | parameters |")
    assert len(table) == 2 + len(convlens.models.available_models()) + 2  # a blank line, the note
    assert "| `seed_net` | 38,390 |" in table[2 + convlens.models.available_models().index("seed_net")]
    # "seed note 000" is a document, not a random seed: the listing says so under the table
    assert "seed note 000 ('CNN이란?', What is a CNN?)" in result.output
    for output in (result.output, "\n".join(table)):
        assert output.rstrip().endswith(
            "Seed notes 000-004: the five CNN study notes (Korean blog posts, study notes and lecture slides) "
            "that convlens was started from; README.md, 'The seed notes', lists them. Not random seeds: "
            "those are `convlens train --seed`.")


def test_summary(runner, tmp_path):
    result = runner.invoke(summary, ["seed_net", "--input-shape", "1,28,28"])
    assert result.exit_code == 0, result.output
    assert "Total params: 38,390 (38,250 weights + 140 biases)" in result.output
    assert "(1, 10, 24, 24)" in result.output
    lenet = runner.invoke(summary, ["lenet5"])
    assert "Total params: 61,706" in lenet.output
    out = tmp_path / "summary.md"
    written = runner.invoke(summary, ["lenet5", "--format", "markdown", "--out", str(out)])
    assert written.exit_code == 0 and written.output == f"wrote {out}\n"
    assert "| 0 | Conv2d | (1, 6, 28, 28) | 156 |" in out.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["summary.md"]  # no temporary file left
    text = runner.invoke(summary, ["text_cnn"])
    assert text.exit_code == 0, text.output
    assert "Input: (1, 24) int64" in text.output and "Embedding" in text.output
    assert "Input: (1, 40) int64" in runner.invoke(summary, ["text_cnn", "--input-shape", "40"]).output


def test_summary_bad_arguments(runner):
    text = runner.invoke(summary, ["text_cnn", "--input-shape", "1,28,28"])
    assert text.exit_code == 2
    assert "text_cnn reads token ids: expected one size L (the sequence length, e.g. 24), received 1,28,28" in text.output
    bad = runner.invoke(summary, ["lenet5", "--input-shape", "1,a,28"])
    assert bad.exit_code == 2 and "comma-separated sizes" in bad.output
    small = runner.invoke(summary, ["lenet5", "--input-shape", "1,8,8"])
    assert small.exit_code == 1 and "does not fit" in small.output
    unknown = runner.invoke(summary, ["resnet999"])
    assert unknown.exit_code == 2 and "lenet5" in unknown.output


def test_explain_default_is_seed_004(runner):
    result = runner.invoke(explain, [])
    assert result.exit_code == 0, result.output
    text = result.output
    assert "[[ 5,  7],\n     [11, 10]]" in text
    assert "max 11 at input (1, 0) bottom-left" in text
    assert "[[ 5.6, -5.3]]" in text and fmt(G) in text
    assert f"1 − 0.1·({fmt(-G)}) = 1.00000185" in text


def test_explain_formats_language_and_out(runner, tmp_path):
    out = tmp_path / "step.html"
    result = runner.invoke(explain, ["--lang", "ko", "--format", "html", "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "순전파" in page and "역전파" in page
    md = runner.invoke(explain, ["--format", "markdown"])
    assert md.output.startswith("# One training step")


def test_explain_optimizers(runner):
    adam = runner.invoke(explain, ["--optimizer", "adam", "--lr", "0.01"])
    assert adam.exit_code == 0 and "optimizer state exp_avg_sq" in adam.output
    momentum = runner.invoke(explain, ["--momentum", "0.9"])
    assert "optimizer state momentum_buffer" in momentum.output
    wrong = runner.invoke(explain, ["--optimizer", "adam", "--momentum", "0.9"])
    assert wrong.exit_code == 2 and "sgd only" in wrong.output


def test_explain_zoo_model(runner, tmp_path):
    result = runner.invoke(explain, ["--model", "simple_cnn", "--label", "7", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "target [7]" in result.output
    assert "5,408 dot products of 9 terms each (8 filters × 676 positions)" in result.output
    assert len(result.output) < 30_000
    image = tmp_path / "digit.npy"
    np.save(image, np.zeros((1, 28, 28), np.float32))
    real = runner.invoke(explain, ["--model", "simple_cnn", "--input", str(image), "--label", "1"])
    assert real.exit_code == 0 and "min 0, max 0, mean 0" in real.output
    bad = runner.invoke(explain, ["--model", "simple_cnn", "--label", "12"])
    assert bad.exit_code == 2 and "10 classes" in bad.output
    stray = runner.invoke(explain, ["--label", "1"])
    assert stray.exit_code == 2 and "go with --model" in stray.output


def test_gradcheck(runner):
    refused = runner.invoke(gradcheck, ["text_cnn"])
    assert refused.exit_code == 1
    assert "text_cnn reads integer token ids, so `convlens gradcheck` cannot feed it random float inputs" in refused.output
    result = runner.invoke(gradcheck, ["seed_net", "--max-checks", "5"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["layer", "type", "tensor", "checked", "relative", "error"]
    rows = [line.split() for line in lines[1:-1]]
    assert [(r[0], r[2]) for r in rows][:3] == [("0", "input"), ("0", "weight"), ("0", "bias")]
    assert all(float(r[4]) < 1e-6 for r in rows)
    assert lines[-1].startswith("largest relative error") and "(ok," in lines[-1]


def test_gradcheck_reports_failure(runner, monkeypatch):
    def broken(layer, x, **kwargs):
        return GradcheckReport({"input": 0.5}, {"input": 5})

    monkeypatch.setattr(convlens, "gradcheck", broken)
    result = runner.invoke(gradcheck, ["simple_cnn", "--max-checks", "2"])
    assert result.exit_code == 1
    assert "FAILED" in result.output.splitlines()[1]


def test_parity(runner, monkeypatch):
    result = runner.invoke(parity, ["lenet5"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "ok"
    diffs = [float(line.split()[-2]) for line in result.output.splitlines()
             if line.endswith(tuple("0123456789")) and " grad" in line]
    assert len(diffs) == 1 + 10 and max(diffs) <= 1e-5  # input grad + 10 parameters
    monkeypatch.setitem(sys.modules, "torch", None)
    missing = runner.invoke(parity, ["lenet5"])
    assert missing.exit_code == 1 and "pip install torch" in missing.output


def test_options_are_validated_before_any_work(runner, monkeypatch):
    import convlens.inspect.summary as summary_module

    tol = runner.invoke(gradcheck, ["lenet5", "--tol", "nan"])
    assert tol.exit_code == 2 and "'--tol': expected a finite number, received 'nan'" in tol.output
    assert runner.invoke(parity, ["lenet5", "--tol", "inf"]).exit_code == 2
    seed = runner.invoke(explain, ["--model", "lenet5", "--seed", "-1"])
    assert seed.exit_code == 2 and "-1 is not in the range 0<=x<=4294967295" in seed.output
    monkeypatch.setattr(summary_module, "available_memory", lambda: 8 * 2**30)
    huge = runner.invoke(summary, ["lenet5", "--input-shape", "1,20000,20000"])
    assert huge.exit_code == 2, huge.output
    assert "1,20000,20000 with batch size 1 would need about" in huge.output
    assert "GiB of memory, more than half of the 8.0 GiB available" in huge.output.replace("\n", " ")
    rank = runner.invoke(gradcheck, ["lenet5", "--input-shape", "28,28"])
    assert rank.exit_code == 2
    assert "lenet5 takes inputs of 3 sizes (C,H,W, no batch axis), received 28,28" in rank.output


def test_summary_takes_the_batch_axis_and_names_the_model_not_python(runner):
    with_batch = runner.invoke(summary, ["lenet5", "--input-shape", "4,1,28,28"])
    assert with_batch.exit_code == 0, with_batch.output
    assert "Input: (4, 1, 28, 28)" in with_batch.output
    both = runner.invoke(summary, ["lenet5", "--input-shape", "4,1,28,28", "--batch-size", "2"])
    assert both.exit_code == 2 and "starts with the batch size 4, but --batch-size 2" in both.output
    small = runner.invoke(summary, ["lenet5", "--input-shape", "1,20,20"])
    assert small.exit_code == 1
    assert "lenet5 cannot take the input size (1, 20, 20): it fails at layer '7' (Linear)" in small.output
    assert "x[None]" not in small.output and "Traceback" not in small.output


@pytest.mark.parametrize("make, message", [
    (lambda f: np.savez(f, x=np.zeros((1, 28, 28))), "is an .npz archive (x): save the one array with np.save"),
    (lambda f: f.write(bytes(range(256)) * 3), "is not a NumPy file (it does not start with the .npy "
                                               "signature)"),
    (lambda f: np.save(f, np.full((1, 28, 28), "a")), "holds an array of dtype <U1 with shape (1, 28, 28)"),
    (lambda f: np.save(f, np.array([1, "a"], dtype=object), allow_pickle=True),
     "it holds Python objects (pickled data), which convlens never loads"),
    (lambda f: np.save(f, np.zeros((28, 28))), "holds an array of shape (28, 28)"),
    (lambda f: np.save(f, np.full((1, 28, 28), np.nan)), "holds NaN or infinite values"),
])
def test_explain_input_that_is_not_a_real_array_is_refused(runner, tmp_path, make, message):
    path = tmp_path / "input.npy"  # whatever it holds, named as the option asks
    with open(path, "wb") as handle:
        make(handle)
    result = runner.invoke(explain, ["--model", "lenet5", "--input", str(path)])
    assert result.exit_code == 2, result.output
    assert message in result.output.replace("\n", " ")
    assert "Traceback" not in result.output


@pytest.mark.parametrize("name, first_conv", [("cnn1d", "(1, 64, 40)      320"),
                                              ("cnn3d", "(1, 16, 16, 20, 20)     432")])
def test_zoo_models_of_signals_and_volumes_get_their_own_input_without_input_shape(runner, name, first_conv):
    # before: 1,28,28 for every zoo model: summary read it as one 28-channel signal of cnn1d
    # (a first Conv1d of 8,960 parameters), gradcheck refused an option nobody gave
    result = runner.invoke(summary, [name])
    assert result.exit_code == 0, result.output
    assert first_conv in result.output
    result = runner.invoke(gradcheck, [name, "--max-checks", "2"])
    assert result.exit_code == 0 and "Invalid value" not in result.output, result.output
    assert "largest relative error" in result.output
