"""``text:PATH``: your own labelled text, one example per line: ``text<TAB>label``.

::

    text	label                         <- optional header (exactly these two words)
    what a wonderful film	positive
    a waste of two hours	negative

The label is what follows the line's *last* tab, so the text itself may hold tabs. Blank lines
are skipped; every other line needs a tab, a non-empty text and a non-empty label. The file is
UTF-8 (a byte-order mark is allowed). Labels are class names; the classes are their sorted
distinct values (whole numbers sort as numbers: ``"2"`` before ``"10"``).

``PATH`` is one file (a seeded split holds out ``test_fraction``, stratified by class) or a
folder holding ``train.tsv`` and ``test.tsv``. The texts are split into tokens (``tokens=
"words"``: on white space; ``"chars"``: every character), the vocabulary is built on the
training split only (test-only tokens become ``"<unk>"``), and every text becomes ``length``
token ids, truncated or padded with id 0 (see :mod:`convlens.data.tokens`). The result is a
token :class:`~convlens.data.Dataset`: ``(N, length)`` int64 ids and its ``vocabulary``, ready
for ``text_cnn(vocab_size=ds.vocab_size, num_classes=ds.num_classes)``.

From the command line the options go through ``--data-option``::

    convlens train --model text_cnn --dataset text:reviews.tsv --data-option tokens=chars

Every error names the file and the line: a line without a tab, an empty text or label, bytes
that are not UTF-8 (with the column), a file without examples, a test label training never saw.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from convlens.data.dataset import Dataset
from convlens.data.registry import register_source, source_files
from convlens.data.split import split_indices
from convlens.data.tokens import TOKENIZERS, build_vocabulary, encode, tokenize

FILES = ("train.tsv", "test.tsv")
HEADER = ("text", "label")


class TextFormatError(ValueError):
    """A text file that is not UTF-8 lines of ``text<TAB>label``; names the line."""


def read_utf8(path: Path) -> str:
    """The text of a UTF-8 file (a leading byte-order mark dropped).

    Raises:
        TextFormatError: bytes that are not UTF-8 (the message gives the line and byte column).
        FileNotFoundError: no such file.
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        number = data.count(b"\n", 0, err.start) + 1
        column = err.start - data.rfind(b"\n", 0, err.start)
        raise TextFormatError(
            f"{path}, line {number}, column {column}: not UTF-8 text (byte 0x{data[err.start]:02x}); "
            "save the file as UTF-8"
        ) from None


def read_text_lines(path: Path) -> list[tuple[int, str]]:
    """The non-blank lines of a UTF-8 file (:func:`read_utf8`) with their 1-based numbers."""
    lines = enumerate(read_utf8(path).split("\n"), start=1)
    return [(number, line.rstrip("\r")) for number, line in lines if line.strip()]


def read_labelled_text(path: Path) -> tuple[list[str], list[str], list[int]]:
    """The texts, their labels and their line numbers in a ``text<TAB>label`` file."""
    texts: list[str] = []
    labels: list[str] = []
    numbers: list[int] = []
    lines = read_text_lines(path)
    for i, (number, line) in enumerate(lines):
        text, tab, label = line.rpartition("\t")
        text, label = text.strip(), label.strip()
        if i == 0 and (text.lower(), label.lower()) == HEADER:
            continue
        if not tab:
            raise TextFormatError(
                f"{path}, line {number}: expected text<TAB>label, found no tab in {_clip(line)!r}"
            )
        if not label:
            raise TextFormatError(f"{path}, line {number}: missing label after the tab in {_clip(line)!r}")
        if not text:
            raise TextFormatError(f"{path}, line {number}: empty text before the tab (label {label!r})")
        texts.append(text)
        labels.append(label)
        numbers.append(number)
    if not texts:
        raise TextFormatError(f"{path}: no examples (expected UTF-8 lines of text<TAB>label)")
    return texts, labels, numbers


