"""``csv:PATH``: your own 1D sequences, one per line: ``value, value, ..., label``.

::

    t0,t1,t2,t3,label        <- optional header (detected: no field is a number)
    0.1,0.5,0.9,0.4,3
    0.0,0.2,0.1,0.0,1

Every line holds the same number of fields; the last one is the label. Blank lines and lines
starting with ``#`` are skipped. Labels may be whole numbers (class ``k`` is named ``"k"``)
or words (class names are the sorted distinct words). With ``task="regression"`` the last
field is a real-valued target instead.

``PATH`` may be one file (a seeded split holds out ``test_fraction``, stratified by class) or a
folder holding ``train.csv`` and ``test.csv``. The result is ``(N, 1, L)`` float32.

Every error names the file, the line and, for a bad value, the field: a ragged row, a value
that is not a number (on the first line too: a line with a malformed number such as ``0.1.2``
beside numbers is a broken data line, not a header), a non-finite value (``nan``, ``inf``), a
NUL byte, a label that is not a whole number or too large to be a class index. With
``header="auto"`` a first line is a header only when none of its fields is a number; the
description of the data set says which choice was made.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import NamedTuple

import numpy as np

from convlens.data.dataset import MAX_CLASSES, Dataset, check_class_count
from convlens.data.registry import register_source, source_files

TASKS = ("classification", "binary", "regression")
HEADER = ("auto", True, False)


class CSVFormatError(ValueError):
    """A CSV file does not have the expected ``values..., label`` shape; names the line."""


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


class CSVRows(NamedTuple):
    """What :func:`read_csv_rows` read: values, label fields, line numbers, and the header
    line it skipped (None when the first line was data)."""

    values: np.ndarray
    labels: list[str]
    lines: list[int]
    header: tuple[str, ...] | None = None


def read_csv_rows(path: Path, header: str | bool = "auto", delimiter: str = ",") -> CSVRows:
    """The values ``(N, L)`` float32, the label fields as text, each row's line number and the
    header line skipped, if any (``"auto"``: a first line none of whose fields is a number).

    Raises:
        CSVFormatError: ragged rows, non-numeric or non-finite values (on any line, the first
            included), NUL bytes, fewer than two fields, no data at all, text that is not UTF-8.
    """
    if header not in HEADER:
        raise ValueError(f"expected header in {HEADER}, received {header!r}")
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '"\r\n':
        raise ValueError(f"expected delimiter to be one character such as ',' or ';', received {delimiter!r}")
    rows: list[list[float]] = []
    labels: list[str] = []
    lines: list[int] = []
    width: int | None = None
    first_line = 0
    seen_first = False
    skipped: tuple[str, ...] | None = None
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            for fields in reader:
                line = reader.line_num
                if not fields or all(not f.strip() for f in fields) or fields[0].lstrip().startswith("#"):
                    continue
                fields = [f.strip() for f in fields]
                if any("\0" in f for f in fields):
                    column = next(i for i, f in enumerate(fields, start=1) if "\0" in f)
                    raise CSVFormatError(f"{path}, line {line}, field {column}: expected text, received "
                                         f"a NUL byte in {fields[column - 1]!r} (is this a binary file?)")
                if not seen_first:
                    seen_first = True
                    if header is True or (header == "auto" and all(_number(f) is None for f in fields)):
                        skipped = tuple(fields)
                        continue
                _data_row(path, line, fields, width, first_line, rows, labels, lines)
                if width is None:
                    width, first_line = len(fields), line
    except UnicodeDecodeError as err:
        raise CSVFormatError(f"{path}: expected UTF-8 text, received byte 0x{err.object[err.start]:02x} "
                             f"at byte {err.start} (is this a binary file?)") from None
    except csv.Error as err:
        raise CSVFormatError(f"{path}: not a readable CSV file ({err})") from None
    if not rows:
        raise CSVFormatError(f"{path}: no data lines (expected lines of values..., label)")
    return CSVRows(np.asarray(rows, dtype=np.float32), labels, lines, skipped)


def _data_row(path: Path, line: int, fields: list[str], width: int | None, first_line: int,
              rows: list[list[float]], labels: list[str], lines: list[int]) -> None:
    """Check one data line (``values..., label``) against the first one and append it."""
    if width is None and len(fields) < 2:
        raise CSVFormatError(f"{path}, line {line}: expected at least two fields (values..., label), "
                             f"received {len(fields)}")
    if width is not None and len(fields) != width:
        raise CSVFormatError(
            f"{path}, line {line}: expected {width} fields ({width - 1} values and a label, as on "
            f"line {first_line}), received {len(fields)}")
    row = []
    for column, text in enumerate(fields[:-1], start=1):
        value = _number(text)
        if value is None:
            hint = (" (a header line has no number in any field; pass header=True if this line is "
                    "one)" if not rows else "")
            raise CSVFormatError(f"{path}, line {line}, field {column}: expected a number, received "
                                 f"{text!r}{hint}")
        if not math.isfinite(value):
            raise CSVFormatError(
                f"{path}, line {line}, field {column}: expected a finite number, received {text!r}")
        row.append(value)
    rows.append(row)
    labels.append(fields[-1])
    lines.append(line)


def _targets(path: Path, labels: list[str], lines: list[int], task: str) -> np.ndarray:
    values = [_number(text) for text in labels]
    if task == "regression":
        for text, value, line in zip(labels, values, lines):
            if value is None or not math.isfinite(value):
                raise CSVFormatError(
                    f"{path}, line {line}: expected a finite real-valued target in the last field, "
                    f"received {text!r}"
                )
        return np.asarray(values, dtype=np.float32)
    for text, value, line in zip(labels, values, lines):
        if value is not None and not value.is_integer():
            raise CSVFormatError(
                f"{path}, line {line}: label {text!r} is not a whole number; real-valued targets need "
                "task='regression'"
            )
        if value is not None and value < 0:
            raise CSVFormatError(
                f"{path}, line {line}: label {text!r} is negative; expected class indices 0, 1, ..."
            )
        if value is not None and value >= MAX_CLASSES:
            check_class_count(int(value), f"{path}, line {line}")
    return np.asarray([int(v) for v in values], dtype=np.int64)  # type: ignore[arg-type]


def _encode(
    path: Path, parts: list[tuple[list[str], list[int]]], task: str
) -> tuple[list[np.ndarray], tuple[str, ...]]:
    """Labels of every part as arrays, and the class names (none for regression)."""
    all_labels = [text for labels, _ in parts for text in labels]
    if task != "regression" and any(_number(text) is None for text in all_labels):
        distinct = set(all_labels)
        if len(distinct) > MAX_CLASSES:
            raise CSVFormatError(f"{path}: {len(distinct):,} distinct labels; expected at most "
                                 f"{MAX_CLASSES:,} classes")
        names = tuple(sorted(distinct))  # words: classes are the sorted distinct labels
        index = {name: k for k, name in enumerate(names)}
        return [np.asarray([index[t] for t in labels], dtype=np.int64) for labels, _ in parts], names
    targets = [_targets(path, labels, lines, task) for labels, lines in parts]
    if task == "regression":
        return targets, ()
    top = max(int(t.max()) for t in targets if t.size)
    if task == "binary" and top > 1:
        raise CSVFormatError(f"{path}: a binary task expects labels 0 and 1, received labels up to {top}")
    return targets, tuple(str(k) for k in range(2 if task == "binary" else check_class_count(top, str(path))))


@register_source(
    "csv", "your 1D sequences: a CSV of values..., label per line (or a folder with train.csv, test.csv)"
)
def load_csv(
    path: Path,
    task: str = "classification",
    test_fraction: float = 0.2,
    split_seed: int = 0,
    header: str | bool = "auto",
    delimiter: str = ",",
) -> Dataset:
    """Read sequences from a CSV file (or ``train.csv`` + ``test.csv``) as ``(N, 1, L)`` signals.

    Args:
        path: a ``.csv`` file, or a folder holding ``train.csv`` and ``test.csv``.
        task: ``"classification"``, ``"binary"`` (labels 0/1) or ``"regression"``.
        test_fraction: share held out as the test set, for a single file.
        split_seed: seed of that split.
        header: ``"auto"`` (a first line none of whose fields is a number is a header; the
            description says whether one was found), ``True``, ``False``.
        delimiter: the field separator.
    """
    path = Path(path)
    if task not in TASKS:
        raise ValueError(f"expected task in {TASKS}, received {task!r}")
    files = source_files(path, ("train.csv", "test.csv"), "CSV")
    read = [read_csv_rows(f, header, delimiter) for f in files]
    if len(read) == 2 and read[0].values.shape[1] != read[1].values.shape[1]:
        raise CSVFormatError(
            f"{path}: train.csv holds sequences of length {read[0].values.shape[1]}, "
            f"test.csv of length {read[1].values.shape[1]}; expected one length"
        )
    targets, class_names = _encode(files[0], [(r.labels, r.lines) for r in read], task)
    signals = [r.values[:, None, :] for r in read]
    length = signals[0].shape[2]
    headers = "; ".join(f"line 1 of {f.name} read as a header ({', '.join(r.header)})" if r.header
                        else f"no header in {f.name}" for f, r in zip(files, read))
    if len(files) == 1:
        return Dataset.from_arrays(
            signals[0],
            targets[0],
            name=path.stem,
            class_names=class_names,
            task=task,
            test_fraction=test_fraction,
            seed=split_seed,
            description=(
                f"sequences of length {length} from {path}; {test_fraction:g} held out with seed "
                f"{split_seed}; {headers}"
            ),
        )
    return Dataset(
        signals[0],
        targets[0],
        signals[1],
        targets[1],
        class_names,
        path.name,
        f"sequences of length {length} from {files[0]} and {files[1]}; {headers}",
        task,
    )
