"""csv:PATH: values..., label per line; every error names its line."""

import numpy as np
import pytest

from convlens.data import load_dataset
from convlens.data.csv_signals import CSVFormatError, read_csv_rows


def _write(path, text):
    path.write_text(text)
    return path


def _rows(n=20, length=6, labels=None):
    rng = np.random.default_rng(0)
    values = rng.normal(size=(n, length)).round(4)
    labels = labels if labels is not None else [str(i % 3) for i in range(n)]
    return values, "".join(",".join(f"{v}" for v in row) + f",{lab}\n" for row, lab in zip(values, labels))


def test_reads_signals_with_a_header_and_splits_stratified(tmp_path):
    values, body = _rows(20, 6)
    path = _write(tmp_path / "ecg.csv", "t0,t1,t2,t3,t4,t5,label\n" + body)
    ds = load_dataset(f"csv:{path}", test_fraction=0.25)
    assert ds.x_train.shape == (15, 1, 6) and ds.x_test.shape == (5, 1, 6) and ds.kind == "signals"
    assert ds.class_names == ("0", "1", "2") and ds.name == "ecg"
    rows = {tuple(np.round(r, 4)) for r in np.concatenate([ds.x_train, ds.x_test])[:, 0].astype(np.float64)}
    assert rows == {tuple(np.float32(v).astype(np.float64).round(4) for v in row) for row in values}


def test_bare_csv_path_without_prefix(tmp_path, monkeypatch):
    _, body = _rows(10)
    _write(tmp_path / "s.csv", body)
    monkeypatch.chdir(tmp_path)
    assert load_dataset("s.csv").input_shape == (1, 6)


def test_word_labels_become_sorted_class_names(tmp_path):
    _, body = _rows(12, labels=["walk", "run", "sit"] * 4)
    ds = load_dataset(f"csv:{_write(tmp_path / 'a.csv', body)}")
    assert ds.class_names == ("run", "sit", "walk")


def test_blank_lines_and_comments_are_skipped(tmp_path):
    path = _write(tmp_path / "a.csv", "# recorded 2024\n1,2,0\n\n3,4,1\n  \n5,6,0\n7,8,1\n9,10,0\n")
    values, labels, lines, header = read_csv_rows(path)
    assert values.shape == (5, 2) and labels == ["0", "1", "0", "1", "0"] and lines == [2, 4, 6, 7, 8]
    assert header is None


def test_ragged_row_names_its_line(tmp_path):
    path = _write(tmp_path / "a.csv", "x,y,label\n1,2,0\n3,4,1\n5,0\n")
    with pytest.raises(
        CSVFormatError,
        match=r"a.csv, line 4: expected 3 fields \(2 values and a label, as on line 2\), received 2",
    ):
        load_dataset(f"csv:{path}")


def test_non_numeric_value_names_line_and_field(tmp_path):
    path = _write(tmp_path / "a.csv", "1,2,3,0\n4,five,6,1\n")
    with pytest.raises(CSVFormatError, match=r"a.csv, line 2, field 2: expected a number, received 'five'"):
        load_dataset(f"csv:{path}")


def test_non_finite_value_is_refused(tmp_path):
    path = _write(tmp_path / "a.csv", "1,2,0\n3,nan,1\n")
    with pytest.raises(CSVFormatError, match=r"line 2, field 2: expected a finite number, received 'nan'"):
        load_dataset(f"csv:{path}")


def test_fractional_label_asks_for_regression(tmp_path):
    path = _write(tmp_path / "a.csv", "1,2,0\n3,4,0.5\n")
    with pytest.raises(
        CSVFormatError, match=r"line 2: label '0.5' is not a whole number; .*task='regression'"
    ):
        load_dataset(f"csv:{path}")


