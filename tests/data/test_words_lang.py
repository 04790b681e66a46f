"""words-lang: the language of a word from Debian's word lists (small stand-in lists in tmp_path,
and one test on the real lists, which .ci/run installs)."""


import numpy as np
import pytest
from word_lists import write_word_lists

from convlens.data import decode, load_dataset
from convlens.data.words_lang import APT_PACKAGES, read_word_list

SMALL = {"train_per_language": 20, "test_per_language": 10}


@pytest.fixture
def lists(tmp_path):
    return write_word_lists(tmp_path / "dict")


def test_balanced_character_ids_with_a_training_vocabulary(lists):
    ds = load_dataset("words-lang", lists, **SMALL, length=12)
    assert ds.kind == "tokens" and ds.x_train.shape == (140, 12) and ds.x_test.shape == (70, 12)
    assert ds.x_train.dtype == np.int64 and ds.input_shape == (12,)
    assert ds.class_names == ("english", "french", "german", "spanish", "italian", "portuguese", "dutch")
    assert np.bincount(ds.y_train).tolist() == [20] * 7 and np.bincount(ds.y_test).tolist() == [10] * 7
    assert ds.vocabulary[:2] == ("<pad>", "<unk>")
    train_chars = {c for ids in ds.x_train for c in decode(ids, ds.vocabulary)}
    assert set(ds.vocabulary[2:]) == train_chars  # built on the training words only
    assert ds.y_train[:14].tolist() != sorted(ds.y_train[:14].tolist())  # classes are mixed
    assert "words-lang: 140 train / 70 test tokens of 12 (vocabulary of" in ds.summary()


def test_words_are_lowercase_letters_in_one_list_only(lists):
    ds = load_dataset("words-lang", lists, **SMALL)
    words = [decode(ids, ds.vocabulary) for part in (ds.x_train, ds.x_test) for ids in part]
    assert len(set(words)) == len(words) == 210  # no word twice, across train and test too
    assert all(w.isalpha() and w == w.lower() for w in words)
    assert "taxi" not in words  # in every list: no single answer
    assert read_word_list(lists / "ngerman") >= {"taxi"}
    assert "cat's" not in read_word_list(lists / "american-english")
    assert "half-way" not in read_word_list(lists / "american-english")


def test_a_fixed_seed_draws_the_same_words(lists):
    a = load_dataset("words-lang", lists, **SMALL)
    b = load_dataset("words-lang", lists, **SMALL)
    c = load_dataset("words-lang", lists, **SMALL, seed=1)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.x_train, c.x_train)


def test_long_words_are_cut_and_short_ones_padded(lists):
    ds = load_dataset("words-lang", lists, **SMALL, length=4)
    assert ds.x_train.shape == (140, 4) and (ds.x_train != 0).all()  # every word has 4+ letters
    wide = load_dataset("words-lang", lists, **SMALL, length=40)
    assert (wide.x_train[:, -1] == 0).all()


def test_a_missing_list_names_the_apt_package(tmp_path, monkeypatch):
    folder = write_word_lists(tmp_path / "dict")
    (folder / "italian").unlink()
    monkeypatch.setattr("convlens.data.words_lang.DICT_DIR", tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match=r"needs the word list 'italian'.*apt-get install witalian"):
        load_dataset("words-lang", folder, **SMALL)
    assert APT_PACKAGES == ("wamerican", "wfrench", "wngerman", "wspanish", "witalian", "wportuguese", "wdutch")


def test_too_few_words_and_bad_counts(lists):
    with pytest.raises(ValueError, match=r"usable words .* fewer than the 1100 asked for"):
        load_dataset("words-lang", lists, train_per_language=1000, test_per_language=100)
    with pytest.raises(ValueError, match="expected train_per_language a positive integer, received 0"):
        load_dataset("words-lang", lists, train_per_language=0)


def test_a_list_that_is_not_utf8_names_the_line(lists):
    (lists / "french").write_bytes("abc\nd\xe9j\xe0\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"french, line 2, column 2: not UTF-8 text \(byte 0xe9\)"):
        load_dataset("words-lang", lists, **SMALL)


@pytest.mark.debian("word-lists")
def test_the_real_word_lists():
    ds = load_dataset("words-lang")
    assert ds.x_train.shape == (21000, 24) and ds.x_test.shape == (7000, 24)
    assert np.bincount(ds.y_test).tolist() == [1000] * 7
    assert 40 <= ds.vocab_size <= 80  # a-z and the accented letters of the seven languages
    words = {decode(ids, ds.vocabulary) for ids in ds.x_train[:200]}
    assert len(words) == 200 and all(w.isalpha() for w in words)
