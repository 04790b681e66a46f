"""README.md's code works as shown: every Python block runs (in order, in one session), prints
what the text says, and the test command is the one .ci/run runs."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```python\n(.*?)^```$", README, flags=re.S | re.M)


def run_in_order(folder: Path, monkeypatch) -> list[str]:
    """Run the blocks one after the other in one namespace, as a reader typing them into one
    session would (a later block may use what an earlier one made); returns what each printed."""
    monkeypatch.chdir(folder)
    namespace: dict[str, object] = {"__name__": "readme"}
    printed = []
    for block in BLOCKS:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block, "README.md", "exec"), namespace)
        printed.append(out.getvalue())
    return printed


def output_of(printed: list[str], line: str) -> str:
    """What the one block holding ``line`` printed."""
    (index,) = [i for i, block in enumerate(BLOCKS) if line in block]
    return printed[index]


def test_every_python_block_runs_and_prints_what_the_text_says(tmp_path, monkeypatch):
    assert len(BLOCKS) >= 3
    printed = run_in_order(tmp_path, monkeypatch)

    workflow = output_of(printed, "history = cl.fit(")
    accuracy = re.search(r"^test loss (\d\.\d{3}), accuracy (\d+\.\d)%$", workflow, flags=re.M)
    assert accuracy, workflow
    assert float(accuracy[2]) > 90  # README says 93.3 % (BLAS summation order may move it a little)
    assert (tmp_path / "lenet5-mnist-5k.npz").is_file()

    graph = output_of(printed, "inception = cl.Graph(")
    assert graph.strip() == "['branch1x1', 'branch3x3', 'branch5x5', 'branch_pool'] (5, 5)"

    trainer = output_of(printed, "trainer.load_checkpoint()")
    epochs = re.findall(r"^epoch (\d): val_loss \d\.\d{4}, val_accuracy (\d+\.\d)%$", trainer, flags=re.M)
    assert [e for e, _ in epochs] == ["1", "2"] and float(epochs[-1][1]) > 85
    lines = trainer.splitlines()
    assert "completed 2" in lines and lines[-1] == "2"
    assert len((tmp_path / "log.csv").read_text().splitlines()) == 3  # header + 2 epochs
    assert (tmp_path / "checkpoint.npz").is_file() and not (tmp_path / "checkpoint.json").exists()  # one file
    assert output_of(printed, 'cl.load("lenet5.onnx")') == "0 Conv2d\n61706 (1, 6, 28, 28)\n"

    keep = output_of(printed, "replace_head(tuned, num_classes=2)").splitlines()
    assert keep[0] == "(1, 28, 28) light-on-dark"
    assert keep[1] == ("0 True inverted: the picture has a light background and the model was trained on "
                       "light-on-dark pictures (mnist-5k)")  # test digit 0 is a 0
    assert keep[2:4] == ["11", "['0', '1', '2', '3', '4', '5']"]
    odd_or_even = re.fullmatch(r"odd or even: (\d+\.\d)%", keep[-2])
    assert odd_or_even and float(odd_or_even[1]) > 90, keep  # README says 97.3 %
    assert keep[-1] == "True"  # the frozen first convolution did not move
    assert (tmp_path / "digits.convlens").is_file()
    assert output_of(printed, 'cl.load("small.keras")').endswith("\n13610\n")  # Keras's own count


def test_the_test_command_is_the_one_ci_runs():
    (command,) = re.findall(r'^(pip install "\.\[test\]" && python -m pytest.*)$', README, flags=re.M)
    ci = (ROOT / ".ci" / "run").read_text()
    assert f"TEST_COMMAND='{command}'" in ci


def test_seed_notes_are_explained_before_they_are_named():
    first = re.search(r"[Ss]eed notes?\b(?! \(the| compute)", README)
    assert first and README.index("## The seed notes") <= first.start(), README[first.start() - 80:first.end()]
    assert not re.search(r"\bseeds? \d{3}\b", README)  # never a bare "seed 004": a note, or a random seed


def test_every_link_to_a_section_finds_its_heading():
    def anchor(heading: str) -> str:  # GitHub's rule: lower case, punctuation dropped, spaces to -
        return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")

    headings = {anchor(h) for h in re.findall(r"^#{2,3} (.+)$", README, flags=re.M)}
    links = set(re.findall(r"\]\(#([^)]+)\)", README))
    assert len(links) >= 10 and links <= headings, links - headings