def test_regression_targets(tmp_path):
    body = "".join(f"{i},{i + 1},{i / 10}\n" for i in range(10))
    ds = load_dataset(f"csv:{_write(tmp_path / 'r.csv', body)}", task="regression", test_fraction=0.3)
    assert ds.task == "regression" and ds.y_train.dtype == np.float32 and ds.class_names == ()
    np.testing.assert_allclose(ds.y_train, ds.x_train[:, 0, 0] / 10, rtol=1e-6)
    bad = _write(tmp_path / "bad.csv", "1,2,0.1\n3,4,high\n")
    with pytest.raises(
        CSVFormatError, match=r"line 2: expected a finite real-valued target .* received 'high'"
    ):
        load_dataset(f"csv:{bad}", task="regression")


def test_train_and_test_files_in_a_folder(tmp_path):
    _, train = _rows(9)
    _, test = _rows(3)
    folder = tmp_path / "seq"
    folder.mkdir()
    _write(folder / "train.csv", train)
    _write(folder / "test.csv", test)
    ds = load_dataset(f"csv:{folder}")
    assert len(ds.y_train) == 9 and len(ds.y_test) == 3
    _write(folder / "test.csv", "1,2,0\n")
    with pytest.raises(CSVFormatError, match="train.csv holds sequences of length 6, test.csv of length 2"):
        load_dataset(f"csv:{folder}")
    (folder / "test.csv").unlink()
    with pytest.raises(FileNotFoundError, match="needs train.csv and test.csv; missing test.csv"):
        load_dataset(f"csv:{folder}")


def test_empty_and_too_narrow_files(tmp_path):
    empty = _write(tmp_path / "e.csv", "a,b,label\n")
    with pytest.raises(CSVFormatError, match="no data lines"):
        load_dataset(f"csv:{empty}")
    narrow = _write(tmp_path / "n.csv", "1\n2\n")
    with pytest.raises(
        CSVFormatError, match=r"line 1: expected at least two fields \(values..., label\), received 1"
    ):
        load_dataset(f"csv:{narrow}", header=False)


def test_a_header_is_a_line_with_no_number_and_the_choice_is_reported(tmp_path):
    _, body = _rows(10, 2, labels=[str(i % 2) for i in range(10)])
    with_header = load_dataset(f"csv:{_write(tmp_path / 'h.csv', 't0,t1,label' + chr(10) + body)}")
    assert len(with_header.y_train) + len(with_header.y_test) == 10
    assert "line 1 of h.csv read as a header (t0, t1, label)" in with_header.description
    assert "no header in n.csv" in load_dataset(f"csv:{_write(tmp_path / 'n.csv', body)}").description
    # a malformed number beside numbers is a broken data line, not a header
    with pytest.raises(CSVFormatError, match=r"m.csv, line 1, field 1: expected a number, received "
                                             r"'0\.1\.2' \(a header line has no number in any field; "
                                             r"pass header=True if this line is one\)"):
        load_dataset(f"csv:{_write(tmp_path / 'm.csv', '0.1.2,0.5,1' + chr(10) + body)}")


def test_nul_bytes_binary_files_and_huge_labels_are_refused(tmp_path):
    _, body = _rows(10, 2, labels=[str(i % 2) for i in range(10)])
    with pytest.raises(CSVFormatError, match=r"z.csv, line 1, field 2: expected text, received a NUL "
                                             r"byte in '2\\x00' \(is this a binary file\?\)"):
        load_dataset(f"csv:{_write(tmp_path / 'z.csv', '1,2' + chr(0) + ',0' + chr(10) + body)}")
    (tmp_path / "b.csv").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    with pytest.raises(CSVFormatError, match=r"b.csv: expected UTF-8 text, received byte 0x89 at byte 0"):
        load_dataset(f"csv:{tmp_path / 'b.csv'}")
    big = _write(tmp_path / "big.csv", body + "1,1,1000000000000\n")
    with pytest.raises(ValueError, match=r"big.csv, line 11: label 1000000000000 is too large to be a "
                                         r"class index: expected labels 0 <= label < 100,000"):
        load_dataset(f"csv:{big}")