def _clip(line: str, width: int = 60) -> str:
    return line if len(line) <= width else line[: width - 1] + "…"


def class_order(labels: list[str]) -> tuple[str, ...]:
    """The sorted distinct labels; whole numbers sort as numbers, before any word."""

    def key(label: str) -> tuple[int, int, str]:
        number = label.isascii() and label.isdigit()
        return (0, int(label), label) if number else (1, 0, label)

    return tuple(sorted(set(labels), key=key))


def token_dataset(
    train: tuple[list[list[str]], np.ndarray],
    test: tuple[list[list[str]], np.ndarray],
    class_names: tuple[str, ...],
    name: str,
    description: str,
    length: int | None = None,
    min_count: int = 1,
) -> Dataset:
    """A token :class:`Dataset` from tokenized texts and labels: the vocabulary built on the
    training texts only, every text encoded to ``length`` ids (default: the longest training
    text)."""
    vocabulary = build_vocabulary(train[0], min_count)
    if length is None:
        length = max(1, max(len(tokens) for tokens in train[0]))
    return Dataset(
        encode(train[0], vocabulary, length),
        train[1],
        encode(test[0], vocabulary, length),
        test[1],
        class_names,
        name,
        description,
        vocabulary=vocabulary,
    )


@register_source(
    "text", "your labelled text: UTF-8 lines of text<TAB>label (or a folder with train.tsv, test.tsv)"
)
def load_text(
    path: Path,
    tokens: str = "words",
    length: int | None = None,
    lowercase: bool = False,
    min_count: int = 1,
    test_fraction: float = 0.2,
    split_seed: int = 0,
) -> Dataset:
    """Read ``text<TAB>label`` lines as ``(N, length)`` token ids with a vocabulary.

    Args:
        path: a UTF-8 file, or a folder holding ``train.tsv`` and ``test.tsv``.
        tokens: ``"words"`` (split on white space) or ``"chars"`` (every character).
        length: tokens per example (longer texts are cut, shorter ones padded with id 0);
            default: the longest training text.
        lowercase: lowercase every text first.
        min_count: training tokens seen fewer times become ``"<unk>"`` (id 1).
        test_fraction: share held out as the test set, for a single file.
        split_seed: seed of that split.
    """
    path = Path(path)
    if tokens not in TOKENIZERS:
        raise ValueError(f"expected tokens in {TOKENIZERS}, received {tokens!r}")
    files = source_files(path, FILES, "text")
    parts = [read_labelled_text(f) for f in files]
    class_names = class_order(parts[0][1])
    index = {name: k for k, name in enumerate(class_names)}
    for f, (_, labels, numbers) in zip(files[1:], parts[1:]):
        for label, number in zip(labels, numbers):
            if label not in index:
                raise TextFormatError(
                    f"{f}, line {number}: label {label!r} does not occur in {files[0].name}; "
                    f"its classes are {', '.join(class_names)}"
                )
    token_lists = [[tokenize(t.lower() if lowercase else t, tokens) for t in texts] for texts, _, _ in parts]
    targets = [np.asarray([index[label] for label in labels], dtype=np.int64) for _, labels, _ in parts]
    how = f"{tokens}{', lowercased' if lowercase else ''}"
    if len(files) == 1:
        try:
            train, test = split_indices(targets[0], test_fraction, split_seed)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None
        return token_dataset(
            ([token_lists[0][i] for i in train], targets[0][train]),
            ([token_lists[0][i] for i in test], targets[0][test]),
            class_names,
            path.stem,
            f"text from {path} as {how}; {test_fraction:g} held out with seed {split_seed}",
            length,
            min_count,
        )
    return token_dataset(
        (token_lists[0], targets[0]),
        (token_lists[1], targets[1]),
        class_names,
        path.name,
        f"text from {files[0]} and {files[1]} as {how}",
        length,
        min_count,
    )
