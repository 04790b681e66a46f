"""Tokens: characters or words, a vocabulary by frequency, fixed-length int64 ids."""

import numpy as np
import pytest

from convlens.data import build_vocabulary, decode, encode, tokenize


def test_tokenize_by_characters_or_words():
    assert tokenize("café", "chars") == ["c", "a", "f", "é"]
    assert tokenize("  a  wonderful\tfilm\n", "words") == ["a", "wonderful", "film"]
    with pytest.raises(ValueError, match=r"expected tokens in \('chars', 'words'\), received 'bpe'"):
        tokenize("a", "bpe")


def test_vocabulary_by_frequency_then_alphabet_after_pad_and_unk():
    vocab = build_vocabulary([["b", "a", "c"], ["c", "b"], ["c", "<pad>"]])
    assert vocab == ("<pad>", "<unk>", "c", "b", "a")  # c 3 times, then b 2, then a 1
    assert build_vocabulary([["b", "a", "c"], ["c", "b"], ["c"]], min_count=2) == ("<pad>", "<unk>", "c", "b")
    assert build_vocabulary([]) == ("<pad>", "<unk>")
    with pytest.raises(ValueError, match="expected min_count a positive integer, received 0"):
        build_vocabulary([], min_count=0)


def test_encode_pads_truncates_and_maps_unknown_tokens():
    vocab = ("<pad>", "<unk>", "a", "b")
    ids = encode([["a", "b", "a", "b", "a"], ["b"], ["z", "a"], []], vocab, length=3)
    assert ids.dtype == np.int64
    np.testing.assert_array_equal(ids, [[2, 3, 2], [3, 0, 0], [1, 2, 0], [0, 0, 0]])
    assert decode(ids[2], vocab) == "<unk>a" and decode(ids[0], vocab, " ") == "a b a"
    with pytest.raises(ValueError, match="expected a positive sequence length, received 0"):
        encode([["a"]], vocab, 0)
    with pytest.raises(ValueError, match="expected a vocabulary starting with '<pad>', '<unk>'"):
        encode([["a"]], ("a", "b"), 2)
