"""Text to token ids: split into characters or words, a vocabulary, fixed-length id arrays.

The three steps every text dataset takes (``text:`` files, ``words-lang``)::

    tokens = [tokenize(t, "chars") for t in texts]       # "chat" -> ["c", "h", "a", "t"]
    vocab = build_vocabulary(tokens[:n_train])            # ("<pad>", "<unk>", "a", "c", ...)
    ids = encode(tokens, vocab, length=24)                # (N, 24) int64, padded with 0

The vocabulary is built on the *training* split only, as normalization statistics are: a
token the test set alone holds is unknown to the model (id 1, ``"<unk>"``), as it would be on
new text. Ids are ordered by frequency in the training texts (ties alphabetically), after the
two reserved ids: 0 pads a short sequence (``Embedding(..., padding_idx=0)`` keeps its vector
at zero), 1 stands for an unknown token. A sequence longer than ``length`` keeps its first
``length`` tokens; a shorter one is padded at the end.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from convlens.data.dataset import PAD, UNK

TOKENIZERS = ("chars", "words")
PAD_ID, UNK_ID = 0, 1


def tokenize(text: str, by: str = "chars") -> list[str]:
    """``text`` as a list of tokens: its characters, or its words (split on white space)."""
    if by == "chars":
        return list(text)
    if by == "words":
        return text.split()
    raise ValueError(f"expected tokens in {TOKENIZERS}, received {by!r}")


def build_vocabulary(token_lists: Iterable[Sequence[str]], min_count: int = 1) -> tuple[str, ...]:
    """``("<pad>", "<unk>", *tokens)``: the tokens seen at least ``min_count`` times, most
    frequent first (ties in alphabetical order, so the vocabulary does not depend on the order
    of the examples)."""
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise ValueError(f"expected min_count a positive integer, received {min_count!r}")
    counts = Counter(token for tokens in token_lists for token in tokens)
    counts.pop(PAD, None)
    counts.pop(UNK, None)
    kept = sorted((t for t, n in counts.items() if n >= min_count), key=lambda t: (-counts[t], t))
    return (PAD, UNK, *kept)


def encode(token_lists: Sequence[Sequence[str]], vocabulary: Sequence[str], length: int) -> np.ndarray:
    """``(N, length)`` int64 ids: each list truncated to ``length`` tokens or padded with id 0;
    a token outside ``vocabulary`` becomes id 1 (``"<unk>"``)."""
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 1:
        raise ValueError(f"expected a positive sequence length, received {length!r}")
    if tuple(vocabulary[:2]) != (PAD, UNK):
        raise ValueError(
            f"expected a vocabulary starting with {PAD!r}, {UNK!r}, received {tuple(vocabulary[:2])}"
        )
    index = {token: i for i, token in enumerate(vocabulary)}
    ids = np.full((len(token_lists), int(length)), PAD_ID, dtype=np.int64)
    for row, tokens in enumerate(token_lists):
        kept = [index.get(token, UNK_ID) for token in tokens[:length]]
        ids[row, : len(kept)] = kept
    return ids


def decode(ids: np.ndarray, vocabulary: Sequence[str], sep: str = "") -> str:
    """The text of one id sequence, padding left out (``sep=" "`` for words)."""
    return sep.join(vocabulary[i] for i in np.asarray(ids).tolist() if i != PAD_ID)
