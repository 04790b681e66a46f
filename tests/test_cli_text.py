"""`convlens train` on token ids: text_cnn on words-lang (small stand-in word lists) and on a
text:FILE, --data-option, and the options that do not apply to tokens."""

import json

import pytest
from click.testing import CliRunner
from word_lists import write_word_lists

from convlens.cli import main

WORDS = ["--dataset", "words-lang", "--data-option", "train_per_language=50", "--data-option",
         "test_per_language=10"]


def _train(*args):
    return CliRunner().invoke(main, ["train", *args])


@pytest.fixture(scope="module")
def dict_dir(tmp_path_factory):
    return write_word_lists(tmp_path_factory.mktemp("dict"), per_language=80)


@pytest.fixture(scope="module")
def text_run(tmp_path_factory, dict_dir):
    out = tmp_path_factory.mktemp("runs") / "words"
    result = _train("--model", "text_cnn", *WORDS, "--data-dir", str(dict_dir), "--epochs", "4",
                    "--optimizer", "adam", "--lr", "0.01", "--out", str(out))
    assert result.exit_code == 0, result.output
    return out, result.output


def test_text_cnn_trains_on_words_lang_end_to_end(text_run):
    out, output = text_run
    assert "words-lang: 350 train / 70 test tokens of 24 (vocabulary of" in output
    config = json.loads((out / "config.json").read_text())
    assert config["vocab_size"] == len(config["vocabulary"]) and config["vocabulary"][:2] == ["<pad>", "<unk>"]
    assert config["num_classes"] == 7 and config["input_shape"] == [24] and "in_channels" not in config
    assert config["data_option"] == ["train_per_language=50", "test_per_language=10"]
    assert "--data-option train_per_language=50 --data-option test_per_language=10" in config["command"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["test_accuracy"] > 0.5  # chance: 1/7
    assert len(metrics["test_confusion_matrix"]) == 7


def test_resume_reads_the_data_options_back(text_run):
    out, _ = text_run
    result = _train("--resume", str(out))
    assert result.exit_code == 0, result.output
    assert "350 train / 70 test tokens" in result.output
    assert f"nothing to resume: {out} finished all 4 epochs" in result.output


def test_limit_train_and_one_epoch(tmp_path, dict_dir):
    result = _train("--model", "text_cnn", *WORDS, "--data-dir", str(dict_dir), "--epochs", "1",
                    "--limit-train", "64", "--limit-test", "20", "--val-fraction", "0.25",
                    "--out", str(tmp_path / "run"))
    assert result.exit_code == 0, result.output
    assert "training on 48, following 16 held-out training examples each epoch" in result.output
    assert "test: loss" in result.output and "(20 examples;" in result.output


def test_your_own_text_file_by_characters(tmp_path):
    lines = [f"{w}\t{lab}" for lab, words in (("en", ["the", "which", "there"]), ("fr", ["les", "quelle", "où"]))
             for w in words] * 4
    (tmp_path / "w.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = _train("--model", "text_cnn", "--dataset", f"text:{tmp_path / 'w.tsv'}", "--data-option",
                    "tokens=chars", "--data-option", "length=8", "--epochs", "1", "--out", str(tmp_path / "run"))
    assert result.exit_code == 0, result.output
    assert "w: 19 train / 5 test tokens of 8 (vocabulary of" in result.output
    assert json.loads((tmp_path / "run" / "config.json").read_text())["num_classes"] == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "text_cnn", "--normalize"], "Invalid value for --normalize: words-lang holds token ids"),
        (["--model", "text_cnn", "--augment", "shift"],
         "Invalid value for --augment: no augmentations are defined for tokens (an id shifted"),
        (["--model", "lenet5"], "lenet5 reads channel-first arrays, but words-lang holds (N, 24) token ids: "
         "train a model that starts with an Embedding (text_cnn)"),
        (["--model", "text_cnn", "--data-option", "length"], "Invalid value for --data-option: expected KEY=VALUE"),
        (["--model", "text_cnn", "--data-option", "size=3"],
         "dataset 'words-lang' takes no option size; it accepts: train_per_language, test_per_language"),
    ],
)
def test_what_does_not_apply_to_tokens_stops_before_a_run_folder(tmp_path, dict_dir, args, message):
    out = tmp_path / "run"
    result = _train(*WORDS, "--data-dir", str(dict_dir), *args, "--out", str(out))
    assert result.exit_code == (2 if "Invalid value" in message else 1), result.output
    assert message in " ".join(result.output.split())
    assert not out.exists()


def test_a_text_model_on_images_is_explained(tmp_path):
    result = _train("--model", "text_cnn", "--limit-train", "32", "--out", str(tmp_path / "run"))
    assert result.exit_code == 1
    assert ("text_cnn reads token ids (N, L) through an Embedding, but mnist-5k holds images: choose a "
            "text dataset (words-lang, or text:FILE for your own)") in result.output
