"""text:PATH: UTF-8 lines of text<TAB>label as token ids; every error names its line."""

import numpy as np
import pytest

from convlens.data import TextFormatError, decode, load_dataset
from convlens.data.text_files import class_order, read_labelled_text

REVIEWS = [
    ("what a wonderful film", "good"),
    ("a waste of two hours", "bad"),
    ("wonderful acting and a fine story", "good"),
    ("dull and far too long", "bad"),
    ("a fine film", "good"),
    ("too long and dull", "bad"),
    ("the story is wonderful", "good"),
    ("two hours of nothing", "bad"),
    ("fine", "good"),
    ("a waste", "bad"),
]


def _write(path, lines, header=False):
    text = ("text\tlabel\n" if header else "") + "".join(f"{t}\t{lab}\n" for t, lab in lines)
    path.write_text(text, encoding="utf-8")
    return path


def test_words_split_stratified_with_a_training_vocabulary(tmp_path):
    path = _write(tmp_path / "reviews.tsv", REVIEWS, header=True)
    ds = load_dataset(f"text:{path}", test_fraction=0.2)
    assert ds.kind == "tokens" and ds.name == "reviews" and ds.class_names == ("bad", "good")
    assert ds.x_train.shape[0] == 8 and ds.x_test.shape[0] == 2
    assert sorted(np.bincount(ds.y_test).tolist()) == [1, 1]
    longest = max(len(t.split()) for t, _ in REVIEWS)
    assert ds.x_train.shape[1] <= longest and ds.x_test.shape[1] == ds.x_train.shape[1]
    train_words = {w for ids in ds.x_train for w in decode(ids, ds.vocabulary, " ").split()}
    assert set(ds.vocabulary[2:]) == train_words and ds.vocabulary[:2] == ("<pad>", "<unk>")
    texts = dict(REVIEWS)
    for ids, label in zip(ds.x_train, ds.y_train):  # pairs kept, text intact
        assert texts[decode(ids, ds.vocabulary, " ")] == ds.class_names[label]


def test_characters_lowercase_and_fixed_length(tmp_path):
    path = _write(tmp_path / "r.tsv", [("AbC", "x"), ("ab", "y"), ("CA", "x"), ("b", "y")] * 3)
    ds = load_dataset(f"text:{path}", tokens="chars", lowercase=True, length=5, test_fraction=0.25)
    assert ds.x_train.shape == (9, 5) and set(ds.vocabulary[2:]) == {"a", "b", "c"}
    assert {decode(ids, ds.vocabulary) for ids in ds.x_train} == {"abc", "ab", "ca", "b"}
    cut = load_dataset(f"text:{path}", tokens="chars", length=2, test_fraction=0.25)
    assert {decode(ids, cut.vocabulary) for ids in cut.x_train} == {"Ab", "ab", "CA", "b"}


def test_a_train_and_test_folder_maps_unseen_tokens_to_unk(tmp_path):
    _write(tmp_path / "train.tsv", REVIEWS)
    _write(tmp_path / "test.tsv", [("a brilliant film", "good"), ("dull", "bad")])
    ds = load_dataset(f"text:{tmp_path}")
    assert ds.name == tmp_path.name and ds.x_train.shape[0] == 10 and ds.y_test.tolist() == [1, 0]
    assert decode(ds.x_test[0], ds.vocabulary, " ") == "a <unk> film"
    rare = load_dataset(f"text:{tmp_path}", min_count=2)
    assert "fine" in rare.vocabulary and "nothing" not in rare.vocabulary


def test_bare_tsv_path_tabs_in_the_text_and_blank_lines(tmp_path, monkeypatch):
    path = tmp_path / "t.tsv"
    path.write_bytes(b"\xef\xbb\xbfa\tb\tx\r\n\n  \nc d\ty\r\n")
    texts, labels, lines = read_labelled_text(path)
    assert texts == ["a\tb", "c d"] and labels == ["x", "y"] and lines == [1, 4]
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "s.tsv", REVIEWS)
    assert load_dataset("s.tsv").kind == "tokens"


def test_whole_number_labels_sort_as_numbers():
    assert class_order(["10", "2", "1", "2"]) == ("1", "2", "10")
    assert class_order(["b", "10", "a", "9"]) == ("9", "10", "a", "b")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("good film\tgood\nbad film bad\n", r"b\.tsv, line 2: expected text<TAB>label, found no tab in 'bad film bad'"),
        ("good film\tgood\nbad film\t \n", r"b\.tsv, line 2: missing label after the tab"),
        ("good film\tgood\n\n\t bad\n", r"b\.tsv, line 3: empty text before the tab \(label 'bad'\)"),
        ("", r"b\.tsv: no examples \(expected UTF-8 lines of text<TAB>label\)"),
        ("\n  \n", r"b\.tsv: no examples"),
        ("text\tlabel\n", r"b\.tsv: no examples"),
    ],
)
def test_bad_lines_name_the_line(tmp_path, body, message):
    path = tmp_path / "b.tsv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(TextFormatError, match=message):
        load_dataset(f"text:{path}")


def test_bytes_that_are_not_utf8_name_line_and_column(tmp_path):
    path = tmp_path / "latin.tsv"
    path.write_bytes("fine\tgood\ntr\xe8s bien\tgood\n".encode("latin-1"))
    with pytest.raises(TextFormatError, match=r"latin\.tsv, line 2, column 3: not UTF-8 text \(byte 0xe8\); save"):
        load_dataset(f"text:{path}")


def test_folder_and_option_errors(tmp_path):
    _write(tmp_path / "train.tsv", REVIEWS)
    with pytest.raises(FileNotFoundError, match=r"needs train\.tsv and test\.tsv; missing test\.tsv"):
        load_dataset(f"text:{tmp_path}")
    _write(tmp_path / "test.tsv", [("so so", "meh")])
    with pytest.raises(TextFormatError, match=r"test\.tsv, line 1: label 'meh' does not occur in train\.tsv; its classes are bad, good"):
        load_dataset(f"text:{tmp_path}")
    with pytest.raises(ValueError, match=r"expected tokens in \('chars', 'words'\), received 'bytes'"):
        load_dataset(f"text:{tmp_path}", tokens="bytes")
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        load_dataset(f"text:{tmp_path / 'none.tsv'}")
