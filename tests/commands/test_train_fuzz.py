"""Fuzzing `convlens train`'s options: every bad value of every option, alone and in generated
combinations. Each must end with exit code 2 (usage) or 1 (failure), an ``Error:`` line naming
the option, no traceback, and no file created; nothing may start training."""

import random

import pytest
from click.testing import CliRunner

from convlens.cli import main

# valid settings that make anything wrongly accepted finish in a second (and fail the test)
BASE = ["--limit-train", "16", "--limit-test", "8", "--epochs", "1", "--batch-size", "16"]
NOT_NUMBERS = ["nan", "NaN", "inf", "-inf", "1e309", "abc", "", "1,5", "0x10", "--"]


def _bad_values(tmp):
    """{option: [bad values]}; ``tmp`` holds a file and an existing run for the path options."""
    int_bad = ["-1", "0", "1.5", "99999999999999999999", *NOT_NUMBERS]
    unit_bad = ["-0.1", "1", "1.5", *NOT_NUMBERS]
    return {
        "--epochs": int_bad,
        "--batch-size": int_bad,
        "--limit-train": int_bad,
        "--limit-test": int_bad,
        "--early-stopping": int_bad,
        "--seed": ["-1", "4294967296", "1.5", *NOT_NUMBERS],
        "--lr": ["0", "-0.1", *NOT_NUMBERS],
        "--momentum": unit_bad,
        "--weight-decay": ["-1e-4", *NOT_NUMBERS],
        "--val-fraction": unit_bad,
        "--model": ["alexnet", "", "LENET5"],
        "--dataset": ["mnist-6k", "", "text:", "folder:/nonexistent/x"],
        "--optimizer": ["sgdd", ""],
        "--schedule": ["linear", ""],
        "--engine": ["gpu", ""],
        "--augment": ["bogus", "crop,bogus", ""],
        "--data-option": ["noequals", "=3"],
        "--data-dir": [str(tmp / "file")],
        "--out": [
            "/proc/convlens-x",
            str(tmp / "file" / "x"),
            str(tmp / "file"),
            str(tmp / "done"),
            "/sys/x",
        ],
        "--resume": [str(tmp / "nowhere"), str(tmp / "file"), str(tmp / "empty")],
        "--init-from": [str(tmp / "nowhere"), str(tmp / "empty"), str(tmp / "file")],
        "--freeze": ["0"],  # without --init-from
    }


@pytest.fixture
def place(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a default run folder would appear here
    (tmp_path / "file").write_text("not a folder")
    (tmp_path / "empty").mkdir()
    (tmp_path / "done").mkdir()
    (tmp_path / "done" / "metrics.json").write_text("{}")
    return tmp_path


def _snapshot(root):
    return sorted((str(p.relative_to(root)), p.stat().st_size) for p in root.rglob("*"))


def _check(args, root, before, names):
    result = CliRunner().invoke(main, ["train", *args])
    output = result.output
    assert result.exit_code in (1, 2), (args, output)
    assert isinstance(result.exception, SystemExit), (args, result.exception)  # nothing escaped
    assert "Traceback" not in output and "Error" in output, (args, output)
    assert any(name in output for name in names), (args, output)  # the message names an option
    assert _snapshot(root) == before, args  # no file created or changed


def test_every_bad_value_of_every_option_alone(place):
    before = _snapshot(place)
    for option, values in _bad_values(place).items():
        for value in values:
            _check([*BASE, option, value], place, before, [option, option.lstrip("-")])


def test_generated_combinations_of_bad_and_good_options(place):
    rng = random.Random(10)
    bad = _bad_values(place)
    good = {"--lr": "0.01", "--seed": "3", "--momentum": "0.5", "--val-fraction": "0.2", "--optimizer": "sgd"}
    before = _snapshot(place)
    for _ in range(150):
        chosen = rng.sample(sorted(bad), rng.randint(1, 3))
        pairs = [[option, rng.choice(bad[option])] for option in chosen]
        pairs += [[o, good[o]] for o in rng.sample(sorted(set(good) - set(chosen)), rng.randint(0, 2))]
        rng.shuffle(pairs)
        # the base settings first, so that no later value of the same option replaces a bad one
        base = [BASE[i : i + 2] for i in range(0, len(BASE), 2) if BASE[i] not in chosen]
        args = [a for pair in base + pairs for a in pair]
        names = [n for o in chosen for n in (o, o.lstrip("-"))] + ["--momentum", "--resume"]
        _check(args, place, before, names)


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--lr"], "Option '--lr' requires an argument"),
        (["--learning-rate", "0.1"], "No such option '--learning-rate'"),
        (["--epochs", "2", "extra"], "Got unexpected extra argument (extra)"),
        (["--lr", "nan"], "Invalid value for '--lr': expected a finite number, received 'nan'"),
        (["--momentum", "nan"], "Invalid value for '--momentum': expected a finite number, received 'nan'"),
        (
            ["--val-fraction", "nan"],
            "Invalid value for '--val-fraction': expected a finite number, received 'nan'",
        ),
        (
            ["--weight-decay", "inf"],
            "Invalid value for '--weight-decay': expected a finite number, received 'inf'",
        ),
        (["--seed", "-1"], "Invalid value for '--seed': -1 is not in the range 0<=x<=4294967295"),
        (
            ["--out", "/proc/x"],
            "Invalid value for --out: cannot create the run folder /proc/x: the file system at /proc",
        ),
        (
            ["--out", "/etc/passwd/x"],
            "Invalid value for --out: cannot create the run folder /etc/passwd/x: /etc/passwd is a file",
        ),
    ],
)
def test_messages_for_the_cases_of_issue_10(place, args, expected):
    result = CliRunner().invoke(main, ["train", *BASE, *args])
    assert result.exit_code == 2 and expected in result.output, result.output


def test_an_unexpected_error_is_one_line_and_leaves_no_folder(place, monkeypatch):
    from convlens.commands import train_setup

    def broken(settings):
        raise RuntimeError("a bug in a data loader")

    monkeypatch.setattr(train_setup, "load_data", broken)
    before = _snapshot(place)
    result = CliRunner().invoke(main, ["train", *BASE, "--out", str(place / "run")])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.output == "Error: a bug in a data loader\n"
    assert _snapshot(place) == before
